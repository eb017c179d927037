"""The StyleGAN of `deepgen train stylegan` in PyTorch, to tell the architecture and budget from our
implementation at equal wall time: the same generator (mapping MLP with rate multiplier 0.01,
learned 4x4 constant, modulated and demodulated 3x3 convolutions in the non-fused form, noise
with per-channel strengths, skip toRGBs), the same residual discriminator with the minibatch
deviation, equalized learning rate everywhere, the non-saturating loss, lazy R1 every 16 steps,
style mixing with probability 0.9, Adam (0, 0.99), the w average and the weight average.
Data: MNIST padded to 32 px (`mnist32`) in [-1, 1], shuffled every epoch. The run directory
carries deepgen's tensor names and config.json, so `deepgen eval DIR --metric fid` samples its
averaged generator with our own code; `--snapshot-minutes` keeps copies for a curve.

    python scripts/torch/stylegan.py --out runs/torch-stylegan --features 64 --batch-size 32 --minutes 60 --threads 1
"""
import argparse, json, math, os, sys, time

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from vae import read_idx, write_run  # noqa: E402

SQRT2 = math.sqrt(2)


def act(x):  # LeakyReLU(0.2) times sqrt(2)
    return F.leaky_relu(x, 0.2) * SQRT2


def up(x):  # nearest-neighbour doubling
    return x.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)


def down(x):  # 2x2 average
    return F.avg_pool2d(x, 2)


class EqLinear(nn.Module):
    def __init__(self, i, o, bias_init=0.0, lrmul=1.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(o, i) / lrmul)
        self.bias = nn.Parameter(torch.full((o,), bias_init / lrmul))
        self.scale, self.lrmul = lrmul / math.sqrt(i), lrmul

    def forward(self, x):
        return F.linear(x, self.weight * self.scale, self.bias * self.lrmul)


class EqConv(nn.Module):
    def __init__(self, i, o, k):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(o, i, k, k))
        self.bias = nn.Parameter(torch.zeros(o))
        self.scale = 1 / math.sqrt(i * k * k)

    def forward(self, x):
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.weight.shape[2] // 2)


