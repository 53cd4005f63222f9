#!/usr/bin/python3
"""Writes the first TRAIN and TEST examples of Debian's Fashion-MNIST (IDX, .gz or not) as plain
IDX files into OUT, so sweep and board tests train on a small set in seconds.
Usage: fashion_subset.py DATA_DIR OUT TRAIN TEST"""
import gzip
import os
import struct
import sys

src, dst, train, test = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
os.makedirs(dst, exist_ok=True)
for prefix, count in (("train-images", train), ("train-labels", train), ("t10k-images", test), ("t10k-labels", test)):
    name = next(n for n in sorted(os.listdir(src)) if n.startswith(prefix))
    raw = open(os.path.join(src, name), "rb").read()
    if name.endswith(".gz"):
        raw = gzip.decompress(raw)
    ndims = raw[3]
    dims = struct.unpack(">" + "I" * ndims, raw[4:4 + 4 * ndims])
    per_example = 1
    for d in dims[1:]:
        per_example *= d
    start = 4 + 4 * ndims
    header = raw[:4] + struct.pack(">I", count) + raw[8:start]
    out_name = name[:-3] if name.endswith(".gz") else name
    with open(os.path.join(dst, out_name), "wb") as f:
        f.write(header + raw[start:start + count * per_example])
