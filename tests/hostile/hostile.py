#!/usr/bin/env python3
"""Hostile and careless input against the mhub binary: one case per ctest (hostile.CASE).

Usage: hostile.py MHUB CASE   (hostile.py MHUB --list prints the cases; --check-registered NAME...
checks that CMake registers every case). hostile.py --write-seeds TARGET DIR writes fuzz seeds of
these shapes for fuzz_TARGET (scripts/fuzz.sh).

Every hostile file is made here at test time and is small. A case checks the exact exit code,
a piece of the message, and that nothing outside mhub's folders was written or removed.
Exit 0 = passed, 1 = failed, 77 = skipped (with the reason).
"""
import http.server
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BUNDLED = os.path.join(REPO, "models", "fashion-cnn", "model.onnx")
CASES = {}


def case(function):
    CASES[function.__name__] = function
    return function


class Failed(Exception):
    pass


def run(args, env=None, timeout=120, stdin=None):
    full_env = dict(os.environ)
    full_env.update(env or {})
    result = subprocess.run([MHUB] + args, capture_output=True, env=full_env, timeout=timeout, input=stdin)
    return result.returncode, result.stdout.decode("utf-8", "replace"), result.stderr.decode("utf-8", "replace")


def expect(args, code, message, env=None, timeout=120):
    """Runs mhub; the exit code must be `code` and stderr (or stdout) must match the regex `message`."""
    got, out, err = run(args, env, timeout)
    shown = "mhub " + " ".join(args)
    if got != code:
        raise Failed(f"{shown}: exit {got}, expected {code}\nstdout: {out[-2000:]}\nstderr: {err[-2000:]}")
    if message and not re.search(message, err + out):
        raise Failed(f"{shown}: exit {got} as expected, but the output lacks /{message}/\n"
                     f"stdout: {out[-2000:]}\nstderr: {err[-2000:]}")
    return out, err


def check(condition, what):
    if not condition:
        raise Failed(what)


def tree(folder):
    """Every path under folder (to prove nothing appeared or vanished)."""
    found = set()
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            found.add(os.path.relpath(os.path.join(root, name), folder))
    return found


def make_cache(root, repo="org/repo", commit="a" * 40, revision="main"):
    folder = os.path.join(root, "models--" + repo.replace("/", "--"))
    blob = "b" * 64
    os.makedirs(os.path.join(folder, "blobs"))
    os.makedirs(os.path.join(folder, "snapshots", commit))
    os.makedirs(os.path.join(folder, "refs"))
    with open(os.path.join(folder, "blobs", blob), "w") as f:
        f.write("x")
    os.symlink("../../blobs/" + blob, os.path.join(folder, "snapshots", commit, "file.txt"))
    with open(os.path.join(folder, "refs", revision), "w") as f:
        f.write(commit)
    return folder


# --- 1. cache rm must not leave the cache -------------------------------------------------

@case
def cache_rm_revision_traversal(tmp):
    cache = os.path.join(tmp, "a", "b", "c", "cache")
    os.makedirs(cache)
    repo_folder = make_cache(cache)
    victim = os.path.join(tmp, "victim")
    os.makedirs(victim)
    open(os.path.join(victim, "precious"), "w").close()
    # models--org--repo/snapshots/../../../victim = <tmp>/a/b/c/victim: make the target exist too.
    os.makedirs(os.path.join(tmp, "a", "b", "c", "victim"))
    before = tree(tmp)
    for revision in ["../../../victim", "../refs", "../../models--org--repo", "/etc", "a/../../x", ".."]:
        expect(["cache", "rm", "org/repo", "--revision", revision, "--cache-dir", cache], 2,
               r"--revision '[^']*' (starts with '\.'|has a part)|--revision .* (is|has|starts)")
    check(tree(tmp) == before, f"cache rm changed files: {sorted(before ^ tree(tmp))}")
    # The repo id is checked too.
    expect(["cache", "rm", "org/../../victim", "--cache-dir", cache], 2, r"repo id 'org/\.\./\.\./victim'")
    check(tree(tmp) == before, "cache rm with a climbing repo id changed files")
    # A ref file holding a climbing "commit" is not followed.
    with open(os.path.join(repo_folder, "refs", "evil"), "w") as f:
        f.write("../../../victim")
    expect(["cache", "rm", "org/repo", "--revision", "evil", "--cache-dir", cache], 2, r"not in the cache")
    check(os.path.exists(os.path.join(victim, "precious")), "the victim folder lost its file")
    # The honest case still works.
    out, _ = expect(["cache", "rm", "org/repo", "--revision", "main", "--cache-dir", cache], 0, r"removed ")
    check(not os.path.exists(os.path.join(repo_folder, "snapshots", "a" * 40)), "cache rm main left the snapshot")


