#!/usr/bin/env python3
"""Hostile and careless input against the mhub binary: one case per ctest (hostile.CASE).

Usage: hostile.py MHUB CASE   (hostile.py MHUB --list prints the cases; --check-registered NAME...
checks that CMake registers every case).

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




def main():
    global MHUB
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
