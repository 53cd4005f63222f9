// The op-spec list: every family table, in one explicit order (see op_spec.h).
#include "tests/ops/op_spec.h"

namespace mhub::test {

std::vector<OpSpec> all_op_specs() {
  std::vector<OpSpec> all;
  for (auto family : {elementwise_specs, binary_specs, cast_specs, shape_ops_specs, layout_specs, indexing_specs, ordering_specs,
                      activations_specs, matmul_specs, conv_specs, conv_grad_specs, pool_specs, norm_specs, softmax_specs,
                      resize_specs, train_ops_specs, reduce_specs, rnn_specs}) {
    std::vector<OpSpec> specs = family();
    for (OpSpec& spec : specs) all.push_back(std::move(spec));
  }
  return all;
}

}  // namespace mhub::test