# --- 2. a catalogue revision must not leave the cache ----------------------------------------

@case
def catalogue_revision_traversal(tmp):
    catalogue = os.path.join(tmp, "cat.json")
    with open(os.path.join(REPO, "models.json")) as f:
        entry = next(m for m in json.load(f)["models"] if m["source"]["kind"] == "hf")
    entry["name"], entry["aliases"] = "evil", []
    entry["source"]["revision"] = "../../../x"
    with open(catalogue, "w") as f:
        json.dump({"schema_version": 1, "models": [entry]}, f)
    cache = os.path.join(tmp, "cache")
    before = tree(tmp)
    expect(["pull", "evil", "--catalogue", catalogue, "--cache-dir", cache, "--endpoint", "http://127.0.0.1:9"],
           4, r"source\.revision.*'\.\./\.\./\.\./x' has a part that starts with '\.'")
    check(tree(tmp) == before, f"pull wrote files: {sorted(tree(tmp) - before)}")


# --- 3. a hostile hub server -----------------------------------------------------------------

class HostileHub(http.server.BaseHTTPRequestHandler):
    headers_to_send = {}
    status = 200

    def do_HEAD(self):
        self.send_response(self.status)
        for key, value in self.headers_to_send.items():
            self.send_header(key, value)
        self.send_header("Content-Length", "1")
        self.end_headers()

    def do_GET(self):
        self.do_HEAD()
        self.wfile.write(b"x")

    def log_message(self, *args):
        pass


def serve(status, headers):
    handler = type("Handler", (HostileHub,), {"status": status, "headers_to_send": headers})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def pull_from_hostile_hub(tmp, status, headers, code, message):
    """mhub pull against a server answering every request with `status` and `headers`: exit `code`
    with `message`, and not one file or folder created anywhere."""
    cache = os.path.join(tmp, "d1", "d2", "d3", "cache")
    os.makedirs(cache)
    before = tree(tmp)
    server, url = serve(status, headers)
    try:
        expect(["pull", "hf:org/repo:FILE", "--cache-dir", cache, "--endpoint", url], code, message)
    finally:
        server.shutdown()
    check(tree(tmp) == before, f"pull created: {sorted(tree(tmp) - before)}")


