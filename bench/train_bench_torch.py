#!/usr/bin/python3
"""PyTorch 1.13's side of bench/train_bench.sh: one training step (forward, CrossEntropy,
backward, SGD momentum 0.9 update) of a model of bench/export_train_models.py (the same
architecture and seed mhub trains) in train mode on random inputs and labels, batch N, N threads.
Prints one JSON object: {"model", "batch", "median_ms", "min_ms", "max_ms"}.

Usage: /usr/bin/python3 bench/train_bench_torch.py MODEL [--batch 8] [--iters 10] [--warmup 2] [--threads 2]
"""
import argparse, json, os, statistics, sys, time
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_train_models import MODELS, build  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model", choices=sorted(MODELS))
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    model = build(a.model)
    _, shape, classes = MODELS[a.model]
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    x = torch.rand(a.batch, *shape) * 2 - 1  # as mhub bench --train: uniform in [-1, 1)
    y = torch.randint(0, classes, (a.batch,))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    for _ in range(a.warmup):
        step()
    times = []
    for _ in range(a.iters):
        start = time.perf_counter()
        step()
        times.append((time.perf_counter() - start) * 1000)
    print(json.dumps({"model": a.model, "batch": a.batch, "median_ms": statistics.median(times), "min_ms": min(times),
                      "max_ms": max(times)}))


if __name__ == "__main__":
    main()
