#!/usr/bin/env python3
"""PyTorch side of bench/gpu_bench.sh, run on the GPU machine (its python3 has torch 2.x).

  gpu_bench_torch.py export OUT_DIR     resnet50 + a BERT-base-size encoder as ONNX (seeded
                                        random weights, dynamic batch) for mhub to time
  gpu_bench_torch.py bench [--compile] [--quick]
                                        one JSON line per measurement: ResNet-50 inference at
                                        batch 1 and 256 in fp32 / tf32 / bf16 (eager, and
                                        torch.compile with --compile), ResNet-50 bf16 training
                                        at batch 256 (images/s), a BERT-size fine-tune step at
                                        seq 128
Times are medians of CUDA-event-timed runs after warm-up, on random (never zero) inputs.
"""
import argparse, json, os, statistics, sys, time

import torch
import torchvision


class Encoder(torch.nn.Module):
    """The BERT-base-size encoder of ../shared/peers/export_models.py (same layout)."""

    def __init__(self, d=768, heads=12, layers=12, vocab=30522, classes=2):
        super().__init__()
        self.tok = torch.nn.Embedding(vocab, d)
        self.pos = torch.nn.Embedding(512, d)
        self.norm = torch.nn.LayerNorm(d)
        layer = torch.nn.TransformerEncoderLayer(d, heads, 4 * d, activation="gelu", batch_first=True)
        self.enc = torch.nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = torch.nn.Linear(d, classes)

    def forward(self, ids):
        pos = torch.arange(ids.shape[1], device=ids.device).unsqueeze(0)
        return self.head(self.enc(self.norm(self.tok(ids) + self.pos(pos)))[:, 0])


def export(out):
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    models = {
        "resnet50": (torchvision.models.resnet50(), torch.randn(1, 3, 224, 224),
                     {"input": {0: "batch"}, "output": {0: "batch"}}),
        "bert_base_like": (Encoder(), torch.randint(0, 30522, (1, 128)),
                           {"input": {0: "batch", 1: "seq"}, "output": {0: "batch"}}),
    }
    for name, (model, example, dynamic) in models.items():
        model.eval()
        path = os.path.join(out, name + ".onnx")
        kwargs = dict(opset_version=17, input_names=["input"], output_names=["output"], dynamic_axes=dynamic)
        try:  # torch >= 2.5 knows dynamo=; the TorchScript exporter writes what mhub's tests use
            torch.onnx.export(model, example, path, dynamo=False, **kwargs)
        except TypeError:
            torch.onnx.export(model, example, path, **kwargs)
        print(path, flush=True)


def timed(step, iters, warmup):
    for _ in range(warmup):
        step()
    torch.cuda.synchronize()
    times = []
    for _ in range(iters):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        step()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def report(**fields):
    print(json.dumps(fields), flush=True)


def bench(use_compile, quick):
    device = torch.device("cuda")
    name = torch.cuda.get_device_name(0)
    iters, warmup = (10, 3) if quick else (30, 5)
    modes = [("eager", False)] + ([("compile", True)] if use_compile else [])
    for precision in ("fp32", "tf32", "bf16"):
        torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
        torch.backends.cudnn.allow_tf32 = precision == "tf32"
        for mode, compiled in modes:
            torch.manual_seed(0)
            model = torchvision.models.resnet50().to(device).eval()
            if precision == "bf16":
                model = model.to(torch.bfloat16)
            runner = torch.compile(model) if compiled else model
            for batch in (1, 256):
                x = torch.randn(batch, 3, 224, 224, device=device,
                                dtype=torch.bfloat16 if precision == "bf16" else torch.float32)
                with torch.no_grad():
                    started = time.time()
                    ms = timed(lambda: runner(x), iters, warmup)
                report(peer="torch", torch=torch.__version__, device=name, model="resnet50", task="inference",
                       precision=precision, mode=mode, batch=batch, ms=ms, images_per_s=1000.0 * batch / ms,
                       wall_s=round(time.time() - started, 1))
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    # ResNet-50 training, bf16 autocast over fp32 master weights, SGD momentum, batch 256.
    for mode, compiled in modes:
        torch.manual_seed(0)
        model = torchvision.models.resnet50().to(device).train()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        x = torch.randn(256, 3, 224, 224, device=device)
        y = torch.randint(0, 1000, (256,), device=device)
        forward = torch.compile(model) if compiled else model

        def train_step():
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast("cuda", dtype=torch.bfloat16):
                loss = torch.nn.functional.cross_entropy(forward(x), y)
            loss.backward()
            optimizer.step()

        ms = timed(train_step, iters, warmup)
        report(peer="torch", torch=torch.__version__, device=name, model="resnet50", task="train",
               precision="bf16-autocast", mode=mode, batch=256, ms=ms, images_per_s=1000.0 * 256 / ms)
    # BERT-size encoder fine-tune step (AdamW), seq 128, batch 32, fp32 and bf16 autocast.
    for precision in ("fp32", "bf16"):
        torch.manual_seed(0)
        model = Encoder().to(device).train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
        ids = torch.randint(0, 30522, (32, 128), device=device)
        labels = torch.randint(0, 2, (32,), device=device)

        def bert_step():
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=precision == "bf16"):
                loss = torch.nn.functional.cross_entropy(model(ids), labels)
            loss.backward()
            optimizer.step()

        ms = timed(bert_step, iters, warmup)
        report(peer="torch", torch=torch.__version__, device=name, model="bert_base_like", task="train",
               precision=precision, mode="eager", batch=32, seq=128, ms=ms)


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("export").add_argument("out")
    b = sub.add_parser("bench")
    b.add_argument("--compile", action="store_true")
    b.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.command == "export":
        export(args.out)
    else:
        if not torch.cuda.is_available():
            sys.exit("no CUDA device visible to torch")
        bench(args.compile, args.quick)


if __name__ == "__main__":
    main()
