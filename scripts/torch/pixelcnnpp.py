"""The PixelCNN++ of `deepgen train pixelcnn++ --dataset mnist` (8-bit grey) in PyTorch, to tell the
architecture and budget from our implementation at equal wall time.

Two streams: `down` (convolutions padded above and at both sides, shifted down a row) and
`down-right` (padded above and on the left, adding the first stream's view of the row above).
Gated ResNet blocks x + a * sigmoid(b), (a, b) from two shifted convolutions of concat_elu, the
second seeing a 1x1 of an auxiliary input (the other stream, or the short-cut from the way
down). Three resolutions: stride-2 shifted convolutions down, stride-2 transposed convolutions
cropped to 2H x 2W back up, `layers` blocks per level on the way up and `layers + 1` (the first
level `layers`) on the way down. A channel of ones beside the image marks the padding. Every
convolution is weight-normalised (gain * v / |v| per output channel) and initialised from the
first 100 training images, in the order the pass reaches it. Discretised logistic mixture, 10
components; log scales floored at -7; edge bins take the tails.
Data: the 8-bit MNIST training images, shuffled every epoch; Adam 1e-3, optionally a cosine to
a tenth over --steps. The run directory carries deepgen's tensor names and config.json, so
`deepgen eval DIR --metric bpd` measures it with our evaluator; `--snapshot-minutes` keeps copies.

    python scripts/torch/pixelcnnpp.py --features 32 --layers 1 --out runs/torch-pixelcnnpp --minutes 90 --threads 1
"""
import argparse, math, os, re, sys, time

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from pixelcnn import add_run_arguments, train  # noqa: E402
from vae import read_idx, write_run  # noqa: E402

LEVELS = 3


