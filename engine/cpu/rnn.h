// What the RNN family's files share: the reference kernels (rnn.cpp), which the oneDNN kernels
// (rnn_dnnl.cpp) call for what they cannot do at run time (sequence_lens of unequal lengths).
#pragma once

#include "engine/core/op_context.h"

namespace mhub::engine::cpu {

// The reference RNN, GRU or LSTM kernel, picked by the node's op.
void recurrent_reference(OpContext& ctx);

}  // namespace mhub::engine::cpu
