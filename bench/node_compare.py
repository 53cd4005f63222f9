#!/usr/bin/python3
"""Joins ONNX Runtime's per-node minima (bench/ort_node_profile.js) with mhub's
(`mhub bench --profile --json`'s node_times) and prints where mhub loses, per op family.

Usage: node_compare.py OUT_DIR [--worst N] [--json]
OUT_DIR holds ort_*.json and mhub_*.json, one per round (bench/node_compare.sh writes them);
each node's time is its least over every run of every round.

The join: an ORT node whose name is an mhub node's name, or "<value>_nchwc" (ORT's NCHWc pass
names a node after its output) where mhub writes <value>, is that node; ORT's NCHWc reorders are
their own family ("ORT reorders": work mhub's layout has no counterpart for); any other ORT node
goes to the mhub node sharing the longest '/'-separated name prefix (torch exports name nodes
after their module path: the GlobalAveragePool, two Convs and Mul that mhub fuses into one
SqueezeExcitation all lie under one block), and one named by ORT itself (HardSwish split into
HardSigmoid_N and Mul_N) to the node its predecessor went to. A family is the mhub op, Convs split by ORT's weight
shape into depthwise, 1x1 and other. Times are minima on whatever machine ran them: on a loaded
machine they say where to look, not how fast anything is.
"""
import argparse, glob, json, os, sys


def load(pattern):
    rows = []
    for path in sorted(glob.glob(pattern)):
        with open(path) as f:
            try:
                rows.append(json.load(f))
            except json.JSONDecodeError as e:
                sys.exit(f"{path}: not JSON ({e})")
    return rows


def minima(rounds, key, value):
    best = {}
    for r in rounds:
        for n in r[key]:
            if value not in n:
                continue
            k = n["name"]
            best[k] = min(best.get(k, float("inf")), n[value])
    return best


def conv_family(inputs):
    """Depthwise / 1x1 / other from ORT's input dims (X [N,C,H,W], W [O, C/g, kh, kw])."""
    if len(inputs) < 2 or len(inputs[0]) != 4 or len(inputs[1]) != 4:
        return "Conv"
    x, w = inputs[0], inputs[1]
    if w[1] == 1 and x[1] > 1:
        return "Conv depthwise"
    return "Conv 1x1" if w[2] == 1 and w[3] == 1 else "Conv other"


def common_prefix(a, b):
    n = 0
    for x, y in zip(a.split("/"), b.split("/")):
        if x != y:
            break
        n += 1
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--worst", type=int, default=12)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    ort_rounds = load(os.path.join(a.out_dir, "ort_*.json"))
    mhub_rounds = load(os.path.join(a.out_dir, "mhub_*.json"))
    if not ort_rounds or not mhub_rounds:
        sys.exit(f"{a.out_dir}: needs ort_*.json and mhub_*.json (bench/node_compare.sh writes them)")
    if not all("node_times" in r for r in mhub_rounds):
        sys.exit(f"{a.out_dir}: an mhub_*.json has no node_times (run mhub bench with --profile --json)")
    mhub_nodes = mhub_rounds[0]["node_times"]
    mhub_min = minima(mhub_rounds, "node_times", "min_ms")
    ort_min = minima(ort_rounds, "nodes", "min_ms")
    ort_info = {n["name"]: n for r in ort_rounds for n in r["nodes"]}
    by_name = {n["name"]: n for n in mhub_nodes}
    by_output = {v: n for n in mhub_nodes for v in n.get("outputs", [])}

    # mhub node name -> ORT time joined to it; family of each mhub node
    joined = {n["name"]: 0.0 for n in mhub_nodes}
    family = {n["name"]: n["op"] for n in mhub_nodes}
    ort_only = {}
    last_target = None
    for name, ms in ort_min.items():  # in ORT's run order
        info = ort_info[name]
        target = by_name.get(name)
        if target is None and name.endswith("_nchwc"):
            target = by_output.get(name[: -len("_nchwc")])
        if target is None and info["op"].startswith("Reorder"):
            ort_only["ORT reorders"] = ort_only.get("ORT reorders", 0.0) + ms
            continue
        if target is None:
            base = name[: -len("_nchwc")] if name.endswith("_nchwc") else name
            scored = [(common_prefix(base, n["name"]), -i, n) for i, n in enumerate(mhub_nodes)]
            score, _, node = max(scored, key=lambda t: (t[0], t[1]))
            if score >= 2:  # "" and the same top module at least
                target = node
        if target is None:  # a node ORT made up (HardSwish as HardSigmoid_N, Mul_N): its predecessor's
            target = last_target
        if target is None:
            key = "ORT only: " + info["op"]
            ort_only[key] = ort_only.get(key, 0.0) + ms
            continue
        last_target = target
        joined[target["name"]] += ms
        if target["op"] == "Conv" and info["op"] == "Conv" and family[target["name"]] == "Conv":
            family[target["name"]] = conv_family(info.get("inputs", []))

    table = {}
    for n in mhub_nodes:
        f = family[n["name"]]
        row = table.setdefault(f, {"family": f, "nodes": 0, "mhub_ms": 0.0, "ort_ms": 0.0})
        row["nodes"] += 1
        row["mhub_ms"] += mhub_min.get(n["name"], 0.0)
        row["ort_ms"] += joined[n["name"]]
    for f, ms in ort_only.items():
        table[f] = {"family": f, "nodes": 0, "mhub_ms": 0.0, "ort_ms": ms}
    rows = sorted(table.values(), key=lambda r: r["mhub_ms"] - r["ort_ms"], reverse=True)
    total_m = sum(r["mhub_ms"] for r in rows)
    total_o = sum(r["ort_ms"] for r in rows)
    nodes = [{"name": n["name"], "family": family[n["name"]], "kernel": n.get("kernel", ""),
              "mhub_ms": mhub_min.get(n["name"], 0.0), "ort_ms": joined[n["name"]]} for n in mhub_nodes]
    worst = sorted(nodes, key=lambda r: r["mhub_ms"] - r["ort_ms"], reverse=True)[: a.worst]
    if a.json:
        print(json.dumps({"families": rows, "mhub_ms": total_m, "ort_ms": total_o, "nodes": nodes}))
        return
    ratio = lambda m, o: f"{m / o:6.2f}" if o > 0 else "     -"
    print(f"rounds: {len(mhub_rounds)} mhub, {len(ort_rounds)} ORT; sums of per-node minima (ms)")
    print(f"{'family':<22} {'nodes':>5} {'mhub':>8} {'ORT':>8} {'mhub/ORT':>8} {'mhub-ORT':>9}")
    for r in rows:
        print(f"{r['family']:<22} {r['nodes']:>5} {r['mhub_ms']:8.3f} {r['ort_ms']:8.3f} {ratio(r['mhub_ms'], r['ort_ms']):>8}"
              f" {r['mhub_ms'] - r['ort_ms']:9.3f}")
    print(f"{'total':<22} {sum(r['nodes'] for r in rows):>5} {total_m:8.3f} {total_o:8.3f} {ratio(total_m, total_o):>8}"
          f" {total_m - total_o:9.3f}")
    print(f"worst nodes (mhub - ORT):")
    for r in worst:
        print(f"  {r['mhub_ms']:7.3f} {r['ort_ms']:7.3f} {ratio(r['mhub_ms'], r['ort_ms'])}  {r['family']:<15} {r['name']}  [{r['kernel']}]")


if __name__ == "__main__":
    main()
