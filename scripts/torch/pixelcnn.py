"""The PixelCNN, Gated PixelCNN, Row LSTM and Diagonal BiLSTM of `deepgen train pixelcnn|gated-pixelcnn|
row-lstm|diagonal-bilstm` (grey; Bernoulli, or PixelCNN's 256-way softmax on 8-bit MNIST) in
PyTorch, to tell the architecture and budget from our implementation at equal wall time.

PixelCNN: a 7x7 mask-A convolution, residual blocks (ReLU, 1x1 2h->h, ReLU, 3x3 mask B, ReLU,
1x1 h->2h), then ReLU, 1x1, ReLU, 1x1 to the logit. Gated PixelCNN: vertical ((k/2+1) x k) and
horizontal (1 x (k/2+1)) stacks, the vertical shifted down a row into the horizontal one, gates
tanh * sigmoid, residual and skip 1x1s, the same head on the sum of the skips. Both take
2x - 1. PixelRNN: a 7x7 mask-A convolution to 2h maps, LSTM layers of h units each added back
through a 1x1 h -> 2h, the same head. Row LSTM: gates from a 1x2 convolution over the current and
previous column plus a 1x3 convolution of the row above's state. Diagonal BiLSTM: one phantom
column on the right, rows skewed, gates from a 1x1 convolution plus a 2-tap convolution of the
previous column's state (rows i-1, i), a mirrored LSTM whose output is shifted down a row, unskew.
Masks are applied at run time, so the saved weights are the raw ones, as ours.
Data: MNIST binarised dynamically (a Bernoulli draw per use), or its 8-bit values k/255 with
`--likelihood categorical`, shuffled every epoch, Adam 1e-3. The run directory carries deepgen's
tensor names and config.json, so `deepgen eval DIR --metric nll` measures it on our fixed
binarisation of the test set (`--metric bpd` on the 8-bit one); `--snapshot-minutes` keeps copies.

    python scripts/torch/pixelcnn.py --model pixelcnn --out runs/torch-pixelcnn --minutes 90 --threads 1
"""
import argparse, json, math, os, sys, time

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from vae import read_idx, write_run  # noqa: E402