@case
def hub_commit_traversal(tmp):
    pull_from_hostile_hub(tmp, 404, {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": "../../../../elsewhere"}, 4,
                          r"X-Repo-Commit '\.\./\.\./\.\./\.\./elsewhere' is not a commit hash")


@case
def hub_etag_traversal(tmp):
    pull_from_hostile_hub(tmp, 200, {"X-Repo-Commit": "a" * 40, "X-Linked-Etag": '"../../../elsewhere/pwn"',
                                     "X-Linked-Size": "1"}, 6,
                          r"etag '\.\./\.\./\.\./elsewhere/pwn' is neither a sha256 nor a git sha1")


# --- 4. convert --external-file must stay in OUT's folder ------------------------------------

@case
def convert_external_file_traversal(tmp):
    out_dir = os.path.join(tmp, "x", "y")
    os.makedirs(out_dir)
    before = tree(tmp)
    for location, problem in [("../../x.data", r"has an empty, '\.' or '\.\.' part"),
                              (os.path.join(tmp, "abs.data"), r"is an absolute path"),
                              ("../../x.safetensors", r"has an empty, '\.' or '\.\.' part")]:
        expect(["convert", BUNDLED, os.path.join(out_dir, "out.onnx"), "--external-data=1K", "--external-file", location],
               2, r"--external-file: external data location '[^']*' " + problem)
    check(tree(tmp) == before, f"convert wrote: {sorted(tree(tmp) - before)}")
    # A symlinked folder that leads out is refused after resolution.
    os.symlink(tmp, os.path.join(out_dir, "up"))
    expect(["convert", BUNDLED, os.path.join(out_dir, "out.onnx"), "--external-data=1K", "--external-file", "up/z.data"],
           2, r"resolves outside")
    check(not os.path.exists(os.path.join(tmp, "z.data")), "convert followed the symlink out")
    expect(["convert", BUNDLED, os.path.join(out_dir, "out.onnx"), "--external-data=1K", "--external-file", "w.data"],
           0, "")
    check(os.path.exists(os.path.join(out_dir, "w.data")), "the honest external file is missing")



# --- file builders (no numpy/onnx/torch needed) -----------------------------------------------

def npy_bytes(descr, shape, data=b""):
    shape_text = "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape_text)
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + data


def pickle_unicode(text):
    data = text.encode("utf-8")
    return b"X" + struct.pack("<I", len(data)) + data


def pickle_int(number):
    data = number.to_bytes((number.bit_length() + 8) // 8, "little", signed=True)
    return b"\x8a" + bytes([len(data)]) + data


def pickle_tuple(numbers):
    return b"(" + b"".join(pickle_int(n) for n in numbers) + b"t"


def state_dict_pickle(tensors):
    """torch.save's pickle of {name: tensor}; tensors = [(name, storage_key, numel, offset, sizes, strides)]."""
    out = b"\x80\x02" + b"ccollections\nOrderedDict\n)R("
    for name, key, numel, offset, sizes, strides in tensors:
        out += pickle_unicode(name) + b"ctorch._utils\n_rebuild_tensor_v2\n("
        out += b"(" + pickle_unicode("storage") + b"ctorch\nFloatStorage\n" + pickle_unicode(key) + \
            pickle_unicode("cpu") + pickle_int(numel) + b"tQ"
        out += pickle_int(offset) + pickle_tuple(sizes) + pickle_tuple(strides) + b"\x89"
        out += b"ccollections\nOrderedDict\n)R" + b"tR"
    return out + b"u."


def write_pth(path, pickle_bytes, records=None, deflate=False):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED) as archive:
        archive.writestr("archive/data.pkl", pickle_bytes)
        for key, data in (records or {}).items():
            archive.writestr("archive/data/" + key, data)
    return path


def protobuf_varint(number):
    out = bytearray()
    while True:
        byte = number & 0x7F
        number >>= 7
        out.append(byte | (0x80 if number else 0))
        if not number:
            return bytes(out)


def pb(field, value):
    """One protobuf field: int -> varint, bytes/str -> length-delimited."""
    if isinstance(value, int):
        return protobuf_varint(field << 3) + protobuf_varint(value)
    if isinstance(value, str):
        value = value.encode()
    return protobuf_varint((field << 3) | 2) + protobuf_varint(len(value)) + value


def onnx_value_info(name, dims):
    shape = b"".join(pb(1, pb(1, d)) for d in dims)
    return pb(1, name) + pb(2, pb(1, pb(1, 1) + pb(2, shape)))


def onnx_model(nodes, inputs, outputs, initializers=(), opset=13):
    """nodes: [(op, [inputs], [outputs])] (or with a 4th item: raw AttributeProto bytes);
    inputs/outputs: [(name, dims)]; initializers: raw TensorProto bytes."""
    graph = b"".join(pb(1, b"".join(pb(1, i) for i in n[1]) + b"".join(pb(2, o) for o in n[2]) + pb(4, n[0]) +
                        (pb(5, n[3]) if len(n) > 3 else b""))
                     for n in nodes)
    graph += pb(2, "g") + b"".join(pb(5, t) for t in initializers)
    graph += b"".join(pb(11, onnx_value_info(n, d)) for n, d in inputs)
    graph += b"".join(pb(12, onnx_value_info(n, d)) for n, d in outputs)
    return pb(1, 8) + pb(8, pb(2, opset)) + pb(7, graph)


def onnx_tensor(name, dims, raw=None, data_type=1):
    out = b"".join(pb(1, d) for d in dims) + pb(2, data_type) + pb(8, name)
    return out + (pb(9, raw) if raw is not None else b"")


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)
    return path


def safetensors_bytes(header, data=b""):
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


# --- 5. sizes from file data must not wrap -----------------------------------------------------

@case
def pth_zero_stride_huge_view(tmp):
    path = write_pth(os.path.join(tmp, "view.pth"),
                     state_dict_pickle([("w", "0", 1, 0, [2 ** 31, 2 ** 30], [0, 0])]), {"0": b"\0" * 4})
    expect(["inspect", path], 4, r"tensor 'w'.*need more than 2\^62 bytes")


@case
def onnx_initializer_huge_dims_no_data(tmp):
    model = onnx_model([("Identity", ["w"], ["y"])], [], [("y", [])],
                       [onnx_tensor("w", [2 ** 31, 2 ** 31])])
    path = write(os.path.join(tmp, "m.onnx"), model)
    expect(["run", path], 4, r"tensor 'w'.*need more than 2\^62 bytes")
    expect(["inspect", path], 4, r"tensor 'w'")


