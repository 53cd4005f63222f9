#!/usr/bin/python3
"""Writes models.json, mhub's shipped catalogue (schema: docs/CATALOGUE.md).

It holds three kinds of entries:
  * every model of the ONNX model zoo manifest, with the manifest's sha256 and sizes; the zoo's
    files now live in the Hugging Face repo onnxmodelzoo/legacy_models (a user catalogue can point
    that repo elsewhere through "repo_overrides"),
  * well-known Hugging Face checkpoints (timm safetensors, onnx-community ONNX exports); these
    change with their repos, so they carry no sha256 and are verified against the hub's
    X-Linked-Etag when pulled ("verify": "hub-etag"),
  * the bundled model fashion-cnn, with its sha256 and size computed from the file.

Standard library only, deterministic: the same inputs give the same bytes.
Usage: /usr/bin/python3 scripts/make_catalogue.py [--zoo MANIFEST] [--out models.json]
"""
import argparse
import hashlib
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ZOO_REPO = "onnxmodelzoo/legacy_models"
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
INCEPTION_MEAN = [0.5, 0.5, 0.5]
INCEPTION_STD = [0.5, 0.5, 0.5]

# The zoo folder's task, in the words Hugging Face uses for tasks where one fits.
ZOO_TASKS = {
    "classification": "image-classification",
    "object_detection_segmentation": "object-detection",
    "machine_comprehension": "question-answering",
    "style_transfer": "image-to-image",
    "super_resolution": "image-to-image",
    "body_analysis": "image-classification",
}

FASHION_LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                  "Sneaker", "Bag", "Ankle boot"]


def slug(text):
    """'Emotion FERPlus' -> 'emotion-ferplus'."""
    return re.sub(r"[^a-z0-9.+]+", "-", text.lower()).strip("-")


def zoo_ports(ports):
    out = []
    for port in ports:
        item = {"name": port["name"]}
        if "type" in port:
            item["type"] = port["type"]
        if "shape" in port:
            item["shape"] = port["shape"]
        out.append(item)
    return out


def zoo_entry(item):
    meta = item["metadata"]
    path = item["model_path"]
    parts = path.split("/")
    folder = "/".join(parts[:-2])          # validated/vision/classification/resnet
    stem = os.path.splitext(parts[-1])[0]  # resnet50-v1-7
    entry = {
        "name": stem.lower(),
        "description": "%s from the ONNX model zoo (opset %d)" % (item["model"], item["opset_version"]),
        "tags": list(meta["tags"]) + ["onnx-model-zoo"],
        "task": ZOO_TASKS.get(parts[2], parts[2].replace("_", "-")),
        "family": parts[-3].replace("_", "-"),
        "source": {"kind": "hf", "repo": ZOO_REPO, "revision": "main", "path": path},
        "files": [{"path": path, "sha256": meta["model_sha"], "size": meta["model_bytes"], "lfs": True}],
        "verify": "sha256",
        "format": "onnx",
        "opset": item["opset_version"],
        "onnx_version": item["onnx_version"],
        "homepage": "https://github.com/onnx/models/tree/main/" + folder,
    }
    if meta.get("model_with_data_path"):
        # The zoo's .tar.gz holds the model plus its test inputs/outputs: useful, not required.
        entry["files"].append({"path": meta["model_with_data_path"], "sha256": meta["model_with_data_sha"],
                               "size": meta["model_with_data_bytes"], "lfs": True, "optional": True})
    ports = meta.get("io_ports") or {}
    if ports.get("inputs"):
        entry["inputs"] = zoo_ports(ports["inputs"])
    if ports.get("outputs"):
        entry["outputs"] = zoo_ports(ports["outputs"])
    extra = meta.get("extra_ports") or {}
    if extra:
        entry["extra_ports"] = {kind: zoo_ports(extra[kind]) for kind in sorted(extra)}
    return entry


def add_zoo_aliases(entries, manifest):
    """The zoo's display name (e.g. 'ResNet50') becomes an alias of its newest full-precision
    variant, unless that alias would clash with a name."""
    taken = {e["name"].lower() for e in entries}
    best = {}
    for entry, item in zip(entries, manifest):
        low_precision = re.search(r"int8|qdq|fp16", entry["name"]) is not None
        key = slug(item["model"])
        rank = (not low_precision, item["opset_version"], entry["name"])
        if key not in best or rank > best[key][0]:
            best[key] = (rank, entry)
    for key in sorted(best):
        if key in taken:
            continue
        best[key][1]["aliases"] = [key]
        taken.add(key)


def timm_entry(repo, family, description, preprocessing, tags):
    return {
        "name": repo,
        "aliases": [repo.split("/", 1)[1]],
        "description": description,
        "tags": tags + ["timm", "pytorch", "safetensors"],
        "task": "image-classification",
        "family": family,
        "source": {"kind": "hf", "repo": repo, "revision": "main", "path": "model.safetensors"},
        "files": [{"path": "model.safetensors", "lfs": True}, {"path": "config.json"}],
        "verify": "hub-etag",
        "format": "safetensors",
        "preprocessing": preprocessing,
        "license": "apache-2.0",
        "homepage": "https://huggingface.co/" + repo,
    }