class ModConv(nn.Module):
    def __init__(self, i, o, k, style, demodulate=True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(o, i, k, k))
        self.affine = EqLinear(style, i, bias_init=1.0)
        self.demodulate, self.scale = demodulate, 1 / math.sqrt(i * k * k)

    def forward(self, x, w):
        s = self.affine(w)
        kernel = self.weight * self.scale
        y = F.conv2d(x * s[:, :, None, None], kernel, padding=kernel.shape[2] // 2)
        if not self.demodulate:
            return y
        coefficients = (F.linear(s.square(), kernel.square().sum((2, 3))) + 1e-8).rsqrt()
        return y * coefficients[:, :, None, None]


class StyleConv(nn.Module):
    def __init__(self, i, o, style, upsample, size):
        super().__init__()
        self.convolution = ModConv(i, o, 3, style)
        self.noise_strength = nn.Parameter(torch.zeros(1, o, 1, 1))
        self.bias = nn.Parameter(torch.zeros(1, o, 1, 1))
        self.register_buffer("fixed_noise", torch.randn(1, 1, size, size))
        self.upsample = upsample

    def forward(self, x, w):
        y = self.convolution(up(x) if self.upsample else x, w)
        noise = torch.randn(y.shape[0], 1, y.shape[2], y.shape[3])
        return act(y + self.noise_strength * noise + self.bias)


class Generator(nn.Module):
    def __init__(self, f, size, latent=128, style=128, mapping=8, minimum=16):
        super().__init__()
        width = lambda r: max(minimum, f >> (int(math.log2(r)) - 2))
        resolutions = [4 * 2 ** i for i in range(int(math.log2(size)) - 1)]
        self.mapping = nn.ModuleList([EqLinear(latent if i == 0 else style, style, lrmul=0.01) for i in range(mapping)])
        self.constant = nn.Parameter(torch.randn(1, width(4), 4, 4))
        convs = [StyleConv(width(4), width(4), style, False, 4)]
        for r in resolutions[1:]:
            convs += [StyleConv(width(r // 2), width(r), style, True, r), StyleConv(width(r), width(r), style, False, r)]
        self.convolutions = nn.ModuleList(convs)
        self.to_rgb = nn.ModuleList([ModConv(width(r), 1, 1, style, demodulate=False) for r in resolutions])
        self.rgb_biases = nn.ParameterList([nn.Parameter(torch.zeros(1, 1, 1, 1)) for _ in resolutions])
        self.register_buffer("average_style", torch.zeros(style))
        self.style_count = len(convs) + 1

    def map(self, z):
        h = z * (z.square().mean(1, keepdim=True) + 1e-8).rsqrt()
        for layer in self.mapping:
            h = act(layer(h))
        return h

    def synthesize(self, styles):  # styles [N, style_count, D]
        x = self.convolutions[0](self.constant.expand(styles.shape[0], -1, -1, -1), styles[:, 0])
        image = self.to_rgb[0](x, styles[:, 1]) + self.rgb_biases[0]
        for level in range(1, len(self.to_rgb)):
            x = self.convolutions[2 * level - 1](x, styles[:, 2 * level - 1])
            x = self.convolutions[2 * level](x, styles[:, 2 * level])
            image = up(image) + self.to_rgb[level](x, styles[:, 2 * level + 1]) + self.rgb_biases[level]
        return image


class Block(nn.Module):
    def __init__(self, i, o):
        super().__init__()
        self.first, self.second, self.shortcut = EqConv(i, i, 3), EqConv(i, o, 3), EqConv(i, o, 1)

    def forward(self, x):
        return (down(act(self.second(act(self.first(x))))) + self.shortcut(down(x))) * math.sqrt(0.5)


class Discriminator(nn.Module):
    def __init__(self, f, size, minimum=16):
        super().__init__()
        width = lambda r: max(minimum, f >> (int(math.log2(r)) - 2))
        self.from_rgb = EqConv(1, width(size), 1)
        sizes, r = [], size
        while r > 4:
            sizes.append(r); r //= 2
        self.blocks = nn.ModuleList([Block(width(r), width(r // 2)) for r in sizes])
        self.final = EqConv(width(4) + 1, width(4), 3)
        self.dense = EqLinear(width(4) * 16, width(4))
        self.output = EqLinear(width(4), 1)

    def forward(self, x):
        h = act(self.from_rgb(x))
        for block in self.blocks:
            h = block(h)
        n = h.shape[0]
        group = min(4, n)
        while n % group:
            group -= 1
        grouped = h.reshape(group, n // group, *h.shape[1:])   # image i in column i % (n / group)
        deviation = ((grouped - grouped.mean(0, keepdim=True)).square().mean(0) + 1e-8).sqrt().flatten(1).mean(1)
        deviation = deviation.repeat(group)[:, None, None, None].expand(n, 1, h.shape[2], h.shape[3])
        h = act(self.final(torch.cat([h, deviation], 1)))
        return self.output(act(self.dense(h.flatten(1)))).reshape(-1)


def styles(g, n, mixing=0.9):
    w = g.map(torch.randn(n, 128))
    s = w[:, None].expand(n, g.style_count, w.shape[1])
    if np.random.rand() < mixing:
        other = g.map(torch.randn(n, 128))[:, None].expand_as(s)
        crossover = 1 + np.random.randint(g.style_count - 1)
        s = torch.cat([s[:, :crossover], other[:, crossover:]], 1)
    return s, w


def save_run(g, ema, d, directory, args, step, seconds):
    tensors = {}
    for prefix, net in (("generator", g), ("averaged", ema), ("discriminator", d)):
        for name, t in net.state_dict().items():
            tensors[f"{prefix}.{name}"] = t.detach().float().contiguous().clone()
    config = {"format": 1, "model": "stylegan", "dataset": "mnist32", "imageShape": [1, 32, 32],
              "training": {"batchSize": args.batch_size, "seed": args.seed, "logEvery": 50, "sampleEvery": 500, "checkpointEvery": 500},
              "stylegan": {"averageHalfLife": 10000, "learningRate": args.lr, "mixingProbability": 0.9, "r1Gamma": args.r1_gamma,
                           "r1Interval": 16, "truncation": 1,
                           "generator": {"features": args.features, "latentDimension": 128, "mappingLayers": 8,
                                         "minimumFeatures": 16, "styleDimension": 128}}}
    write_run(directory, tensors, config, step, seconds)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--features", type=int, default=128)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--r1-gamma", type=float, default=1.0)
    p.add_argument("--steps", type=int, default=10 ** 9)
    p.add_argument("--minutes", type=float, default=60)
    p.add_argument("--snapshot-minutes", type=float, default=0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--data", default=os.environ.get("DEEPGEN_DATA", "data"))
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed); np.random.seed(args.seed)
    images = read_idx(os.path.join(args.data, "train-images-idx3-ubyte")).astype(np.float32) / 255 * 2 - 1
    x = F.pad(torch.from_numpy(images).unsqueeze(1), (2, 2, 2, 2), value=-1.0)
    g, d = Generator(args.features, 32), Discriminator(args.features, 32)
    ema = Generator(args.features, 32)
    ema.load_state_dict(g.state_dict())
    opt_g = torch.optim.Adam(g.parameters(), lr=args.lr, betas=(0.0, 0.99), eps=1e-8)
    opt_d = torch.optim.Adam(d.parameters(), lr=args.lr, betas=(0.0, 0.99), eps=1e-8)
    started, step, per_epoch = time.time(), 0, len(x) // args.batch_size
    next_snapshot = args.snapshot_minutes
    os.makedirs(args.out, exist_ok=True)
    log = open(os.path.join(args.out, "log.jsonl"), "w")
    while step < args.steps and time.time() - started < 60 * args.minutes:
        if step % per_epoch == 0:
            order = torch.randperm(len(x))
        real = x[order[(step % per_epoch) * args.batch_size:(step % per_epoch + 1) * args.batch_size]]
        n = real.shape[0]
        with torch.no_grad():
            fake = g.synthesize(styles(g, n)[0])
        loss_d = F.softplus(d(fake)).mean() + F.softplus(-d(real)).mean()
        total = loss_d
        if step % 16 == 0:   # lazy R1 on real images, weighted by the interval
            r = real.detach().requires_grad_()
            grad, = torch.autograd.grad(d(r).sum(), r, create_graph=True)
            total = total + 16 * args.r1_gamma / 2 * grad.square().flatten(1).sum(1).mean()
        opt_d.zero_grad(); total.backward(); opt_d.step()
        s, w = styles(g, n)
        d.requires_grad_(False)   # G's step needs no gradients of D's weights
        loss_g = F.softplus(-d(g.synthesize(s))).mean()
        opt_g.zero_grad(); loss_g.backward(); opt_g.step()
        d.requires_grad_(True)
        with torch.no_grad():
            g.average_style.mul_(0.995).add_(w.mean(0) * 0.005)
            half_life = min(10000, 0.05 * (step + 1) * n)   # ramped up, as deepgen's
            beta = 0.5 ** (n / half_life)
            for a, b in zip(ema.parameters(), g.parameters()):
                a.mul_(beta).add_(b * (1 - beta))
            ema.average_style.copy_(g.average_style)
        step += 1
        if step % 50 == 0:
            log.write(json.dumps({"step": step, "seconds": time.time() - started, "loss_d": loss_d.item(), "loss_g": loss_g.item()}) + "\n"); log.flush()
        minutes = (time.time() - started) / 60
        if args.snapshot_minutes and minutes >= next_snapshot:
            save_run(g, ema, d, os.path.join(args.out, "snapshots", f"{next_snapshot:06.2f}min"), args, step, time.time() - started)
            next_snapshot += args.snapshot_minutes
    seconds = time.time() - started
    save_run(g, ema, d, args.out, args, step, seconds)
    print(f"{step} steps in {seconds / 60:.1f} min ({step / seconds:.1f} steps/s) -> {args.out}")


if __name__ == "__main__":
    main()
