#!/usr/bin/python3
"""Compares mhub's outputs with ONNX Runtime's on the same inputs.

Usage: compare_ort.py MHUB MODEL.onnx DUMP_DIR [--max-rel 1e-4] [--runs 2]
DUMP_DIR was written by `ort_bench.js MODEL --dump DUMP_DIR` (input_K.bin, output_K.bin,
shapes.json). The inputs are converted to .npy, mhub runs the model on them (`mhub run -o`,
--runs times: the outputs of the last run, by default the 2nd, whose plan is specialised to the
fed dims like the runs `mhub bench` times), and every float output is compared: max |mhub - ort| / max(|ort|) over the tensor (relative to
the output's scale, so tiny logits near zero do not blow the ratio up). Prints one JSON line;
exit status 1 when an output exceeds --max-rel or mhub fails.
"""
import argparse, json, os, subprocess, sys
import numpy as np

DTYPES = {"float32": np.float32, "float64": np.float64, "int64": np.int64, "int32": np.int32,
          "int8": np.int8, "uint8": np.uint8, "bool": np.bool_}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mhub")
    ap.add_argument("model")
    ap.add_argument("dump")
    ap.add_argument("--max-rel", type=float, default=1e-4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=2)
    a = ap.parse_args()
    shapes = json.load(open(os.path.join(a.dump, "shapes.json")))
    args = [a.mhub, "run", a.model, "--threads", str(a.threads), "--runs", str(a.runs),
            "-o", os.path.join(a.dump, "mhub_out")]
    for k, inp in enumerate(shapes["inputs"]):
        x = np.fromfile(os.path.join(a.dump, f"input_{k}.bin"), dtype=DTYPES[inp["type"]]).reshape(inp["shape"])
        path = os.path.join(a.dump, f"input_{k}.npy")
        np.save(path, x)
        args += ["-i", f"{inp['name']}={path}"]
    run = subprocess.run(args, capture_output=True, text=True)
    if run.returncode != 0:
        print(json.dumps({"model": a.model, "ok": False, "error": run.stderr.strip()[-2000:]}))
        return 1
    worst = 0.0
    results = []
    for k, out in enumerate(shapes["outputs"]):
        expected = np.fromfile(os.path.join(a.dump, f"output_{k}.bin"), dtype=DTYPES[out["type"]]).reshape(out["shape"])
        files = [f for f in os.listdir(os.path.join(a.dump, "mhub_out")) if f.startswith(out["name"].replace("/", "_"))]
        got = np.load(os.path.join(a.dump, "mhub_out", out["name"] + ".npy")) if not files else \
            np.load(os.path.join(a.dump, "mhub_out", files[0]))
        if got.shape != expected.shape:
            results.append({"name": out["name"], "error": f"shape {got.shape} vs {expected.shape}"})
            worst = float("inf")
            continue
        scale = float(np.max(np.abs(expected))) or 1.0
        rel = float(np.max(np.abs(got.astype(np.float64) - expected.astype(np.float64)))) / scale
        same_top1 = bool(np.argmax(got.reshape(got.shape[0], -1), axis=1).tolist() ==
                         np.argmax(expected.reshape(expected.shape[0], -1), axis=1).tolist()) if got.ndim >= 1 and got.size else True
        results.append({"name": out["name"], "max_rel": rel, "same_argmax": same_top1})
        worst = max(worst, rel)
    ok = worst <= a.max_rel
    print(json.dumps({"model": os.path.basename(a.model), "ok": ok, "max_rel": worst, "outputs": results}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