@case
def npy_huge_shape_no_data(tmp):
    model = write(os.path.join(tmp, "m.onnx"),
                  onnx_model([("Relu", ["x"], ["y"])], [("x", [])], [("y", [])]))
    data = write(os.path.join(tmp, "x.npy"), npy_bytes("<f4", [2 ** 31, 1, 2 ** 31, 1]))
    expect(["run", model, "-i", "x=" + data], 4, r"x\.npy: .*shape \(2147483648, 1, 2147483648, 1\) holds more elements than any file can")


@case
def max_memory_limit(tmp):
    # A tensor above --max-memory is refused with exit 7 before it is allocated.
    model = write(os.path.join(tmp, "m.onnx"),
                  onnx_model([("Relu", ["x"], ["y"])], [("x", [1024, 1024])], [("y", [1024, 1024])]))
    data = write(os.path.join(tmp, "x.npy"), npy_bytes("<f4", [1024, 1024], b"\0" * (4 << 20)))
    expect(["--max-memory", "1M", "run", model, "-i", "x=" + data], 7,
           r"needs 4194304 bytes, more than the memory limit of 1048576 bytes")
    expect(["run", model, "-i", "x=" + data, "--max-memory", "1M"], 7, r"memory limit")
    expect(["--max-memory", "lots", "run", model], 2, r"--max-memory takes a size in bytes")
    expect(["run", model, "-i", "x=" + data, "--max-memory", "64M"], 0, "")


def int64s(*values):
    return struct.pack(f"<{len(values)}q", *values)


def floats(*values):
    return struct.pack(f"<{len(values)}f", *values)


@case
def kernel_shapes_checked(tmp):
    """Expand, Tile, Range, Resize, Pad, ConstantOfShape: output shapes computed from input values."""
    x = write(os.path.join(tmp, "x.npy"), npy_bytes("<f4", [2], floats(1.0, 2.0)))
    cases = {
        "expand": ([("Expand", ["x", "s"], ["y"])], [onnx_tensor("s", [3], int64s(2 ** 31, 2 ** 30, 2), 7)],
                   4, r"need more than 2\^62 bytes"),
        "expand_large": ([("Expand", ["x", "s"], ["y"])], [onnx_tensor("s", [3], int64s(2 ** 19, 2 ** 19, 2), 7)],
                         7, r"more than the memory limit"),
        "tile": ([("Tile", ["x", "r"], ["y"])], [onnx_tensor("r", [1], int64s(2 ** 62), 7)],
                 4, r"Tile.*(overflow|larger than 2\^62)"),
        "tile_negative": ([("Tile", ["x", "r"], ["y"])], [onnx_tensor("r", [1], int64s(-3), 7)],
                          4, r"negative"),
        "range_inf": ([("Range", ["a", "b", "c"], ["y"])],
                      [onnx_tensor("a", [], floats(0.0)), onnx_tensor("b", [], floats(float("inf"))),
                       onnx_tensor("c", [], floats(1.0))], 4, r"Range"),
        "range_huge": ([("Range", ["a", "b", "c"], ["y"])],
                       [onnx_tensor("a", [], int64s(-2 ** 62), 7), onnx_tensor("b", [], int64s(2 ** 62), 7),
                        onnx_tensor("c", [], int64s(1), 7)], 4, r"Range"),
        "resize": ([("Resize", ["x", "", "sc"], ["y"])], [onnx_tensor("sc", [1], floats(1e30))],
                   4, r"Resize"),
        "pad": ([("Pad", ["x", "p"], ["y"])], [onnx_tensor("p", [2], int64s(2 ** 62, 2 ** 62), 7)],
                4, r"Pad.*(overflow|larger than 2\^62)"),
        "constant_of_shape": ([("ConstantOfShape", ["s"], ["y"])],
                              [onnx_tensor("s", [3], int64s(2 ** 20, 2 ** 20, 2 ** 20), 7)], 7,
                              r"more than the memory limit"),
    }
    for name, (nodes, initializers, code, message) in cases.items():
        model = write(os.path.join(tmp, name + ".onnx"),
                      onnx_model(nodes, [("x", [2])], [("y", [])], initializers, opset=18))
        expect(["--max-memory", "1G", "run", model, "-i", "x=" + x], code, message)


# --- 6. nesting depth ---------------------------------------------------------------------------

@case
def pickle_deep_nesting(tmp):
    pickle = b"\x80\x02)" + b"\x85" * 200000 + b"."
    path = write_pth(os.path.join(tmp, "deep.pth"), pickle)
    expect(["inspect", path], 4, r"nested deeper than 1000 levels")