class MaskedConv(nn.Conv2d):
    def __init__(self, kind, i, o, k):
        super().__init__(i, o, k, padding=k // 2)
        mask = torch.zeros_like(self.weight)
        mask[:, :, :k // 2] = 1
        mask[:, :, k // 2, :k // 2 + (kind == "B")] = 1
        self.register_buffer("mask", mask, persistent=False)

    def forward(self, x):
        return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)


class PixelCNN(nn.Module):
    def __init__(self, f, layers, first, levels=1):
        super().__init__()
        h = f // 2
        self.input = MaskedConv("A", 1, f, first)
        self.blocks = nn.ModuleList(nn.Sequential(nn.ReLU(), MaskedConv("B", f, h, 1), nn.ReLU(), MaskedConv("B", h, h, 3),
                                                  nn.ReLU(), MaskedConv("B", h, f, 1)) for _ in range(layers))
        self.head = nn.Sequential(nn.ReLU(), MaskedConv("B", f, f, 1), nn.ReLU(), MaskedConv("B", f, levels, 1))

    def forward(self, x):
        h = self.input(x * 2 - 1)
        for block in self.blocks:
            h = h + block(h)
        return self.head(h)


def shift_down(x):
    return F.pad(x, (0, 0, 1, 0))[:, :, :-1]


def shift_right(x):
    return F.pad(x, (1, 0))[:, :, :, :-1]


def gate(x):
    a, b = x.chunk(2, 1)
    return torch.tanh(a) * torch.sigmoid(b)


class GatedLayer(nn.Module):
    def __init__(self, i, p, k, residual, classes=0, label_maps=0):
        super().__init__()
        self.k = k
        if classes:  # a class-conditional model adds a learned vector per class inside every gate
            self.vertical_label, self.horizontal_label = nn.Embedding(classes, 2 * p), nn.Embedding(classes, 2 * p)
        if label_maps:  # and, with label maps, a 1x1 convolution of its class's learned map
            self.vertical_label_map = nn.Conv2d(label_maps, 2 * p, 1, bias=False)
            self.horizontal_label_map = nn.Conv2d(label_maps, 2 * p, 1, bias=False)
        self.vertical = nn.Conv2d(i, 2 * p, (k // 2 + 1, k))
        self.horizontal = nn.Conv2d(i, 2 * p, (1, k // 2 + 1))
        self.vertical_to_horizontal = nn.Conv2d(2 * p, 2 * p, 1)
        self.residual = nn.Conv2d(p, p, 1) if residual else None
        self.skip = nn.Conv2d(p, p, 1)

    def forward(self, v, h, labels=None, label_map=None):
        half = self.k // 2
        v_pre = self.vertical(F.pad(v, (half, half, half, 0)))
        h_pre = self.horizontal(F.pad(h, (half, 0))) + self.vertical_to_horizontal(shift_down(v_pre))
        if labels is not None:
            v_pre = v_pre + self.vertical_label(labels)[:, :, None, None]
            h_pre = h_pre + self.horizontal_label(labels)[:, :, None, None]
        if label_map is not None:
            v_pre = v_pre + self.vertical_label_map(label_map)
            h_pre = h_pre + self.horizontal_label_map(label_map)
        gated = gate(h_pre)
        h_out = h + self.residual(gated) if self.residual is not None else gated
        return gate(v_pre), h_out, self.skip(gated)


class GatedPixelCNN(nn.Module):
    def __init__(self, p, layers, first, classes=0, label_maps=0, size=28):
        super().__init__()
        self.layers = nn.ModuleList(GatedLayer(1 if i == 0 else p, p, first if i == 0 else 3, i > 0, classes, label_maps) for i in range(layers + 1))
        self.label_shape = (label_maps, size, size)
        if label_maps:  # a learned [maps, H, W] map per class, flattened
            self.label_map = nn.Embedding(classes, label_maps * size * size)
        self.head = nn.Sequential(nn.ReLU(), nn.Conv2d(p, p, 1), nn.ReLU(), nn.Conv2d(p, 1, 1))

    def forward(self, x, labels=None):
        x = x * 2 - 1
        v, h, skip = x, shift_right(x), 0
        label_map = self.label_map(labels).view(-1, *self.label_shape) if labels is not None and self.label_shape[0] else None
        for layer in self.layers:
            v, h, s = layer(v, h, labels, label_map)
            skip = skip + s
        return self.head(skip)


class RecurrentLayer(nn.Module):
    """One PixelRNN LSTM layer over [N, C, H, W] -> [N, units, H, W]; gates (i, f, g, o) as ours."""
    def __init__(self, row, maps, units):
        super().__init__()
        self.row, self.units = row, units
        self.input_to_state = nn.Conv2d(maps, 4 * units, (1, 2) if row else 1)
        self.state_to_state = nn.Conv1d(units, 4 * units, 3 if row else 2, padding=1 if row else 0, bias=False)

    def forward(self, x):
        if self.row:
            gates = self.input_to_state(F.pad(x, (1, 0))).permute(2, 0, 1, 3)       # rows first: [H, N, 4u, W]
            recurrent = self.state_to_state
        else:
            gates = self.input_to_state(skew(x)).permute(3, 0, 1, 2)               # columns first: [W', N, 4u, H]
            recurrent = lambda h: self.state_to_state(F.pad(h, (1, 0)))
        hidden = cell = gates.new_zeros(gates.shape[1], self.units, gates.shape[3])
        outputs = []
        for step in gates:
            i, f, g, o = (step + recurrent(hidden)).chunk(4, 1)
            cell = torch.sigmoid(f) * cell + torch.sigmoid(i) * torch.tanh(g)
            hidden = torch.sigmoid(o) * torch.tanh(cell)
            outputs.append(hidden)
        out = torch.stack(outputs)
        return out.permute(1, 2, 0, 3) if self.row else unskew(out.permute(1, 2, 3, 0), x.shape[3])


def skew(x):
    """Row i moved right by i: [N, C, H, W] -> [N, C, H, W + H - 1]."""
    h = x.shape[2]
    return torch.cat([F.pad(x[:, :, i:i + 1], (i, h - 1 - i)) for i in range(h)], 2)


def unskew(x, width):
    return torch.cat([x[:, :, i:i + 1, i:i + width] for i in range(x.shape[2])], 2)


class PixelRNN(nn.Module):
    def __init__(self, row, f, layers, first):
        super().__init__()
        self.row = row
        self.input = MaskedConv("A", 1, f, first)
        self.layers = nn.ModuleList(RecurrentLayer(row, f, f // 2) for _ in range(layers))
        self.mirrored_layers = nn.ModuleList([] if row else [RecurrentLayer(row, f, f // 2) for _ in range(layers)])
        self.residuals = nn.ModuleList(nn.Conv2d(f // 2, f, 1) for _ in range(layers))
        self.head = nn.Sequential(nn.ReLU(), nn.Conv2d(f, f, 1), nn.ReLU(), nn.Conv2d(f, 1, 1))

    def forward(self, images):
        width = images.shape[3]
        x = self.input(images * 2 - 1 if self.row else F.pad(images * 2 - 1, (0, 1)))
        for i, layer in enumerate(self.layers):
            out = layer(x)
            if not self.row:
                out = out + shift_down(self.mirrored_layers[i](x.flip(3)).flip(3))
            x = x + self.residuals[i](out)
        return self.head(x[:, :, :, :width])


def our_name(name):
    """blocks.3.1.weight -> network.blocks.3.layers.1.weight: our Sequential names its children
    `layers.i`, counting the activations as PyTorch does."""
    parts = name.split(".")
    if parts[0] == "blocks":
        parts.insert(2, "layers")
    if parts[0] == "head":
        parts.insert(1, "layers")
    return "network." + ".".join(parts)


def save_run(net, directory, args, step, seconds):
    tensors = {our_name(k): v.detach().float().contiguous().clone() for k, v in net.state_dict().items()}
    categorical = args.likelihood == "categorical"
    config = {"format": 1, "model": args.model, "dataset": "mnist" if categorical else "binarized-mnist", "imageShape": [1, 28, 28],
              "training": {"batchSize": args.batch_size, "seed": args.seed, "logEvery": 50, "sampleEvery": 500, "checkpointEvery": 500},
              "pixelcnn": {"classes": getattr(args, "classes", 0), "labelMaps": getattr(args, "label_maps", 0), "components": 10, "dropout": 0.5, "features": args.features, "firstKernel": 7,
                           "layers": args.layers, "learningRate": args.lr, "likelihood": args.likelihood}}
    write_run(directory, tensors, config, step, seconds)


def add_run_arguments(p):
    """The options the PyTorch autoregressive references share with `deepgen train`."""
    p.add_argument("--out", required=True)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--minutes", type=float, default=90)
    p.add_argument("--lr-schedule", default="constant", choices=["constant", "cosine"])
    p.add_argument("--snapshot-minutes", type=float, default=0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--data", default=os.environ.get("DEEPGEN_DATA", "data"))


def train(net, x, args, end_step, batch_loss, save_run, started=None, labels=None):
    """deepgen's loop: Adam, the images shuffled every epoch, `batch_loss(net, images)` per step,
    until `--minutes` or `end_step`; a cosine to a tenth over `end_step` if asked; a log line
    every 50 steps, a snapshot every `--snapshot-minutes`, the final model in `--out`."""
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    started, step, per_epoch = started or time.time(), 0, len(x) // args.batch_size
    next_snapshot = args.snapshot_minutes
    os.makedirs(args.out, exist_ok=True)
    log = open(os.path.join(args.out, "log.jsonl"), "w")
    while time.time() - started < 60 * args.minutes and step != end_step:
        if args.lr_schedule == "cosine":  # as deepgen: half a cosine down to a tenth over the planned steps
            for group in opt.param_groups:
                group["lr"] = args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / end_step)))
        if step % per_epoch == 0:
            order = torch.randperm(len(x))
        batch = order[(step % per_epoch) * args.batch_size:(step % per_epoch + 1) * args.batch_size]
        loss = batch_loss(net, x[batch]) if labels is None else batch_loss(net, x[batch], labels[batch])
        opt.zero_grad(); loss.backward(); opt.step()
        step += 1
        if step % 50 == 0:
            log.write(json.dumps({"step": step, "seconds": time.time() - started, "loss": loss.item()}) + "\n"); log.flush()
        minutes = (time.time() - started) / 60
        if args.snapshot_minutes and minutes >= next_snapshot:
            save_run(net, os.path.join(args.out, "snapshots", f"{next_snapshot:06.2f}min"), args, step, time.time() - started)
            next_snapshot += args.snapshot_minutes
    seconds = time.time() - started
    save_run(net, args.out, args, step, seconds)
    print(f"{step} steps in {seconds / 60:.1f} min ({step / seconds:.2f} steps/s) -> {args.out}")


def binary_loss(net, images, labels=None):
    """Nats per image of a fresh binarisation of the images (dynamic binarisation), of their
    classes' conditionals when labels are given."""
    batch = torch.bernoulli(images)
    logits = net(batch) if labels is None else net(batch, labels)
    return F.binary_cross_entropy_with_logits(logits, batch, reduction="sum") / batch.shape[0]


def categorical_loss(net, images):
    """Nats per image of the 8-bit values under the 256-way softmax."""
    return F.cross_entropy(net(images), (images[:, 0] * 255).round().long(), reduction="sum") / images.shape[0]


def main():
    p = argparse.ArgumentParser()
    add_run_arguments(p)
    p.add_argument("--model", choices=["pixelcnn", "gated-pixelcnn", "row-lstm", "diagonal-bilstm"], default="pixelcnn")
    p.add_argument("--features", type=int, default=64)
    p.add_argument("--layers", type=int, default=7)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--epochs", type=int, default=None, help="planned epochs: the run ends there, and the cosine schedule's length")
    p.add_argument("--steps", type=int, default=None, help="planned steps, instead of --epochs")
    p.add_argument("--likelihood", choices=["bernoulli", "categorical"], default="bernoulli", help="categorical: pixelcnn only")
    p.add_argument("--classes", type=int, default=0, help="class-conditional (gated-pixelcnn): the labels' classes")
    p.add_argument("--label-maps", type=int, default=0, help="channels of a learned map per class (gated-pixelcnn with --classes)")
    args = p.parse_args()
    if args.label_maps and not args.classes:
        p.error("--label-maps needs --classes")
    if args.classes and args.model != "gated-pixelcnn":
        p.error("--classes is for --model gated-pixelcnn")
    if args.lr_schedule == "cosine" and args.epochs is None and args.steps is None:
        p.error("--lr-schedule cosine needs --epochs or --steps")
    if args.epochs is not None and args.steps is not None:
        p.error("give --epochs or --steps, not both")
    if args.likelihood == "categorical" and args.model != "pixelcnn":
        p.error("--likelihood categorical is for --model pixelcnn")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    x = torch.from_numpy(read_idx(os.path.join(args.data, "train-images-idx3-ubyte")).astype(np.float32) / 255).unsqueeze(1)
    levels = 256 if args.likelihood == "categorical" else 1
    net = {"pixelcnn": lambda: PixelCNN(args.features, args.layers, 7, levels), "gated-pixelcnn": lambda: GatedPixelCNN(args.features, args.layers, 7, args.classes, args.label_maps),
           "row-lstm": lambda: PixelRNN(True, args.features, args.layers, 7),
           "diagonal-bilstm": lambda: PixelRNN(False, args.features, args.layers, 7)}[args.model]()
    end_step = args.steps if args.epochs is None else args.epochs * (len(x) // args.batch_size)
    labels = None
    if args.classes:
        labels = torch.from_numpy(read_idx(os.path.join(args.data, "train-labels-idx1-ubyte")).astype(np.int64))
    train(net, x, args, end_step, categorical_loss if levels > 1 else binary_loss, save_run, labels=labels)

if __name__ == "__main__":
    main()
