#!/usr/bin/python3
"""PyTorch 1.13's side of bench/fmnist_vs_torch.sh: the loop `mhub finetune` runs on the bundled
fashion-cnn, written in PyTorch. The same network (models/fashion-cnn/model.onnx: Conv-Relu-
MaxPool twice, BatchNorm already folded into the convolutions by its eval-mode export, then
Linear-Relu-Linear) with the same starting weights (WEIGHTS: the model's initializers as
safetensors, written by `mhub convert MODEL.onnx WEIGHTS.safetensors`), AdamW (torch's defaults,
weight decay 0.01, as mhub's), constant learning rate, cross-entropy, batch size, thread count,
pixels / 255 normalised by the same mean and std batch by batch inside the loop (mhub's loader
does that work during the epoch too), the last partial batch dropped as mhub's loader does.
The data order is a seeded torch.randperm per epoch: mhub draws its own, so the order differs.
An epoch's time covers training and the evaluation on the 10,000 test images, as mhub's does.
Prints one JSON object: {"epochs": [{"epoch", "seconds", "train_loss", "train_accuracy",
"eval_loss", "eval_accuracy"}]}.

Usage: /usr/bin/python3 bench/fmnist_torch.py WEIGHTS [--data DIR] [--epochs 1] [--batch-size 32]
         [--lr 1e-3] [--threads 2] [--seed 0] [--limit-batches N] [--mean 0.2860] [--std 0.3530]
"""
import argparse, json, os, struct, sys, time
import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from make_bundled_model import idx  # noqa: E402  (the IDX reader of the bundled model's training)


def safetensors(path):
    """name -> float32 array (the format: 8-byte header length, JSON header, raw bytes)."""
    with open(path, "rb") as f:
        raw = f.read()
    (size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + size])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", f"{name}: {info['dtype']}"
        begin, end = info["data_offsets"]
        out[name] = np.frombuffer(raw, dtype="<f4", count=(end - begin) // 4, offset=8 + size + begin).reshape(info["shape"])
    return out


def fashion_cnn(weights):
    """The bundled model's graph in torch; each parameter takes the initializer of its shape
    (all shapes differ, the exporter's names do not say which layer is which)."""
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(32 * 7 * 7, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    by_shape = {tuple(v.shape): v for v in weights.values()}
    assert len(by_shape) == len(weights) == len(list(model.parameters())), sorted(by_shape)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.from_numpy(by_shape[tuple(p.shape)].copy()))
    return model


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("weights")
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit-batches", type=int, default=0)
    ap.add_argument("--mean", type=float, default=0.2860)
    ap.add_argument("--std", type=float, default=0.3530)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    xtr = torch.from_numpy(idx(f"{a.data}/train-images-idx3-ubyte.gz").copy())
    ytr = torch.from_numpy(idx(f"{a.data}/train-labels-idx1-ubyte.gz").astype(np.int64))
    xte = torch.from_numpy(idx(f"{a.data}/t10k-images-idx3-ubyte.gz").copy())
    yte = torch.from_numpy(idx(f"{a.data}/t10k-labels-idx1-ubyte.gz").astype(np.int64))
    prep = lambda x: (x.float().unsqueeze(1) / 255.0 - a.mean) / a.std
    model = fashion_cnn(safetensors(a.weights))
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr)
    batches = len(xtr) // a.batch_size
    if a.limit_batches > 0:
        batches = min(batches, a.limit_batches)
    epochs = []
    for epoch in range(a.epochs):
        start = time.perf_counter()
        model.train()
        perm = torch.randperm(len(xtr))
        loss_sum, correct = 0.0, 0
        for i in range(batches):
            b = perm[i * a.batch_size:(i + 1) * a.batch_size]
            logits = model(prep(xtr[b]))
            loss = torch.nn.functional.cross_entropy(logits, ytr[b])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(b)
            correct += (logits.argmax(1) == ytr[b]).sum().item()
        model.eval()
        eval_loss, eval_correct = 0.0, 0
        with torch.no_grad():
            for i in range(0, len(xte), a.batch_size):
                logits = model(prep(xte[i:i + a.batch_size]))
                eval_loss += torch.nn.functional.cross_entropy(logits, yte[i:i + a.batch_size], reduction="sum").item()
                eval_correct += (logits.argmax(1) == yte[i:i + a.batch_size]).sum().item()
        rows = batches * a.batch_size
        epochs.append({"epoch": epoch + 1, "seconds": time.perf_counter() - start, "train_loss": loss_sum / rows,
                       "train_accuracy": correct / rows, "eval_loss": eval_loss / len(xte),
                       "eval_accuracy": eval_correct / len(xte)})
    print(json.dumps({"epochs": epochs}))


if __name__ == "__main__":
    main()