@case
def catalogue_deep_json(tmp):
    path = write(os.path.join(tmp, "deep.json"), b"[" * 100000 + b"]" * 100000)
    expect(["list", "--catalogue", path], 4, r"deep\.json")


# --- 7. a graph output without a name -----------------------------------------------------------

@case
def graph_output_without_name(tmp):
    model = write(os.path.join(tmp, "m.onnx"), onnx_model([("Relu", ["x"], [""])], [("x", [2])], [("", [2])]))
    data = write(os.path.join(tmp, "x.npy"), npy_bytes("<f4", [2], struct.pack("<2f", 1.0, -2.0)))
    expect(["run", model, "-i", "x=" + data], 4, r"graph 'g' output 0 has no name")


# --- 8. thread counts ------------------------------------------------------------------------

@case
def threads_bounded(tmp):
    for args in (["run", BUNDLED, "--threads", "100000"], ["bench", BUNDLED, "--threads", "100000"],
                 ["conformance", tmp, "--jobs", "100000"], ["run", BUNDLED, "--threads", "-1"]):
        expect(args, 2, r"--(threads|jobs): must be between 0 \(all cores\) and \d+")


# --- 9. small files must not make mhub allocate gigabytes ----------------------------------------

@case
def pth_view_expansion(tmp):
    # 539 bytes of checkpoint asking for a 2 GiB float32 tensor from one stored element.
    path = write_pth(os.path.join(tmp, "expand.pth"),
                     state_dict_pickle([("w", "0", 1, 0, [2 ** 20, 2 ** 9], [0, 0])]), {"0": b"\0" * 4})
    check(os.path.getsize(path) < 1024, "the hostile file should be small")
    expect(["inspect", path], 7, r"tensor 'w' is a view of 4 stored bytes that expands to 2147483648 bytes")


@case
def pth_zip_size_lie(tmp):
    path = os.path.join(tmp, "lie.pth")
    write_pth(path, state_dict_pickle([("w", "0", 1, 0, [1], [1])]), {"0": b"\0" * 4}, deflate=True)
    data = bytearray(open(path, "rb").read())
    # Patch the pickle record's uncompressed size (local header and central directory) to 3.75 GiB.
    lie = struct.pack("<I", 0xF0000000)
    local = data.find(b"PK\x03\x04")
    data[local + 22:local + 26] = lie
    central = data.find(b"PK\x01\x02")
    data[central + 24:central + 28] = lie
    write(path, bytes(data))
    expect(["inspect", path], 4, r"claims 4026531840 bytes from \d+ compressed")


@case
def gzip_dataset_capped(tmp):
    import gzip
    data = os.path.join(tmp, "data")
    os.makedirs(data)
    images = struct.pack(">IIII", 0x803, 4096, 28, 28) + b"\0" * (4096 * 784)
    labels = struct.pack(">II", 0x801, 4096) + b"\0" * 4096
    for split in ("train", "t10k"):
        write(os.path.join(data, split + "-images-idx3-ubyte.gz"), gzip.compress(images, 1))
        write(os.path.join(data, split + "-labels-idx1-ubyte.gz"), gzip.compress(labels, 1))
    expect(["--max-memory", "1M", "eval", BUNDLED, "--data", data], 7,
           r"images-idx3-ubyte\.gz: the inflated data needs \d+ bytes, more than the memory limit")


# --- 10. parsers stay linear -------------------------------------------------------------------

@case
def safetensors_many_keys_linear(tmp):
    import time
    keys = 100000
    header = {"__metadata__": {f"k{i}": "v" for i in range(keys)}}
    path = write(os.path.join(tmp, "many.safetensors"), safetensors_bytes(header))
    started = time.monotonic()
    expect(["inspect", "--json", path], 0, "")
    took = time.monotonic() - started
    check(took < 20, f"inspect of a header with {keys} keys took {took:.1f} s (quadratic?)")


@case
def pickle_many_keys_linear(tmp):
    import time
    keys = 100000
    pickle = b"\x80\x02}(" + b"".join(pickle_unicode(f"k{i}") + b"N" for i in range(keys)) + b"u."
    path = write_pth(os.path.join(tmp, "many.pth"), pickle)
    started = time.monotonic()
    expect(["inspect", path], 4, r"holds no tensors")
    took = time.monotonic() - started
    check(took < 20, f"a pickle dict of {keys} keys took {took:.1f} s (quadratic?)")


# --- 11. non-finite training ---------------------------------------------------------------------

