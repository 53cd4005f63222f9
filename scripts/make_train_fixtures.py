#!/usr/bin/python3
"""Writes the numerics fixtures mhub's fine-tuning code must reproduce (tests/fixtures/train/).

Run with Debian's PyTorch 1.13 (python3-torch) and python3-onnx; the outputs are committed, so
neither is needed to build or test mhub. Everything is seeded and float32.

For each model (a small CNN with BatchNorm, a small transformer block) and each optimizer
(SGD with momentum + Nesterov + weight decay, AdamW) the script runs 20 training steps on fixed
batches and writes, under OUT/<model>/:
  model.onnx                  forward graph exported in training mode with the initial weights
                              (do_constant_folding=False, initializers named like the parameters)
  inputs.npy                  the 20 input batches stacked (float32 [20, batch, ...])
  targets.npy                 the 20 target batches stacked (int64 class ids [20, batch])
  <opt>/losses.npy            the loss of each step, before that step's update (float32 [20])
  <opt>/grads__<param>.npy    (CNN only) every step's gradient stacked ([20, ...param dims]),
                              so optimizers can be checked without autograd
  <opt>/final__<param>.npy    every parameter after the 20 steps
  <opt>/final_state__<buf>.npy BatchNorm running statistics after the 20 steps (CNN)
  <opt>/hyper.json            optimizer hyper-parameters
  initial__<param>.npy        every parameter before training
  loss_<loss>/losses.npy      (CNN only) the loss of each of the 20 SGD steps when training with
                              another loss of `mhub finetune --loss`: mse, l1, bce (BCE with
                              logits) against the one-hot rows of the class labels, and
                              cross_entropy_smooth (label smoothing 0.1)
Plus OUT/losses/: logits/targets and torch's value + gradient for cross-entropy (with label
smoothing 0.1), MSE, BCE-with-logits and L1, each with reduction='mean'.
Plus OUT/images/: a two-class image folder (PNG, RGB JPEG, greyscale JPEG, one non-image file)
for the image-folder reader's tests.

Usage: /usr/bin/python3 scripts/make_train_fixtures.py [OUT_DIR]
"""
import copy, json, os, sys
import numpy as np
import onnx
import onnx.numpy_helper
import torch

STEPS = 20


class SmallCNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        # No conv bias before BatchNorm: its gradient is zero up to rounding, and AdamW would
        # turn that noise into steps no two implementations can agree on.
        self.conv1 = torch.nn.Conv2d(1, 4, 3, padding=1, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(4)
        self.conv2 = torch.nn.Conv2d(4, 8, 3, padding=1, bias=False)
        self.bn2 = torch.nn.BatchNorm2d(8)
        self.fc = torch.nn.Linear(8 * 3 * 3, 5)

    def forward(self, x):
        x = torch.nn.functional.max_pool2d(torch.relu(self.bn1(self.conv1(x))), 2)
        x = torch.nn.functional.max_pool2d(torch.relu(self.bn2(self.conv2(x))), 2)
        return self.fc(torch.flatten(x, 1))


class TinyTransformer(torch.nn.Module):
    """One pre-norm encoder block over a sequence of 6 tokens of width 16, mean-pooled to 4 classes.
    Attention is written with MatMul/Softmax so the export stays a plain op graph."""

    def __init__(self, d=16, heads=2, classes=4):
        super().__init__()
        self.d, self.heads = d, heads
        self.ln1 = torch.nn.LayerNorm(d)
        # No qkv bias: the key part of it has a zero gradient (softmax ignores a constant shift),
        # which AdamW would amplify from rounding noise, as with conv bias before BatchNorm.
        self.qkv = torch.nn.Linear(d, 3 * d, bias=False)
        self.proj = torch.nn.Linear(d, d)
        self.ln2 = torch.nn.LayerNorm(d)
        self.ff1 = torch.nn.Linear(d, 2 * d)
        self.ff2 = torch.nn.Linear(2 * d, d)
        self.head = torch.nn.Linear(d, classes)

    def forward(self, x):  # x: [B, T, d]
        b, t, d = x.shape
        h = self.heads
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        q = q.reshape(b, t, h, d // h).transpose(1, 2)
        k = k.reshape(b, t, h, d // h).transpose(1, 2)
        v = v.reshape(b, t, h, d // h).transpose(1, 2)
        att = torch.softmax(torch.matmul(q, k.transpose(2, 3)) / (d // h) ** 0.5, dim=-1)
        y = torch.matmul(att, v).transpose(1, 2).reshape(b, t, d)
        x = x + self.proj(y)
        x = x + self.ff2(torch.nn.functional.gelu(self.ff1(self.ln2(x))))
        return self.head(x.mean(dim=1))


OPTIMIZERS = {
    "sgd": dict(kind="sgd", lr=0.05, momentum=0.9, dampening=0.0, nesterov=True, weight_decay=1e-3),
    "adamw": dict(kind="adamw", lr=3e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2),
}


def make_optimizer(hyper, params):
    if hyper["kind"] == "sgd":
        return torch.optim.SGD(params, lr=hyper["lr"], momentum=hyper["momentum"],
                               dampening=hyper["dampening"], nesterov=hyper["nesterov"],
                               weight_decay=hyper["weight_decay"])
    return torch.optim.AdamW(params, lr=hyper["lr"], betas=(hyper["beta1"], hyper["beta2"]),
                             eps=hyper["eps"], weight_decay=hyper["weight_decay"])


def save(path, array):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    np.save(path, np.ascontiguousarray(array))


def file_name(name):
    return name.replace("/", "_")


def one_hot(y, z):
    return torch.nn.functional.one_hot(y, z.shape[1]).float()


# The losses of `mhub finetune --loss` other than plain cross-entropy; their targets are the
# one-hot rows of the class labels, as mhub makes them (engine/train/losses.h).
OTHER_LOSSES = {
    "mse": lambda z, y: torch.nn.functional.mse_loss(z, one_hot(y, z)),
    "l1": lambda z, y: torch.nn.functional.l1_loss(z, one_hot(y, z)),
    "bce": lambda z, y: torch.nn.functional.binary_cross_entropy_with_logits(z, one_hot(y, z)),
    "cross_entropy_smooth": lambda z, y: torch.nn.functional.cross_entropy(z, y, label_smoothing=0.1),
}


def run_model(out, name, make_model, make_batch, save_grads, other_losses=False):
    root = os.path.join(out, name)
    torch.manual_seed(1)
    initial = make_model()
    batches = [make_batch(i) for i in range(STEPS)]
    save(f"{root}/inputs.npy", torch.stack([x for x, _ in batches]).numpy())
    save(f"{root}/targets.npy", torch.stack([y for _, y in batches]).numpy())
    for pname, p in initial.named_parameters():
        save(f"{root}/initial__{file_name(pname)}.npy", p.detach().numpy())
    # Export a copy: tracing runs a training-mode forward that would move BatchNorm's running
    # statistics of the model the optimizers start from.
    exported = copy.deepcopy(initial)
    exported.train()
    torch.onnx.export(exported, batches[0][0], f"{root}/model.onnx", input_names=["input"],
                      output_names=["logits"], opset_version=17, do_constant_folding=False,
                      training=torch.onnx.TrainingMode.TRAINING, export_params=True,
                      keep_initializers_as_inputs=False)
    # ...and the export itself captured the traced forward's running statistics: put back the
    # state training starts from, so model.onnx is exactly the optimizers' starting point.
    start = {k: v.numpy() for k, v in initial.state_dict().items()}
    onnx_model = onnx.load(f"{root}/model.onnx")
    for tensor in onnx_model.graph.initializer:
        if tensor.name in start:
            tensor.CopyFrom(onnx.numpy_helper.from_array(start[tensor.name], tensor.name))
    onnx.save(onnx_model, f"{root}/model.onnx")
    for opt_name, hyper in OPTIMIZERS.items():
        model = make_model()
        model.load_state_dict(initial.state_dict())
        model.train()
        opt = make_optimizer(hyper, model.parameters())
        losses = []
        grads = {pname: [] for pname, _ in model.named_parameters()}
        for step, (x, y) in enumerate(batches):
            loss = torch.nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            losses.append(loss.item())
            for pname, p in model.named_parameters():
                grads[pname].append(p.grad.clone())
            opt.step()
        if save_grads:
            for pname, stacked in grads.items():
                save(f"{root}/{opt_name}/grads__{file_name(pname)}.npy", torch.stack(stacked).numpy())
        save(f"{root}/{opt_name}/losses.npy", np.array(losses, dtype=np.float32))
        for pname, p in model.named_parameters():
            save(f"{root}/{opt_name}/final__{file_name(pname)}.npy", p.detach().numpy())
        for bname, b in model.named_buffers():
            if b.dtype == torch.float32:
                save(f"{root}/{opt_name}/final_state__{file_name(bname)}.npy", b.numpy())
        with open(f"{root}/{opt_name}/hyper.json", "w") as f:
            json.dump(hyper, f, indent=1, sort_keys=True)
            f.write("\n")
        print(f"{name}/{opt_name}: loss {losses[0]:.4f} -> {losses[-1]:.4f}")
    if not other_losses:
        return
    for loss_name, loss_fn in OTHER_LOSSES.items():
        model = make_model()
        model.load_state_dict(initial.state_dict())
        model.train()
        opt = make_optimizer(OPTIMIZERS["sgd"], model.parameters())
        losses = []
        for x, y in batches:
            loss = loss_fn(model(x), y)
            opt.zero_grad()
            loss.backward()
            losses.append(loss.item())
            opt.step()
        save(f"{root}/loss_{loss_name}/losses.npy", np.array(losses, dtype=np.float32))
        print(f"{name}/sgd --loss {loss_name}: loss {losses[0]:.4f} -> {losses[-1]:.4f}")


def write_loss_fixtures(out):
    root = os.path.join(out, "losses")
    g = torch.Generator().manual_seed(7)
    logits = torch.randn(5, 7, generator=g) * 3
    classes = torch.randint(0, 7, (5,), generator=g)
    regression_target = torch.randn(5, 7, generator=g)
    binary_target = (torch.rand(5, 7, generator=g) > 0.5).float()
    save(f"{root}/logits.npy", logits.numpy())
    save(f"{root}/classes.npy", classes.numpy())
    save(f"{root}/regression_target.npy", regression_target.numpy())
    save(f"{root}/binary_target.npy", binary_target.numpy())
    cases = {
        "cross_entropy": lambda z: torch.nn.functional.cross_entropy(z, classes),
        "cross_entropy_smooth": lambda z: torch.nn.functional.cross_entropy(z, classes, label_smoothing=0.1),
        "mse": lambda z: torch.nn.functional.mse_loss(z, regression_target),
        "bce_logits": lambda z: torch.nn.functional.binary_cross_entropy_with_logits(z, binary_target),
        "l1": lambda z: torch.nn.functional.l1_loss(z, regression_target),
    }
    for case, fn in cases.items():
        z = logits.clone().requires_grad_(True)
        loss = fn(z)
        loss.backward()
        save(f"{root}/{case}_value.npy", np.array([loss.item()], dtype=np.float32))
        save(f"{root}/{case}_grad.npy", z.grad.numpy())


def write_image_folder(out):
    from PIL import Image
    red, blue = os.path.join(out, "images", "a_red"), os.path.join(out, "images", "b_blue")
    os.makedirs(red, exist_ok=True)
    os.makedirs(blue, exist_ok=True)
    image = Image.new("RGB", (6, 4), (255, 0, 0))
    image.putpixel((0, 0), (0, 255, 0))
    image.save(f"{red}/0.png")
    Image.new("RGB", (12, 8), (200, 0, 0)).save(f"{red}/1.png")
    Image.new("RGB", (6, 4), (0, 0, 255)).save(f"{blue}/0.jpg", quality=95)
    Image.new("L", (6, 4), 128).save(f"{blue}/1.jpeg", quality=95)
    with open(f"{blue}/notes.txt", "w") as f:
        f.write("not an image, ignored\n")


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/train"
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    write_loss_fixtures(out)
    write_image_folder(out)

    def cnn_batch(i):
        g = torch.Generator().manual_seed(100 + i)
        return torch.randn(4, 1, 12, 12, generator=g), torch.randint(0, 5, (4,), generator=g)

    run_model(out, "cnn", SmallCNN, cnn_batch, save_grads=True, other_losses=True)

    def transformer_batch(i):
        g = torch.Generator().manual_seed(200 + i)
        return torch.randn(3, 6, 16, generator=g), torch.randint(0, 4, (3,), generator=g)

    run_model(out, "transformer", TinyTransformer, transformer_batch, save_grads=False)


if __name__ == "__main__":
    main()
