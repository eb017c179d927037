"""The GANs of `deepgen train dcgan|gan|wgan|wgan-gp` in PyTorch, to tell the architecture and
budget from our implementation at equal wall time:
- dcgan: the same networks (`--features` F: G z -> 2F x 7 x 7 -> F x 14 x 14 -> 1 x 28 x 28, D
  mirrored), DCGAN initialisation, non-saturating loss, Adam 2e-4 (0.5, 0.999);
- gan: Goodfellow et al.'s perceptrons with LeakyReLU(0.2) (G z -> 256 -> 512 -> 1024 -> 784,
  D 784 -> 512 -> 256 -> 1), PyTorch's default initialisation, the same loss and Adam;
- wgan: the DCGAN networks as a critic, RMSProp 5e-5, weights clipped to 0.01 after each critic
  update, G updated every 5th;
- wgan-gp: the critic without BatchNorm (biased convolution instead), Adam 1e-4 (0, 0.9), the
  gradient penalty of weight 10 at random interpolates, G updated every 5th.
As in deepgen, a step is one update of D on one batch. `--average DECAY` samples from a moving
average of G's weights (written as G). MNIST in [-1, 1] shuffled every epoch. Stops after
`--steps` or `--minutes`; the run directory carries deepgen's tensor names and config.json, so
`deepgen eval DIR --metric fid` samples it with our own code.

    python scripts/torch/dcgan.py --out runs/torch-dcgan --features 32 --steps 21715 --threads 1 --data data

`--lr`, `--critic-steps`, `--refining-layers`, `--label-smoothing` and `--discriminator-dropout`
change the recipe as the same flags of `deepgen train` do; the average's BatchNorm statistics are
measured on its own activations, as deepgen's are.
"""
import copy
import argparse, json, os, sys, time

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from vae import read_idx, write_run  # noqa: E402


def perceptrons(latent=100, dropout=0.0):
    g = nn.Sequential(nn.Linear(latent, 256), nn.LeakyReLU(0.2), nn.Linear(256, 512), nn.LeakyReLU(0.2),
                      nn.Linear(512, 1024), nn.LeakyReLU(0.2), nn.Linear(1024, 784), nn.Tanh(), nn.Unflatten(1, (1, 28, 28)))
    # deepgen's D: Flatten, Linear, LeakyReLU, (Dropout), Linear, LeakyReLU, (Dropout), Linear
    drop = lambda: [nn.Dropout(dropout)] if dropout > 0 else []
    d = nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.LeakyReLU(0.2), *drop(), nn.Linear(512, 256), nn.LeakyReLU(0.2),
                      *drop(), nn.Linear(256, 1))
    return g, d


def measure_statistics(average):
    """The averaged G's BatchNorm statistics measured on its own activations, as deepgen's: from
    zero, 64 batches of 128 codes of a fixed seed at momentum 0.1 (G's running statistics belong
    to G's weights, not to their average)."""
    norms = [m for m in average.modules() if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d))]
    if not norms: return
    state = torch.random.get_rng_state()
    torch.manual_seed(0)
    with torch.no_grad():
        for m in norms: m.running_mean.zero_(); m.running_var.zero_()
        average.train()
        for _ in range(64): average(torch.randn(128, 100))
        average.eval()
    torch.random.set_rng_state(state)