def tiny_dataset(tmp, rows=8, nan_row=None, name="data"):
    folder = os.path.join(tmp, name)
    os.makedirs(folder)
    pixels = [0.5] * (rows * 784)
    if nan_row is not None:
        pixels[nan_row * 784 + 100] = float("nan")
    write(os.path.join(folder, "inputs.npy"), npy_bytes("<f4", [rows, 1, 28, 28], struct.pack(f"<{len(pixels)}f", *pixels)))
    write(os.path.join(folder, "labels.npy"), npy_bytes("<i8", [rows], struct.pack(f"<{rows}q", *[i % 10 for i in range(rows)])))
    return folder


FINETUNE = ["--epochs", "1", "--batch-size", "4", "--threads", "1", "--optimizer", "sgd", "--lr", "0.01"]


@case
def finetune_nan_input_stops(tmp):
    data = tiny_dataset(tmp, nan_row=5)
    out = os.path.join(tmp, "out.onnx")
    expect(["finetune", BUNDLED, "--data", data, "--out", out] + FINETUNE, 4,
           r"training step \d+: the batch's input holds NaN or infinity")
    expect(["finetune", BUNDLED, "--data", data, "--out", out, "--on-nonfinite", "skip"] + FINETUNE, 0, "")


@case
def finetune_flags_validated(tmp):
    data = tiny_dataset(tmp)
    out = os.path.join(tmp, "out.onnx")
    base = ["finetune", BUNDLED, "--data", data, "--out", out]
    for flag, value in [("--lr", "nan"), ("--lr", "inf"), ("--lr", "1e308"), ("--lr", "0"), ("--lr", "-1"),
                        ("--momentum", "nan"), ("--weight-decay", "nan"), ("--label-smoothing", "1.5"),
                        ("--clip-norm", "-1"), ("--num-classes", "0"), ("--warmup-steps", "-1"),
                        ("--epochs", "0"), ("--batch-size", "0"), ("--accumulate", "0"), ("--on-nonfinite", "maybe")]:
        expect(base + [flag, value], 2, re.escape(flag))
    for flag, value in [("--std", "0"), ("--std", "nan"), ("--mean", "inf")]:
        expect(base + [flag, value], 2, re.escape(flag) + r": '[^']*' is not a finite number")
    check(not os.path.exists(out), "a refused finetune wrote its output")


# --- 12. empty data, bad checkpoints ---------------------------------------------------------------

@case
def eval_empty_dataset(tmp):
    data = tiny_dataset(tmp, rows=0)
    expect(["eval", BUNDLED, "--data", data], 2, r"no examples to evaluate")


def rewrite_safetensors_metadata(path, changes):
    raw = open(path, "rb").read()
    length = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + length])
    header["__metadata__"].update(changes)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    write(path, struct.pack("<Q", len(text)) + text + raw[8 + length:])


@case
def checkpoint_metadata_refused(tmp):
    data = tiny_dataset(tmp)
    out = os.path.join(tmp, "out.onnx")
    expect(["finetune", BUNDLED, "--data", data, "--out", out] + FINETUNE, 0, "")
    checkpoint = out + ".ckpt.safetensors"
    check(os.path.exists(checkpoint), "finetune wrote no checkpoint")
    for epoch in ("-4", "abc", "99999999999999999999", "5"):
        rewrite_safetensors_metadata(checkpoint, {"epoch": epoch})
        expect(["finetune", BUNDLED, "--data", data, "--out", out, "--resume", checkpoint] + FINETUNE, 4,
               r"checkpoint metadata 'epoch' is '%s', not a whole number from 0 to 1" % re.escape(epoch))


# --- 13. opset conversion keeps external data ---------------------------------------------------

@case
def convert_opset_external_data(tmp):
    weights = [float(i) for i in range(512)]
    model = write(os.path.join(tmp, "m13.onnx"),
                  onnx_model([("Add", ["x", "w"], ["y"])], [("x", [512])], [("y", [512])],
                             [onnx_tensor("w", [512], floats(*weights))], opset=13))
    external = os.path.join(tmp, "ext.onnx")
    expect(["convert", model, external, "--external-data=1K"], 0, "")
    check(os.path.exists(external + ".data"), "no external data file")
    converted = os.path.join(tmp, "o14.onnx")
    expect(["convert", external, converted, "--opset", "14"], 0, r"opset 13 -> 14")
    data = write(os.path.join(tmp, "x.npy"), npy_bytes("<f4", [512], floats(*([1.0] * 512))))
    out, _ = expect(["run", converted, "-i", "x=" + data, "--json"], 0, "")
    summary = json.loads(out)["outputs"][0]
    check(summary["min"] == 1.0 and summary["max"] == 512.0, f"the converted model lost its weights: {summary}")