class ShiftedConv(nn.Module):
    def __init__(self, i, o, kernel, direction, stride=1, transposed=False, init_scale=1.0):
        super().__init__()
        shape = (i, o) + kernel if transposed else (o, i) + kernel
        self.weight = nn.Parameter(torch.randn(shape) * 0.05)
        self.gain = nn.Parameter(torch.ones(o))
        self.bias = nn.Parameter(torch.zeros(o))
        self.kernel, self.down, self.stride, self.transposed, self.init_scale = kernel, direction == "down", stride, transposed, init_scale
        self.initializes_from_next_input = False

    def normalized_weight(self):
        v, out_axis = self.weight, 1 if self.transposed else 0
        scale = self.gain / v.pow(2).sum([a for a in range(4) if a != out_axis]).sqrt()
        return v * (scale.view(1, -1, 1, 1) if self.transposed else scale.view(-1, 1, 1, 1))

    def convolve(self, x):
        (kh, kw), w = self.kernel, self.normalized_weight()
        if not self.transposed:
            left = (kw - 1) // 2 if self.down else kw - 1
            right = left if self.down else 0
            return F.conv2d(F.pad(x, (left, right, kh - 1, 0)), w, self.bias, stride=self.stride)
        crop, (h, width) = ((kw - 1) // 2 if self.down else 0), (x.shape[2] * self.stride, x.shape[3] * self.stride)
        return F.conv_transpose2d(x, w, self.bias, stride=self.stride)[:, :, :h, crop:crop + width]

    def forward(self, x):
        if self.initializes_from_next_input:
            self.initializes_from_next_input = False
            with torch.no_grad():
                self.gain.fill_(1)
                self.bias.zero_()
                y = self.convolve(x)
                scale = self.init_scale / (y.var((0, 2, 3), unbiased=False) + 1e-10).sqrt()
                self.gain.copy_(scale)
                self.bias.copy_(-y.mean((0, 2, 3)) * scale)
        return self.convolve(x)


def concat_elu(x):
    return torch.cat([F.elu(x), F.elu(-x)], 1)


def shift_down(x):
    return F.pad(x, (0, 0, 1, 0))[:, :, :-1]


def shift_right(x):
    return F.pad(x, (1, 0))[:, :, :, :-1]


class GatedResidual(nn.Module):
    def __init__(self, f, direction, auxiliary, dropout):
        super().__init__()
        kernel = (2, 3) if direction == "down" else (2, 2)
        self.first = ShiftedConv(2 * f, f, kernel, direction)
        self.auxiliary = ShiftedConv(2 * auxiliary, f, (1, 1), "down") if auxiliary else None
        self.dropout = nn.Dropout(dropout)
        self.second = ShiftedConv(2 * f, 2 * f, kernel, direction, init_scale=0.1)

    def forward(self, x, a=None):
        c = self.first(concat_elu(x))
        if a is not None:
            c = c + self.auxiliary(concat_elu(a))
        return x + F.glu(self.second(self.dropout(concat_elu(c))), 1)


class PixelCNNPlusPlus(nn.Module):
    def __init__(self, f, r, components, dropout):
        super().__init__()
        self.r = r
        blocks = lambda count, direction, auxiliary: nn.ModuleList(GatedResidual(f, direction, auxiliary, dropout) for _ in range(count))
        self.first_down = ShiftedConv(2, f, (2, 3), "down")
        self.first_down_for_left = ShiftedConv(2, f, (1, 3), "down")
        self.first_down_right = ShiftedConv(2, f, (2, 1), "down-right")
        self.up_down = blocks(LEVELS * r, "down", 0)
        self.up_down_right = blocks(LEVELS * r, "down-right", f)
        self.downsample_down = nn.ModuleList(ShiftedConv(f, f, (2, 3), "down", 2) for _ in range(LEVELS - 1))
        self.downsample_down_right = nn.ModuleList(ShiftedConv(f, f, (2, 2), "down-right", 2) for _ in range(LEVELS - 1))
        self.down_down = blocks(LEVELS * r + LEVELS - 1, "down", f)
        self.down_down_right = blocks(LEVELS * r + LEVELS - 1, "down-right", 2 * f)
        self.upsample_down = nn.ModuleList(ShiftedConv(f, f, (2, 3), "down", 2, True) for _ in range(LEVELS - 1))
        self.upsample_down_right = nn.ModuleList(ShiftedConv(f, f, (2, 2), "down-right", 2, True) for _ in range(LEVELS - 1))
        self.output = ShiftedConv(f, 3 * components, (1, 1), "down")

    def initialize(self, images):
        """Salimans & Kingma's data-dependent initialisation, as deepgen's."""
        convolutions = [m for m in self.modules() if isinstance(m, ShiftedConv)]
        for c in convolutions:
            c.initializes_from_next_input = True
        with torch.no_grad():
            self(images)
        assert not any(c.initializes_from_next_input for c in convolutions)

    def forward(self, images):
        x = torch.cat([images * 2 - 1, torch.ones_like(images)], 1)
        us = [shift_down(self.first_down(x))]
        uls = [shift_down(self.first_down_for_left(x)) + shift_right(self.first_down_right(x))]
        block = 0
        for level in range(LEVELS):
            for _ in range(self.r):
                us.append(self.up_down[block](us[-1]))
                uls.append(self.up_down_right[block](uls[-1], us[-1]))
                block += 1
            if level < LEVELS - 1:
                us.append(self.downsample_down[level](us[-1]))
                uls.append(self.downsample_down_right[level](uls[-1]))
        u, ul, block = us.pop(), uls.pop(), 0
        for level in range(LEVELS):
            for _ in range(self.r if level == 0 else self.r + 1):
                u = self.down_down[block](u, us.pop())
                ul = self.down_down_right[block](ul, torch.cat([u, uls.pop()], 1))
                block += 1
            if level < LEVELS - 1:
                u = self.upsample_down[level](u)
                ul = self.upsample_down_right[level](ul)
        return self.output(F.elu(ul))


def log_likelihood(p, images, k):
    """log P(images) per image in nats, images [N, 1, H, W] with values v / 255."""
    x = images * 2 - 1
    logits, means, log_scales = p[:, :k], p[:, k:2 * k], p[:, 2 * k:3 * k].clamp(min=-7)
    centred, inverse_scale = x - means, torch.exp(-log_scales)
    plus, minus = inverse_scale * (centred + 1 / 255), inverse_scale * (centred - 1 / 255)
    log_cdf_plus = plus - F.softplus(plus)
    log_one_minus_cdf_minus = -F.softplus(minus)
    delta = torch.sigmoid(plus) - torch.sigmoid(minus)
    middle = inverse_scale * centred
    log_density_times_width = middle - log_scales - 2 * F.softplus(middle) - math.log(127.5)
    inner = torch.where(delta > 1e-5, torch.log(delta.clamp(min=1e-12)), log_density_times_width)
    per_component = torch.where(x < -0.999, log_cdf_plus, torch.where(x > 0.999, log_one_minus_cdf_minus, inner))
    return torch.logsumexp(per_component + F.log_softmax(logits, 1), 1).flatten(1).sum(1)


def our_name(name):
    """up_down_right.0.first.weight -> network.up_down_right.0.first.weight."""
    return "network." + name


def save_run(net, directory, args, step, seconds):
    tensors = {our_name(k): v.detach().float().contiguous().clone() for k, v in net.state_dict().items()}
    tensors["network.initialized"] = torch.ones(1)
    for name in list(tensors):   # deepgen's dropout counts its calls (a buffer); 0 here
        match = re.match(r"(network\.(up|down)_down(_right)?\.\d+)\.first\.weight$", name)
        if match:
            tensors[match.group(1) + ".dropout.calls"] = torch.zeros(())
    config = {"format": 1, "model": "pixelcnn++", "dataset": "mnist", "imageShape": [1, 28, 28],
              "training": dict({"batchSize": args.batch_size, "seed": args.seed, "logEvery": 50, "sampleEvery": 500, "checkpointEvery": 500,
                                "learningRateSchedule": args.lr_schedule, "minutes": args.minutes},
                               **({"steps": args.steps} if args.steps else {}),
                               **({"snapshotMinutes": args.snapshot_minutes} if args.snapshot_minutes else {})),
              "pixelcnn": {"classes": 0, "components": args.components, "dropout": args.dropout, "features": args.features,
                           "firstKernel": 7, "layers": args.layers, "learningRate": args.lr, "likelihood": "logistic-mixture"}}
    write_run(directory, tensors, config, step, seconds)


def main():
    p = argparse.ArgumentParser()
    add_run_arguments(p)
    p.add_argument("--features", type=int, default=32)
    p.add_argument("--layers", type=int, default=1, help="gated ResNet blocks per level")
    p.add_argument("--components", type=int, default=10)
    p.add_argument("--dropout", type=float, default=0)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--steps", type=int, default=None, help="planned steps: the run ends there, and the cosine schedule's length")
    args = p.parse_args()
    if args.lr_schedule == "cosine" and args.steps is None:
        p.error("--lr-schedule cosine needs --steps")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    values = read_idx(os.path.join(args.data, "train-images-idx3-ubyte")).astype(np.float32)
    x = torch.from_numpy(values * np.float32(1 / 255)).unsqueeze(1)   # as deepgen: k * (1/255)
    net = PixelCNNPlusPlus(args.features, args.layers, args.components, args.dropout)
    started = time.time()   # the data-dependent initialisation counts, as in deepgen's budget
    net.initialize(x[:100])
    train(net, x, args, args.steps, lambda net, batch: -log_likelihood(net(batch), batch, args.components).mean(), save_run, started)

if __name__ == "__main__":
    main()
