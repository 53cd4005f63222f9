#!/usr/bin/python3
"""The models of bench/train_bench.sh, exported for mhub with their BatchNormalization and Dropout
nodes kept in training mode (an eval-mode export folds BatchNorm into the convolutions, which
would leave mhub a smaller network to train than the one PyTorch trains). Debian's PyTorch 1.13.

MODELS is also what bench/train_bench_torch.py builds, so both sides train the same
architecture from the same seed:
- resnet18, resnet50, mobilenet_v2, mobilenet_v3_large: torchvision, 1000 classes, 3x224x224;
- vit_tiny: ViT-Tiny/16 (12 pre-norm layers, d 192, 3 heads, MLP 768; 224x224, 1000 classes);
- bert_encoder: a BERT-base-size encoder (12 post-norm layers, d 768, 12 heads, FFN 3072, GELU,
  dropout 0.1) fine-tuned as a 2-class sequence classifier at seq 128. mhub's trainer feeds
  float inputs, so the step starts at the token embeddings: the input is [batch, 128, 768] (what
  the token lookup would give) and the position embedding, LayerNorm, encoder and head are
  trained; the token table (a sparse lookup) is left out on both sides.
The transformers are written here with static-shape ops (reshape with -1 for the batch, a
slice for the class token) instead of torch.nn.MultiheadAttention, whose export slices the
packed q/k/v projection at bounds computed from shapes: mhub's Slice backward rule takes
constant bounds only, so torchvision's ViT and nn.TransformerEncoder cannot be trained by it yet.

AGREEMENT adds the other BatchNorm classifiers of bench/bf16_agreement.sh in the same training-mode
form (torchvision, seed 0, 1000 classes, 3x224x224): with BatchNorm kept, a short fine-tune learns,
which the suite's eval-mode exports (BatchNorm folded into random convolutions) do not. They are
exported only when named in --only.

Usage: /usr/bin/python3 bench/export_train_models.py OUT_DIR [--only NAME,NAME]
"""
import argparse, os
import torch, torchvision

SEQ, D_MODEL = 128, 768


class Block(torch.nn.Module):
    """A transformer encoder layer over `seq` tokens (pre-norm as ViT or post-norm as BERT)."""

    def __init__(self, d, heads, ffn, seq, dropout, norm_first):
        super().__init__()
        self.d, self.heads, self.seq, self.norm_first = d, heads, seq, norm_first
        self.scale = (d // heads) ** -0.5
        self.qkv, self.proj = torch.nn.Linear(d, 3 * d), torch.nn.Linear(d, d)
        self.fc1, self.fc2 = torch.nn.Linear(d, ffn), torch.nn.Linear(ffn, d)
        self.norm1, self.norm2 = torch.nn.LayerNorm(d), torch.nn.LayerNorm(d)
        self.drop = torch.nn.Dropout(dropout) if dropout > 0 else torch.nn.Identity()

    def attention(self, x):
        qkv = self.qkv(x).reshape(-1, self.seq, 3, self.heads, self.d // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        weights = self.drop(torch.softmax(q @ k.transpose(-2, -1) * self.scale, -1))
        return self.drop(self.proj((weights @ v).transpose(1, 2).reshape(-1, self.seq, self.d)))

    def mlp(self, x):
        return self.drop(self.fc2(self.drop(torch.nn.functional.gelu(self.fc1(x)))))

    def forward(self, x):
        if self.norm_first:
            x = x + self.attention(self.norm1(x))
            return x + self.mlp(self.norm2(x))
        x = self.norm1(x + self.attention(x))
        return self.norm2(x + self.mlp(x))


class VitTiny(torch.nn.Module):
    def __init__(self, image=224, patch=16, d=192, heads=3, layers=12, mlp=768, classes=1000):
        super().__init__()
        self.d, self.patches = d, (image // patch) ** 2
        self.embed = torch.nn.Conv2d(3, d, patch, patch)
        self.cls = torch.nn.Parameter(torch.randn(1, 1, d) * 0.02)
        self.pos = torch.nn.Parameter(torch.randn(1, self.patches + 1, d) * 0.02)
        self.blocks = torch.nn.Sequential(*[Block(d, heads, mlp, self.patches + 1, 0.0, True) for _ in range(layers)])
        self.norm, self.head = torch.nn.LayerNorm(d), torch.nn.Linear(d, classes)

    def forward(self, x):
        x = self.embed(x).reshape(-1, self.d, self.patches).transpose(1, 2)
        x = torch.cat([x[:, :1] * 0 + self.cls, x], 1) + self.pos  # the class token, without a shape-computed expand
        return self.head(self.norm(self.blocks(x))[:, 0])


class BertEncoder(torch.nn.Module):
    def __init__(self, seq=SEQ, d=D_MODEL, heads=12, layers=12, classes=2):
        super().__init__()
        self.pos = torch.nn.Parameter(torch.randn(1, seq, d) * 0.02)
        self.norm, self.drop = torch.nn.LayerNorm(d), torch.nn.Dropout(0.1)
        self.blocks = torch.nn.Sequential(*[Block(d, heads, 4 * d, seq, 0.1, False) for _ in range(layers)])
        self.head = torch.nn.Linear(d, classes)

    def forward(self, embedded):
        return self.head(self.blocks(self.drop(self.norm(embedded + self.pos)))[:, 0])


# name -> (constructor, example shape without the batch dim, classes)
IMAGE = (3, 224, 224)
MODELS = {
    "resnet18": (lambda: torchvision.models.resnet18(), IMAGE, 1000),
    "mobilenet_v2": (lambda: torchvision.models.mobilenet_v2(), IMAGE, 1000),
    "resnet50": (lambda: torchvision.models.resnet50(), IMAGE, 1000),
    "mobilenet_v3_large": (lambda: torchvision.models.mobilenet_v3_large(), IMAGE, 1000),
    "vit_tiny": (VitTiny, IMAGE, 1000),
    "bert_encoder": (BertEncoder, (SEQ, D_MODEL), 2),
}
AGREEMENT = {
    "densenet121": (lambda: torchvision.models.densenet121(), IMAGE, 1000),
    "shufflenet_v2_x1_0": (lambda: torchvision.models.shufflenet_v2_x1_0(), IMAGE, 1000),
    "regnet_y_400mf": (lambda: torchvision.models.regnet_y_400mf(), IMAGE, 1000),
    # No auxiliary heads: in training mode they would be extra outputs.
    "googlenet": (lambda: torchvision.models.googlenet(aux_logits=False, init_weights=True), IMAGE, 1000),
}


def build(name):
    """The model `name` in training mode, weights from seed 0."""
    make, _, _ = {**MODELS, **AGREEMENT}[name]
    torch.manual_seed(0)
    model = make()
    model.train()
    return model


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    only = set(filter(None, a.only.split(",")))
    unknown = only - set(MODELS) - set(AGREEMENT)
    if unknown:
        ap.error(f"--only: unknown model(s) {', '.join(sorted(unknown))}; known: {', '.join([*MODELS, *AGREEMENT])}")
    for name, (_, shape, _) in {**MODELS, **AGREEMENT}.items():
        if (only and name not in only) or (not only and name in AGREEMENT):
            continue
        model = build(name)
        path = os.path.join(a.out, name + ".onnx")
        torch.onnx.export(model, torch.randn(2, *shape), path + ".tmp", opset_version=17, input_names=["input"],
                          output_names=["output"], dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
                          training=torch.onnx.TrainingMode.TRAINING, do_constant_folding=False)
        os.replace(path + ".tmp", path)
        print(path)


if __name__ == "__main__":
    main()