# --- 14. run -o never overwrites one output with another -----------------------------------------

@case
def run_output_names_unique(tmp):
    model = write(os.path.join(tmp, "m.onnx"),
                  onnx_model([("Relu", ["x"], ["a/b"]), ("Neg", ["x"], ["a_b"])], [("x", [2])],
                             [("a/b", [2]), ("a_b", [2])]))
    data = write(os.path.join(tmp, "x.npy"), npy_bytes("<f4", [2], struct.pack("<2f", 1.0, -2.0)))
    outdir = os.path.join(tmp, "out")
    out, _ = expect(["run", model, "-i", "x=" + data, "-o", outdir, "--json"], 0, "")
    files = [o["file"] for o in json.loads(out)["outputs"]]
    check(len(set(files)) == 2 and all(os.path.exists(f) for f in files), f"output files collide: {files}")
    relu, neg = (open(f, "rb").read()[-8:] for f in files)
    check(struct.unpack("<2f", relu) == (1.0, 0.0) and struct.unpack("<2f", neg) == (-1.0, 2.0),
          "an output file holds the other output's values")


# --- 15. every failure has its documented exit code ------------------------------------------------

@case
def exit_codes(tmp):
    not_model = write(os.path.join(tmp, "not.onnx"), b"hello")
    # 2 usage: parse errors (CLI11's own codes are 104-114), bad names, -o naming a file
    expect(["run", BUNDLED, "--no-such-flag"], 2, r"The following argument was not expected: --no-such-flag")
    expect([], 2, r"A subcommand is required")
    expect(["run"], 2, r"MODEL is required")
    expect(["run", BUNDLED, "--threads", "many"], 2, r"--threads")
    a_file = write(os.path.join(tmp, "a_file"), b"x")
    expect(["run", BUNDLED, "-i", os.path.join(REPO, "models", "fashion-cnn", "sample_input.npy"), "-o", a_file], 2,
           r"--output-dir '.*a_file' is a file; give a folder")
    # 3 io
    expect(["inspect", os.path.join(tmp, "missing.onnx")], 3, r"missing\.onnx")
    # 4 format
    expect(["inspect", not_model], 4, r"not\.onnx")
    # 5 network
    expect(["pull", "hf:org/repo:file.bin", "--cache-dir", os.path.join(tmp, "c"), "--endpoint", "http://127.0.0.1:9"],
           5, r"127\.0\.0\.1:9")
    # 6 integrity
    cache = os.path.join(tmp, "cache")
    folder = make_cache(cache)
    write(os.path.join(folder, "blobs", "b" * 64), b"not what the name says")
    expect(["cache", "verify", "--cache-dir", cache], 6, r"problem\(s\) in the cache")
    # 8 not found (HTTP 404): needs a hub that answers 404, so it is checked against nginx in
    #   tests/test_hub_cli.cpp ("a file that is not there: exit code 8 ...").
    # 7 unsupported
    expect(["--max-memory", "1K", "run", BUNDLED, "-i", os.path.join(REPO, "models", "fashion-cnn", "sample_input.npy")],
           7, r"more than the memory limit of 1024 bytes")
    # 0 ok, also for --help and --version
    expect(["--version"], 0, r"^mhub ")
    expect(["run", "--help"], 0, r"--threads")


# --- 16. outputs go where they should; names are printed escaped -------------------------------

@case
def finetune_out_folder(tmp):
    data = tiny_dataset(tmp)
    folder = os.path.join(tmp, "outdir")
    os.makedirs(folder)
    before = tree(tmp)
    expect(["finetune", BUNDLED, "--data", data, "--out", folder] + FINETUNE, 2, r"--out '.*outdir' is a folder")
    check(tree(tmp) == before, f"finetune wrote: {sorted(tree(tmp) - before)}")


