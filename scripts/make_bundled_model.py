#!/usr/bin/python3
"""Trains and exports the model bundled with mhub: a small CNN for Fashion-MNIST (28x28 grey).

Run with Debian's PyTorch 1.13 (python3-torch) and dataset-fashion-mnist; the outputs are
committed, so neither is needed to build or test mhub. Seeded: the same inputs give the same
files on the same machine.
Usage: /usr/bin/python3 scripts/make_bundled_model.py [OUT_DIR] [--epochs 2]
Writes OUT_DIR/model.onnx, OUT_DIR/sample_input.npy (8 test images, normalised),
OUT_DIR/sample_labels.npy, and prints the test accuracy.
"""
import argparse, gzip, os
import numpy as np
import torch

DATA = "/usr/share/datasets/fashion-mnist"
MEAN, STD = 0.2860, 0.3530


def idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


class FashionCNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.BatchNorm2d(16), torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.BatchNorm2d(32), torch.nn.ReLU(),
            torch.nn.MaxPool2d(2))
        self.classifier = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(32 * 7 * 7, 64),
                                              torch.nn.ReLU(), torch.nn.Linear(64, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out", nargs="?", default="models/fashion-cnn")
    ap.add_argument("--epochs", type=int, default=2)
    a = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(2)
    prep = lambda x: (torch.from_numpy(x.astype(np.float32) / 255.0).unsqueeze(1) - MEAN) / STD
    xtr, ytr = prep(idx(f"{DATA}/train-images-idx3-ubyte.gz")), torch.from_numpy(idx(f"{DATA}/train-labels-idx1-ubyte.gz").astype(np.int64))
    xte, yte = prep(idx(f"{DATA}/t10k-images-idx3-ubyte.gz")), torch.from_numpy(idx(f"{DATA}/t10k-labels-idx1-ubyte.gz").astype(np.int64))
    model = FashionCNN()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3)
    for epoch in range(a.epochs):
        model.train()
        perm = torch.randperm(len(xtr))
        for i in range(0, len(xtr), 128):
            b = perm[i:i + 128]
            loss = torch.nn.functional.cross_entropy(model(xtr[b]), ytr[b])
            opt.zero_grad(); loss.backward(); opt.step()
    model.eval()
    with torch.no_grad():
        acc = (model(xte).argmax(1) == yte).float().mean().item()
    os.makedirs(a.out, exist_ok=True)
    torch.onnx.export(model, xte[:1], os.path.join(a.out, "model.onnx"), opset_version=17,
                      input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}})
    np.save(os.path.join(a.out, "sample_input.npy"), xte[:8].numpy())
    np.save(os.path.join(a.out, "sample_labels.npy"), yte[:8].numpy())
    print(f"test accuracy {acc:.4f}")


if __name__ == "__main__":
    main()
