#!/usr/bin/python3
"""The peer figure for bench/bf16_agreement.sh: PyTorch's own bf16 (torch.autocast on the CPU)
against its fp32, on the same suite models (rebuilt with bench/export_suite.py's constructors and
seed, so the weights are the ones mhub runs) and the first N Fashion-MNIST test images, resized
bilinearly to 224x224 and repeated into 3 channels (pixels / 255). Prints one row per model:
model | images | top-1 agreement of torch bf16 autocast with torch fp32.
Usage: /usr/bin/python3 bench/bf16_agreement_torch.py [--images N] [--models a,b,...]"""
import argparse, gzip, os, struct, sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export_suite  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--images", type=int, default=300)
parser.add_argument("--models", default="resnet18,resnet50,mobilenet_v2,mobilenet_v3_large,shufflenet_v2_x1_0,"
                                        "regnet_y_400mf,squeezenet1_1,densenet121,googlenet,vit_tiny,swin_t")
parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
args = parser.parse_args()
raw = gzip.open(os.path.join(args.data, "t10k-images-idx3-ubyte.gz")).read()
count = struct.unpack(">I", raw[4:8])[0]
if not 1 <= args.images <= count:
    sys.exit(f"--images must be between 1 and {count}")
pixels = torch.frombuffer(bytearray(raw[16:16 + args.images * 784]), dtype=torch.uint8)
images = pixels.reshape(args.images, 1, 28, 28).float() / 255
images = torch.nn.functional.interpolate(images, size=(224, 224), mode="bilinear", align_corners=False).repeat(1, 3, 1, 1)
torch.set_num_threads(2)
constructors = export_suite.models()
print("model | images | top-1 agreement torch bf16 autocast vs torch fp32")
for name in args.models.split(","):
    torch.manual_seed(0)  # as export_suite.export: the same weights as the exported file
    model = constructors[name][0]().eval()
    agree = 0
    with torch.no_grad():
        for start in range(0, args.images, 32):
            batch = images[start:start + 32]
            fp32 = model(batch)
            with torch.autocast("cpu", dtype=torch.bfloat16):
                bf16 = model(batch)
            agree += int((fp32.argmax(1) == bf16.float().argmax(1)).sum())
    print(f"{name} | {args.images} | {agree / args.images:.4f}", flush=True)
