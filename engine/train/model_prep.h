// Turning an inference export into something the training graph can take, and fitting image
// data to the model's input. Used by finetune() and evaluate(); each step is usable on its own.
//
// Inference exports (paddle2onnx, older torch exporters) differ from what the trainer expects:
//   - weights held by Constant nodes instead of initializers (only initializers are trained);
//   - a Softmax as the last node (the trainer's loss wants logits);
//   - an opset below 13 (the backward rules emit opset-13+ ops);
//   - symbolic spatial dims (the training graph needs static shapes).
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "engine/ir/graph.h"

namespace mhub::train {

// Replaces the Constant nodes that feed parameter slots (Conv/ConvTranspose weight and bias,
// Gemm B and C, MatMul's second operand, the bias added to a MatMul, BatchNormalization /
// InstanceNormalization / LayerNormalization scale, bias and statistics, PRelu slope) with
// initializers of the same name. Other Constants (the 3 and 6 of a HardSwish, shapes, clip
// bounds) stay nodes, so they are not trained. Returns how many were promoted.
int promote_weight_constants(ir::Model& model);

// When the first graph output is made by a Softmax over axis 1 / -1, removes that node and
// gives its input the output's name: the output then holds the logits (argmax unchanged; apply
// softmax for probabilities). Returns whether a Softmax was removed.
bool strip_final_softmax(ir::Model& model);

// Converts models below opset 13 to opset 13 with ONNX's version converter (after
// strip_final_softmax, whose opset-12 -> 13 adapter needs shapes exports rarely carry).
// Throws mhub::Error (unsupported) naming the op the converter cannot handle.
void upgrade_opset_for_training(ir::Model& model, const std::filesystem::path& base_dir);

// All three, in the order that works: strip the Softmax, upgrade the opset, promote weights.
void prepare_for_training(ir::Model& model, const std::filesystem::path& base_dir);

// Fixes the last two dims (height, width) of the model's first data input, which must be rank
// 4. Throws mhub::Error (usage) when the model fixes them to other values.
void set_input_size(ir::Model& model, int64_t height, int64_t width);

// The [C, H, W] shape examples must have for the model: the model's fixed dims where it has
// them, the data's elsewhere. `data_shape` is the dataset's example shape; non-image data
// (rank != 3) is returned unchanged.
std::vector<int64_t> model_example_shape(const ir::Model& model, const std::vector<int64_t>& data_shape);

}  // namespace mhub::train
