#!/usr/bin/python3
"""Exports resnet18 and mobilenet_v2 (torchvision architectures, seeded random weights) for
bench/train_bench.sh with their BatchNormalization (and Dropout) nodes kept, in training mode:
an eval-mode export folds BatchNorm into the convolutions, which would leave mhub a smaller
network to train than the one PyTorch trains. Debian's PyTorch 1.13.

Usage: /usr/bin/python3 bench/export_train_models.py OUT_DIR
"""
import os, sys
import torch, torchvision


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name in ["resnet18", "mobilenet_v2"]:
        torch.manual_seed(0)
        model = getattr(torchvision.models, name)()
        model.train()
        path = os.path.join(out, name + ".onnx")
        torch.onnx.export(model, torch.randn(8, 3, 224, 224), path, opset_version=17, input_names=["input"],
                          output_names=["output"], dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
                          training=torch.onnx.TrainingMode.TRAINING, do_constant_folding=False)
        print(path)


if __name__ == "__main__":
    main()
