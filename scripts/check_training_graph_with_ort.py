#!/usr/bin/python3
"""Runs mhub's training graph for the CNN fixture in ONNX Runtime and compares the loss and
gradients with PyTorch's first step (tests/fixtures/train/cnn). A development check of the
backward rules while the CPU engine lacks nn kernels; needs node + onnxruntime-node
(../shared/peers beside the checkout) and the graph written by the `train` test suite.

Usage: /usr/bin/python3 scripts/check_training_graph_with_ort.py [BUILD_DIR]
Prints the loss and the largest relative gradient error per parameter; exit 1 above 1e-4.
"""
import json, os, subprocess, sys, tempfile
import numpy as np

build = sys.argv[1] if len(sys.argv) > 1 else "build"
model = os.path.join(build, "test-scratch", "train_graph", "cnn_training.onnx")
fx = "tests/fixtures/train/cnn"
params = ["conv1.weight", "bn1.weight", "bn1.bias", "conv2.weight",
          "bn2.weight", "bn2.bias", "fc.weight", "fc.bias"]
x = np.load(f"{fx}/inputs.npy")[0].astype(np.float32)
labels = np.load(f"{fx}/targets.npy")[0]
target = np.eye(5, dtype=np.float32)[labels]
with tempfile.TemporaryDirectory() as tmp:
    inputs, dump = os.path.join(tmp, "in"), os.path.join(tmp, "out")
    os.makedirs(inputs)
    x.tofile(os.path.join(inputs, "input_0.bin"))
    target.tofile(os.path.join(inputs, "input_1.bin"))
    env = dict(os.environ, NODE_PATH=os.path.expanduser("~/.cache/mhub-peers/node_modules"))
    ort_bench = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "peers", "ort_bench.js")
    subprocess.run(["node", ort_bench, model, "--iters", "1", "--threads", "1",
                    "--inputs", inputs, "--dump", dump], check=True, env=env, stdout=subprocess.DEVNULL)
    out = lambda k: np.fromfile(os.path.join(dump, f"output_{k}.bin"), dtype=np.float32)
    loss = out(0)[0]
    expected_loss = np.load(f"{fx}/sgd/losses.npy")[0]
    worst = abs(loss - expected_loss) / abs(expected_loss)
    print(f"loss ort {loss:.7f} torch {expected_loss:.7f} rel {worst:.2e}")
    for k, name in enumerate(params):
        g = out(2 + k)
        ref = np.load(f"{fx}/sgd/grads__{name}.npy")[0].ravel()
        err = float(np.max(np.abs(g - ref) / np.maximum(1.0, np.abs(ref))))
        worst = max(worst, err)
        print(f"grad {name:13s} max rel err {err:.2e}")
    for k, name in enumerate(["bn1.running_mean", "bn1.running_var", "bn2.running_mean", "bn2.running_var"]):
        r = out(2 + len(params) + k)
        print(f"running {name} after step 1: {r[:3]}")
sys.exit(0 if worst < 1e-4 else 1)