def imagenet_pre(size, crop_pct, interpolation, mean=IMAGENET_MEAN, std=IMAGENET_STD, test=None):
    """timm's pretrained config; `test` = (test_input_size, test_crop_pct) when timm gives one."""
    pre = {"input_size": [3, size, size], "mean": mean, "std": std, "crop_pct": crop_pct,
           "crop_mode": "center", "interpolation": interpolation, "num_classes": 1000,
           "label_set": "imagenet-1k"}
    if test:
        pre["test_input_size"] = [3, test[0], test[0]]
        pre["test_crop_pct"] = test[1]
    return pre


def hf_entries():
    entries = [
        timm_entry("timm/resnet50.a1_in1k", "resnet",
                   "ResNet-50 trained on ImageNet-1k with the 'ResNet strikes back' A1 recipe (timm)",
                   imagenet_pre(224, 0.95, "bicubic", test=(288, 1.0)), ["vision", "classification", "imagenet"]),
        timm_entry("timm/mobilenetv3_large_100.ra_in1k", "mobilenet",
                   "MobileNet-V3 large 1.0 trained on ImageNet-1k with RandAugment (timm)",
                   imagenet_pre(224, 0.875, "bicubic"), ["vision", "classification", "imagenet", "mobile"]),
        timm_entry("timm/vit_base_patch16_224.augreg2_in21k_ft_in1k", "vit",
                   "ViT-B/16 at 224px, pretrained on ImageNet-21k, fine-tuned on ImageNet-1k (augreg2, timm)",
                   imagenet_pre(224, 0.9, "bicubic", INCEPTION_MEAN, INCEPTION_STD),
                   ["vision", "classification", "imagenet", "transformer"]),
    ]
    for repo, description in [
        ("onnx-community/hiera-tiny-224-in1k-hf", "Hiera tiny (224px, ImageNet-1k) exported to ONNX for Transformers.js"),
        ("onnx-community/hiera-base-plus-224-in1k-hf", "Hiera base-plus (224px, ImageNet-1k) exported to ONNX for Transformers.js"),
    ]:
        entries.append({
            "name": repo,
            "aliases": [repo.split("/", 1)[1]],
            "description": description,
            "tags": ["vision", "classification", "imagenet", "onnx-community", "transformers.js"],
            "task": "image-classification",
            "family": "hiera",
            "source": {"kind": "hf", "repo": repo, "revision": "main", "path": "onnx/model.onnx"},
            "files": [{"path": "onnx/model.onnx", "lfs": True}, {"path": "config.json"},
                      {"path": "preprocessor_config.json"}],
            "verify": "hub-etag",
            "format": "onnx",
            "preprocessing": {"input_size": [3, 224, 224], "num_classes": 1000, "label_set": "imagenet-1k"},
            "homepage": "https://huggingface.co/" + repo,
        })
    return entries


def bundled_entry():
    path = "models/fashion-cnn/model.onnx"
    with open(os.path.join(ROOT, path), "rb") as f:
        data = f.read()
    return {
        "name": "fashion-cnn",
        "aliases": ["fashion-mnist"],
        "description": "Small CNN for Fashion-MNIST (28x28 grey clothing images, 10 classes), bundled with mhub",
        "tags": ["vision", "classification", "fashion-mnist", "bundled"],
        "task": "image-classification",
        "family": "cnn",
        "source": {"kind": "bundled", "path": path},
        "files": [{"path": path, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}],
        "verify": "sha256",
        "format": "onnx",
        "opset": 17,
        "inputs": [{"name": "image", "type": "tensor(float)", "shape": ["batch", 1, 28, 28]}],
        "outputs": [{"name": "logits", "type": "tensor(float)", "shape": ["batch", 10]}],
        "preprocessing": {"input_size": [1, 28, 28], "mean": [0.2860], "std": [0.3530],
                          "interpolation": "bilinear", "num_classes": 10, "label_names": FASHION_LABELS},
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--zoo", default=os.path.join(ROOT, "..", "shared", "catalogues",
                                                      "onnx-model-zoo-manifest.json"),
                        help="the ONNX model zoo manifest (JSON array)")
    parser.add_argument("--out", default=os.path.join(ROOT, "models.json"), help="where to write")
    args = parser.parse_args()
    with open(args.zoo, encoding="utf-8") as f:
        manifest = json.load(f)
    if not isinstance(manifest, list):
        sys.exit("%s: expected a JSON array of zoo entries" % args.zoo)
    zoo = [zoo_entry(item) for item in manifest]
    add_zoo_aliases(zoo, manifest)
    catalogue = {
        "schema_version": 1,
        "description": "mhub's shipped catalogue; generated by scripts/make_catalogue.py, schema in docs/CATALOGUE.md",
        "models": [bundled_entry()] + hf_entries() + zoo,
    }
    names = [e["name"].lower() for e in catalogue["models"]]
    names += [a.lower() for e in catalogue["models"] for a in e.get("aliases", [])]
    if len(names) != len(set(names)):
        sys.exit("duplicate names or aliases: %s" % sorted({n for n in names if names.count(n) > 1}))
    text = json.dumps(catalogue, indent=1, ensure_ascii=True) + "\n"
    tmp = args.out + ".tmp"
    with open(tmp, "w", encoding="ascii") as f:
        f.write(text)
    os.replace(tmp, args.out)
    print("%s: %d entries (%d from the zoo)" % (args.out, len(catalogue["models"]), len(zoo)))


if __name__ == "__main__":
    main()
