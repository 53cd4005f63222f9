#!/bin/sh
# bench/bn_running_stats.py (bench/bf16_agreement.sh's recalibration): reset sets every
# BatchNormalization's running mean and variance to 0; debias divides them by 1 - momentum^BATCHES
# with each node's own momentum (ONNX's share kept; 0.9 when absent); a model without BatchNorm
# and a wrong command line fail. Skipped without Debian's python3 onnx.
# Usage: bn_running_stats.sh REPO_ROOT
set -eu
py=/usr/bin/python3
script="$1/bench/bn_running_stats.py"
"$py" -c 'import onnx, numpy' 2>/dev/null || { echo "skipped: no onnx/numpy for $py"; exit 77; }
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
"$py" - "$dir" <<'PY'
import sys, numpy as np, onnx
from onnx import helper, numpy_helper, TensorProto
d = sys.argv[1]
def bn(i, momentum):
    attrs = {} if momentum is None else {"momentum": momentum}
    return helper.make_node("BatchNormalization", [f"x{i}", f"s{i}", f"b{i}", f"m{i}", f"v{i}"], [f"x{i+1}"], name=f"bn{i}", **attrs)
inits = []
for i, (mean, var) in enumerate([([1.0, -2.0], [4.0, 0.5]), ([3.0, 6.0], [2.0, 8.0])]):
    inits += [numpy_helper.from_array(np.array(v, np.float32), f"{k}{i}") for k, v in
              (("s", [1, 1]), ("b", [0, 0]), ("m", mean), ("v", var))]
g = helper.make_graph([bn(0, 0.99), bn(1, None)], "g", [helper.make_tensor_value_info("x0", TensorProto.FLOAT, [1, 2, 2, 2])],
                      [helper.make_tensor_value_info("x2", TensorProto.FLOAT, [1, 2, 2, 2])], inits)
onnx.save(helper.make_model(g), f"{d}/bn.onnx")
onnx.save(helper.make_model(helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])], [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])),
          f"{d}/relu.onnx")
PY
"$py" "$script" reset "$dir/bn.onnx" "$dir/reset.onnx"
"$py" "$script" debias "$dir/bn.onnx" "$dir/debiased.onnx" 3
"$py" - "$dir" <<'PY'
import sys, numpy as np, onnx
from onnx import numpy_helper
d = sys.argv[1]
def stats(name): return {t.name: numpy_helper.to_array(t) for t in onnx.load(f"{d}/{name}").graph.initializer}
reset, debiased = stats("reset.onnx"), stats("debiased.onnx")
for k in ("m0", "v0", "m1", "v1"):
    assert np.all(reset[k] == 0), (k, reset[k])
assert np.all(reset["s0"] == 1) and np.all(reset["b1"] == 0), "only running statistics change"
for k, want, keep in (("m0", [1.0, -2.0], 0.99), ("v0", [4.0, 0.5], 0.99), ("m1", [3.0, 6.0], 0.9), ("v1", [2.0, 8.0], 0.9)):
    expected = np.array(want, np.float32) / np.float32(1 - keep ** 3)
    assert np.allclose(debiased[k], expected, rtol=1e-6), (k, debiased[k], expected)
print("reset and debias as expected")
PY
if "$py" "$script" reset "$dir/relu.onnx" "$dir/out.onnx" 2> "$dir/err"; then echo "a model without BatchNorm passed"; exit 1; fi
grep -q "no BatchNormalization with running statistics" "$dir/err" || { cat "$dir/err"; exit 1; }
if "$py" "$script" debias "$dir/bn.onnx" "$dir/out.onnx" 2> "$dir/err"; then echo "debias without BATCHES passed"; exit 1; fi
grep -q "^Usage:" "$dir/err" || { cat "$dir/err"; exit 1; }
echo ok