def networks(f, latent=100, critic_batch_norm=True, refining=0):
    """deepgen's DCGAN layer for layer (so the state dicts share names), with `refining` stride-1 3x3
    convolutions (normalised or biased, activated) at each inner resolution of G and D."""
    def refine(maps, normalised, activation):
        layers = []
        for _ in range(refining):
            layers += [nn.Conv2d(maps, maps, 3, 1, 1, bias=not normalised)] + ([nn.BatchNorm2d(maps)] if normalised else []) + [activation()]
        return layers
    leaky = lambda: nn.LeakyReLU(0.2)
    g = nn.Sequential(nn.Linear(latent, 2 * f * 49, bias=False), nn.BatchNorm1d(2 * f * 49), nn.ReLU(), nn.Unflatten(1, (2 * f, 7, 7)),
                      *refine(2 * f, True, nn.ReLU),
                      nn.ConvTranspose2d(2 * f, f, 4, 2, 1, bias=False), nn.BatchNorm2d(f), nn.ReLU(),
                      *refine(f, True, nn.ReLU),
                      nn.ConvTranspose2d(f, 1, 4, 2, 1), nn.Tanh())
    middle = [nn.Conv2d(f, 2 * f, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * f)] if critic_batch_norm else [nn.Conv2d(f, 2 * f, 4, 2, 1)]
    d = nn.Sequential(nn.Conv2d(1, f, 4, 2, 1), leaky(), *refine(f, critic_batch_norm, leaky), *middle, leaky(),
                      *refine(2 * f, critic_batch_norm, leaky), nn.Flatten(), nn.Linear(2 * f * 49, 1))
    for m in list(g.modules()) + list(d.modules()):
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0, 0.02)
            if m.bias is not None: nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1, 0.02); nn.init.zeros_(m.bias)
    return g, d


def save_run(g, d, directory, args, step, seconds):
    tensors = {}
    for prefix, net in (("generator", g), ("discriminator", d)):
        for name, t in net.state_dict().items():
            if name.endswith("num_batches_tracked"): continue
            tensors[f"{prefix}.layers.{name}"] = t.detach().float().contiguous()
        for i, m in enumerate(net):   # deepgen's Dropout counts its calls (its masks' stream)
            if isinstance(m, nn.Dropout): tensors[f"{prefix}.layers.{i}.calls"] = torch.zeros(())
    recipe = RECIPES[args.model]
    config = {"format": 1, "model": args.model, "dataset": "mnist", "imageShape": [1, 28, 28],
              "training": {"batchSize": args.batch_size, "seed": args.seed, "logEvery": 50, "sampleEvery": 1000, "checkpointEvery": 1000},
              "gan": {"architecture": "mlp" if args.model == "gan" else "dcgan", "loss": recipe["loss"], "latentDimension": 100,
                      "criticSteps": args.critic_steps, "learningRate": args.lr, "clip": 0.01, "penaltyWeight": 10,
                      "features": args.features, "refiningLayers": args.refining_layers,
                      "labelSmoothing": args.label_smoothing, "discriminatorDropout": args.discriminator_dropout}}
    write_run(directory, tensors, config, step, seconds)


RECIPES = {
    "dcgan": {"loss": "non-saturating", "critic_steps": 1, "lr": 2e-4},
    "gan": {"loss": "non-saturating", "critic_steps": 1, "lr": 2e-4},
    "wgan": {"loss": "wasserstein", "critic_steps": 5, "lr": 5e-5},
    "wgan-gp": {"loss": "wasserstein-gp", "critic_steps": 5, "lr": 1e-4},
}


