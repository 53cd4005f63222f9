#!/usr/bin/python3
"""BatchNorm running statistics for bench/bf16_agreement.sh's recalibration, as torch's
swa_utils.update_bn: the statistics are averaged over the recalibration batches only.

  reset IN.onnx OUT.onnx: every BatchNormalization's running mean and variance set to 0, so
      nothing of the training-time statistics survives the recalibration;
  debias IN.onnx OUT.onnx BATCHES: after BATCHES training-mode batches from those zeros, each
      statistic is (1 - momentum) * sum_k momentum^(BATCHES-1-k) * batch_k (ONNX's momentum is the
      share kept); divided by 1 - momentum^BATCHES, it is the weighted mean of the batch statistics.

Why: torchvision's mobilenet_v3_large keeps 0.99 of its running statistics per batch, so 400 batches
still leave 0.99^400 = 1.8% of the value before them; its depthwise BatchNorms' batch variances
are about 0.01 of their initial running variance 1.0 after a short fine-tune, so that remnant alone
made their running variances 2-8x (up to 200x) too large and the model give one class in eval mode.
Usage: /usr/bin/python3 bench/bn_running_stats.py reset IN OUT | debias IN OUT BATCHES"""
import sys

import numpy as np
import onnx
from onnx import numpy_helper


def main(argv):
    if len(argv) < 3 or (argv[0], len(argv)) not in (("reset", 3), ("debias", 4)):
        sys.exit(__doc__.rsplit("\n", 1)[-1])
    mode, src, dst = argv[:3]
    model = onnx.load(src)
    by_name = {t.name: t for t in model.graph.initializer}
    found = 0
    for node in model.graph.node:
        if node.op_type != "BatchNormalization" or len(node.input) < 5:
            continue
        keep = next((a.f for a in node.attribute if a.name == "momentum"), 0.9)
        for name in node.input[3:5]:
            if name not in by_name:
                sys.exit(f"{src}: BatchNormalization '{node.name}': running statistic '{name}' is not an initializer")
            values = numpy_helper.to_array(by_name[name]).astype(np.float32)
            if mode == "reset":
                values = np.zeros_like(values)
            else:
                values = values / np.float32(1 - keep ** int(argv[3]))
            by_name[name].CopyFrom(numpy_helper.from_array(values, name))
        found += 1
    if found == 0:
        sys.exit(f"{src}: no BatchNormalization with running statistics")
    onnx.save(model, dst)


if __name__ == "__main__":
    main(sys.argv[1:])