@case
def names_printed_escaped(tmp):
    evil = "w\x1b]0;pwned\x07\x1b[2J"
    header = {evil: {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
              "__metadata__": {"note\x1b[31m": "red\x1b[0m"}}
    path = write(os.path.join(tmp, "evil.safetensors"), safetensors_bytes(header, b"\0" * 4))
    out, err = expect(["inspect", path], 0, r"w\\x1b\]0;pwned\\x07\\x1b\[2J")
    check("\x1b" not in out + err, "an escape character reached the terminal")
    check("note\\x1b[31m = red\\x1b[0m" in out, "metadata is not shown escaped")


# --- fuzz seeds: the hostile shapes above, small, for scripts/fuzz.sh ------------------------------

def gguf_bytes(tensors, metadata=()):
    """GGUF v3: tensors = [(name, dims innermost-first, ggml type, offset)], metadata = [(key, u32)]."""
    def text(value):
        data = value.encode()
        return struct.pack("<Q", len(data)) + data
    out = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(metadata))
    for key, value in metadata:
        out += text(key) + struct.pack("<II", 4, value)
    for name, dims, kind, offset in tensors:
        out += text(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        out += struct.pack("<IQ", kind, offset)
    return out + b"\0" * ((32 - len(out) % 32) % 32) + b"\0" * 32


def seed_files(target):
    view = [("w", "0", 1, 0, [2 ** 31, 2 ** 30], [0, 0])]
    deep = b"\x80\x02)" + b"\x85" * 2000 + b"."
    many = b"\x80\x02}(" + b"".join(pickle_unicode(f"k{i}") + b"N" for i in range(500)) + b"u."
    if target == "pickle":
        return {"zero_stride_view.pkl": state_dict_pickle(view), "deep.pkl": deep, "many_keys.pkl": many,
                "expand.pkl": state_dict_pickle([("w", "0", 1, 0, [2 ** 20, 2 ** 9], [0, 0])])}
    if target == "pth":
        seeds = {}
        for name, pickle in (("zero_stride_view.pth", state_dict_pickle(view)), ("deep.pth", deep)):
            folder = tempfile.mkdtemp()
            path = os.path.join(folder, name)
            write_pth(path, pickle, {"0": b"\0" * 4}, deflate=name == "deep.pth")
            seeds[name] = open(path, "rb").read()
            shutil.rmtree(folder)
        return seeds
    if target == "safetensors":
        return {"many_keys.safetensors": safetensors_bytes({"__metadata__": {f"k{i}": "v" for i in range(500)}}),
                "huge_shape.safetensors": safetensors_bytes(
                    {"w": {"dtype": "F32", "shape": [2 ** 31, 2 ** 31], "data_offsets": [0, 4]}}, b"\0" * 4),
                "escape_name.safetensors": safetensors_bytes(
                    {"w\x1b[2J": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4)}
    if target == "gguf":
        return {"huge_dims.gguf": gguf_bytes([("w", [2 ** 31, 2 ** 31], 0, 0)], [("general.alignment", 32)]),
                "small.gguf": gguf_bytes([("w", [1], 0, 0)])}
    if target == "onnx_model":
        return {"huge_initializer.onnx": onnx_model([("Identity", ["w"], ["y"])], [], [("y", [])],
                                                    [onnx_tensor("w", [2 ** 31, 2 ** 31])]),
                "empty_output_name.onnx": onnx_model([("Relu", ["x"], [""])], [("x", [2])], [("", [2])]),
                "external_traversal.onnx": onnx_model([("Identity", ["w"], ["y"])], [], [("y", [])],
                                                      [onnx_tensor("w", [1]) + pb(13, pb(1, "location") +
                                                                                 pb(2, "../../x.data")) + pb(14, 1)]),
                "expand_huge.onnx": onnx_model([("Expand", ["x", "s"], ["y"])], [("x", [1]), ("s", [2])],
                                               [("y", [])])}
    raise SystemExit(f"no seeds for {target}")


def main():
    global MHUB
    if len(sys.argv) == 4 and sys.argv[1] == "--write-seeds":
        os.makedirs(sys.argv[3], exist_ok=True)
        for name, data in seed_files(sys.argv[2]).items():
            write(os.path.join(sys.argv[3], "hostile_" + name), data)
        return 0
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    MHUB = os.path.abspath(sys.argv[1])
    if sys.argv[2] == "--list":
        print("\n".join(sorted(CASES)))
        return 0
    if sys.argv[2] == "--check-registered":
        missing = sorted(set(CASES) - set(sys.argv[3:]))
        unknown = sorted(set(sys.argv[3:]) - set(CASES))
        if missing or unknown:
            print(f"tests/hostile/CMakeLists.txt misses {missing}; names no case {unknown}")
            return 1
        print(f"all {len(CASES)} cases registered")
        return 0
    name = sys.argv[2]
    if name not in CASES:
        print(f"no case {name}; cases: {', '.join(sorted(CASES))}")
        return 2
    tmp = tempfile.mkdtemp(prefix=f"mhub-hostile-{name}-")
    try:
        CASES[name](tmp)
    except Failed as failure:
        print(f"FAILED {name}: {failure}")
        return 1
    except Skip as skip:
        print(f"skipped {name}: {skip}")
        return 77
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"passed {name}")
    return 0


class Skip(Exception):
    pass


if __name__ == "__main__":
    sys.exit(main())