def critic_loss(model, d, real, fake, smoothing=0.0):
    if model in ("dcgan", "gan"):   # one-sided label smoothing: the real images' target is 1 - smoothing
        real_scores = d(real)
        real_term = (1 - smoothing) * F.softplus(-real_scores) + smoothing * F.softplus(real_scores)
        return real_term.mean() + F.softplus(d(fake)).mean()
    loss = d(fake).mean() - d(real).mean()
    if model == "wgan-gp":
        e = torch.rand(real.shape[0], 1, 1, 1)
        x = (e * real + (1 - e) * fake).requires_grad_(True)
        (g,) = torch.autograd.grad(d(x).sum(), x, create_graph=True)
        loss = loss + 10 * ((g.flatten(1).pow(2).sum(1) + 1e-12).sqrt() - 1).pow(2).mean()
    return loss


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", choices=sorted(RECIPES), default="dcgan")
    p.add_argument("--average", type=float, default=0, help="decay of the moving average of G that is saved (0: G as trained)")
    p.add_argument("--out", required=True)
    p.add_argument("--features", type=int, default=64)
    p.add_argument("--refining-layers", type=int, default=0, help="3x3 convolutions at each inner resolution (deepgen's --refining-layers)")
    p.add_argument("--lr", type=float, help="the learning rate of both (default: the recipe's)")
    p.add_argument("--critic-steps", type=int, help="critic updates per update of G (default: the recipe's)")
    p.add_argument("--label-smoothing", type=float, default=0.0, help="one-sided: the real images' target is 1 - this")
    p.add_argument("--discriminator-dropout", type=float, default=0.0, help="dropout after the MLP D's hidden layers (gan)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--steps", type=int, default=10 ** 9)
    p.add_argument("--minutes", type=float, default=45)
    p.add_argument("--snapshot-minutes", type=float, default=0, help="a copy of the run every so many minutes, for a curve")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--data", default=os.environ.get("DEEPGEN_DATA", "data"))
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    x = torch.from_numpy(read_idx(os.path.join(args.data, "train-images-idx3-ubyte")).astype(np.float32) / 255 * 2 - 1).unsqueeze(1)
    recipe = RECIPES[args.model]
    args.lr = args.lr or recipe["lr"]
    args.critic_steps = args.critic_steps or recipe["critic_steps"]
    g, d = perceptrons(dropout=args.discriminator_dropout) if args.model == "gan" else networks(
        args.features, critic_batch_norm=args.model != "wgan-gp", refining=args.refining_layers)
    if args.model == "wgan":
        opt_g, opt_d = (torch.optim.RMSprop(n.parameters(), lr=args.lr) for n in (g, d))
    else:
        betas = (0.0, 0.9) if args.model == "wgan-gp" else (0.5, 0.999)
        opt_g, opt_d = (torch.optim.Adam(n.parameters(), lr=args.lr, betas=betas) for n in (g, d))
    average = copy.deepcopy(g) if args.average > 0 else None
    started, step, per_epoch = time.time(), 0, len(x) // args.batch_size
    os.makedirs(args.out, exist_ok=True)
    log = open(os.path.join(args.out, "log.jsonl"), "w")
    next_snapshot = args.snapshot_minutes
    while step < args.steps and time.time() - started < 60 * args.minutes:
        if step % per_epoch == 0: order = torch.randperm(len(x))
        real = x[order[(step % per_epoch) * args.batch_size:(step % per_epoch + 1) * args.batch_size]]
        fake = g(torch.randn(args.batch_size, 100)).detach()
        loss_d = critic_loss(args.model, d, real, fake, args.label_smoothing)
        opt_d.zero_grad(); loss_d.backward(); opt_d.step()
        if args.model == "wgan":
            with torch.no_grad():
                for w in d.parameters(): w.clamp_(-0.01, 0.01)
        step += 1
        if step % args.critic_steps == 0:
            scores = d(g(torch.randn(args.batch_size, 100)))
            loss_g = F.softplus(-scores).mean() if args.model in ("dcgan", "gan") else -scores.mean()
            opt_g.zero_grad(); loss_g.backward(); opt_g.step()
            if average is not None:
                t = step // args.critic_steps   # G's updates: the decay ramps up as deepgen's
                decay = min(args.average, (1 + t) / (10 + t))
                with torch.no_grad():
                    for a, w in zip(average.parameters(), g.parameters()): a.mul_(decay).add_(w, alpha=1 - decay)
        if step % 500 == 0:
            log.write(json.dumps({"step": step, "seconds": time.time() - started, "loss_d": loss_d.item(), "loss_g": loss_g.item()}) + "\n"); log.flush()
        if args.snapshot_minutes and (time.time() - started) / 60 >= next_snapshot:
            if average is not None: measure_statistics(average)
            save_run(average if average is not None else g, d, os.path.join(args.out, "snapshots", f"{next_snapshot:06.2f}min"),
                     args, step, time.time() - started)
            next_snapshot += args.snapshot_minutes
    seconds = time.time() - started
    if average is not None: measure_statistics(average)
    save_run(average if average is not None else g, d, args.out, args, step, seconds)
    print(f"{step} steps in {seconds / 60:.1f} min ({step / seconds:.1f} steps/s) -> {args.out}")


if __name__ == "__main__":
    main()
