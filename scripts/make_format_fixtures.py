#!/usr/bin/python3
"""Makes the fixtures of mhub's format tests (tests/fixtures/formats/).

Run with Debian's python3 (PyTorch 1.13 installed there):  /usr/bin/python3 scripts/make_format_fixtures.py
The outputs are committed, so CI never needs torch. Everything is seeded: running it again gives
the same tensors (zip timestamps aside).

For each model (a small CNN and a small transformer):
  NAME.pth          torch.save(state_dict)            -- includes a tied weight and a non-contiguous view
  NAME.safetensors  the same tensors, written here with struct+json (safetensors is not installed)
  NAME.onnx         torch.onnx.export, do_constant_folding=False so initializer names stay matchable
  NAME_input.npy / NAME_output.npy   a fixed input and PyTorch's output on it
  transformer_arch.onnx  the transformer exported with other random weights (the "architecture")
Plus files that are not checkpoints, for the error messages: a TorchScript archive, a legacy
(pre-1.6) torch.save file, a Git LFS pointer and an HTML page, and a nested checkpoint
({"model": ..., "ema": ...}).
"""
import collections
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "formats")


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(4)
        self.layer1 = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1, bias=False), nn.ReLU())
        self.fc = nn.Linear(4 * 4 * 4, 5)
        # A buffer whose storage is a transposed (non-contiguous) view: torch.save keeps its strides.
        self.register_buffer("mix", torch.arange(20, dtype=torch.float32).reshape(5, 4).t())

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        x = self.layer1(x)
        x = nn.functional.adaptive_avg_pool2d(x, 4).flatten(1)
        return self.fc(x) + self.mix.sum()


class SmallTransformer(nn.Module):
    def __init__(self, vocab=11, dim=8, hidden=16):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.norm1 = nn.LayerNorm(dim)
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(dim, dim)
        self.v = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.up = nn.Linear(dim, hidden)
        self.down = nn.Linear(hidden, dim)
        self.head = nn.Linear(dim, vocab, bias=False)
        self.head.weight = self.embed.weight  # tied weight: one storage, two names

    def forward(self, ids):
        x = self.embed(ids)
        h = self.norm1(x)
        q, k, v = self.q(h), self.k(h), self.v(h)
        attn = torch.softmax(q @ k.transpose(-1, -2) / 8 ** 0.5, dim=-1)
        x = x + attn @ v
        x = x + self.down(torch.relu(self.up(self.norm2(x))))
        return self.head(x)


SAFETENSORS_DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
                      torch.int64: "I64", torch.int32: "I32", torch.uint8: "U8", torch.bool: "BOOL"}


def write_safetensors(path, tensors, metadata=None):
    """safetensors layout: u64 little-endian header length, JSON header, then the data buffer."""
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    chunks = []
    offset = 0
    for name, tensor in tensors.items():
        data = tensor.detach().contiguous().numpy().tobytes() if tensor.dtype != torch.bfloat16 \
            else tensor.detach().contiguous().view(torch.int16).numpy().tobytes()
        header[name] = {"dtype": SAFETENSORS_DTYPES[tensor.dtype], "shape": list(tensor.shape),
                        "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)  # pad so the buffer starts 8-aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for chunk in chunks:
            f.write(chunk)


def save_model(name, model, example):
    model.eval()
    state = model.state_dict()
    torch.save(state, os.path.join(OUT, name + ".pth"))
    write_safetensors(os.path.join(OUT, name + ".safetensors"), state, {"format": "pt"})
    with torch.no_grad():
        output = model(example)
    np.save(os.path.join(OUT, name + "_input.npy"), example.numpy())
    np.save(os.path.join(OUT, name + "_output.npy"), output.numpy())
    torch.onnx.export(model, (example,), os.path.join(OUT, name + ".onnx"), opset_version=17,
                      do_constant_folding=False, input_names=["input"], output_names=["output"])
    return state


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    cnn = SmallCNN()
    with torch.no_grad():  # non-trivial BN statistics so folding would change values
        cnn.bn1.running_mean.uniform_(-0.5, 0.5)
        cnn.bn1.running_var.uniform_(0.5, 1.5)
    cnn_state = save_model("cnn", cnn, torch.randn(2, 1, 8, 8))
    assert not cnn_state["mix"].is_contiguous()

    torch.manual_seed(1)
    transformer = SmallTransformer()
    tf_state = save_model("transformer", transformer, torch.tensor([[1, 4, 2, 9, 0, 3]]))
    assert tf_state["head.weight"].data_ptr() == tf_state["embed.weight"].data_ptr()

    # The bare architecture: the same model class with other (random) weights. Loading
    # transformer.pth into it must reproduce transformer_output.npy.
    torch.manual_seed(99)
    architecture = SmallTransformer().eval()
    with torch.no_grad():
        for parameter in architecture.parameters():
            parameter.add_(0.5)  # LayerNorm weights are not all ones, so nothing is deduplicated differently
    torch.onnx.export(architecture, (torch.tensor([[1, 4, 2, 9, 0, 3]]),), os.path.join(OUT, "transformer_arch.onnx"),
                      opset_version=17, do_constant_folding=False, input_names=["input"], output_names=["output"])

    # A training checkpoint: the weights are nested under "model" and "ema", with a module. prefix.
    nested = {"epoch": 3, "model": collections.OrderedDict(("module." + k, v) for k, v in cnn_state.items()),
              "ema": collections.OrderedDict(("module." + k, v) for k, v in cnn_state.items())}
    torch.save(nested, os.path.join(OUT, "cnn_nested.pth"))

    # The same checkpoint re-zipped with deflate (as a hand-repacked file would be): not mappable,
    # mhub inflates it.
    import zipfile
    with zipfile.ZipFile(os.path.join(OUT, "cnn.pth")) as source, \
            zipfile.ZipFile(os.path.join(OUT, "cnn_deflated.pth"), "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info.filename))

    # fp16 / bf16 / int64 tensors through safetensors and pth.
    torch.manual_seed(2)
    mixed = collections.OrderedDict(half=torch.randn(3, 2).half(), brain=torch.randn(4).bfloat16(),
                                    steps=torch.tensor([1, 2, 3], dtype=torch.int64),
                                    offset_view=torch.arange(10, dtype=torch.float32)[3:7])
    torch.save(mixed, os.path.join(OUT, "mixed.pth"))
    write_safetensors(os.path.join(OUT, "mixed.safetensors"), mixed)

    # Things that are not a state-dict checkpoint.
    torch.jit.save(torch.jit.script(nn.Linear(2, 2)), os.path.join(OUT, "torchscript.pt"))
    torch.save(collections.OrderedDict(w=torch.ones(2)), os.path.join(OUT, "legacy.pth"),
               _use_new_zipfile_serialization=False)
    with open(os.path.join(OUT, "lfs_pointer.pth"), "w") as f:
        f.write("version https://git-lfs.github.com/spec/v1\n"
                "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
                "size 46830571\n")
    with open(os.path.join(OUT, "html_page.pth"), "w") as f:
        f.write("<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body>login</body></html>\n")
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"fixtures in {OUT}: {total} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
