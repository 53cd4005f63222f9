#!/usr/bin/python3
"""Gives a model's bfloat16 graph inputs and outputs float32 Casts at the edges (for
onnxruntime-node, which cannot create bfloat16 tensors). The Casts round as mhub does (to
nearest even), so ORT then computes exactly what the model computes on bfloat16 inputs.
Usage: ort_wrap_bf16_io.py IN.onnx OUT.onnx   (Debian's python3-onnx)"""
import sys
import onnx
from onnx import TensorProto, helper

model = onnx.load(sys.argv[1])
graph = model.graph


def rename_everywhere(old, new, outputs_too):
    for node in graph.node:
        node.input[:] = [new if name == old else name for name in node.input]
        if outputs_too:
            node.output[:] = [new if name == old else name for name in node.output]


casts_in, casts_out = [], []
for value in graph.input:
    if value.type.tensor_type.elem_type == TensorProto.BFLOAT16:
        rename_everywhere(value.name, value.name + "__bf16_in", False)
        casts_in.append(helper.make_node("Cast", [value.name], [value.name + "__bf16_in"], to=TensorProto.BFLOAT16))
        value.type.tensor_type.elem_type = TensorProto.FLOAT
for value in graph.output:
    if value.type.tensor_type.elem_type == TensorProto.BFLOAT16:
        rename_everywhere(value.name, value.name + "__bf16_out", True)
        casts_out.append(helper.make_node("Cast", [value.name + "__bf16_out"], [value.name], to=TensorProto.FLOAT))
        value.type.tensor_type.elem_type = TensorProto.FLOAT
nodes = casts_in + list(graph.node) + casts_out
del graph.node[:]
graph.node.extend(nodes)
onnx.save(model, sys.argv[2])
