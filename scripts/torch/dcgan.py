"""The DCGAN of `deepgen train dcgan` in PyTorch, to tell the architecture and budget from our
implementation: same networks (`--features` F: G z -> 2F x 7 x 7 -> F x 14 x 14 -> 1 x 28 x 28,
D mirrored), DCGAN initialisation, non-saturating loss, Adam 2e-4 (0.5, 0.999), MNIST in [-1, 1]
shuffled every epoch. Stops after `--steps` or `--minutes`; the run directory carries deepgen's
tensor names and config.json, so `deepgen eval DIR --metric fid` samples it with our own code.

    python scripts/torch/dcgan.py --out runs/torch-dcgan --features 32 --steps 21715 --threads 1 --data data
"""
import argparse, json, os, sys, time

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from vae import read_idx, write_run  # noqa: E402


def networks(f, latent=100):
    g = nn.Sequential(nn.Linear(latent, 2 * f * 49, bias=False), nn.BatchNorm1d(2 * f * 49), nn.ReLU(), nn.Unflatten(1, (2 * f, 7, 7)),
                      nn.ConvTranspose2d(2 * f, f, 4, 2, 1, bias=False), nn.BatchNorm2d(f), nn.ReLU(),
                      nn.ConvTranspose2d(f, 1, 4, 2, 1), nn.Tanh())
    d = nn.Sequential(nn.Conv2d(1, f, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(f, 2 * f, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * f),
                      nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(2 * f * 49, 1))
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
    config = {"format": 1, "model": "dcgan", "dataset": "mnist", "imageShape": [1, 28, 28],
              "training": {"batchSize": args.batch_size, "seed": args.seed, "logEvery": 50, "sampleEvery": 1000, "checkpointEvery": 1000},
              "gan": {"architecture": "dcgan", "loss": "non-saturating", "latentDimension": 100, "criticSteps": 1,
                      "learningRate": 2e-4, "clip": 0.01, "penaltyWeight": 10, "features": args.features}}
    write_run(directory, tensors, config, step, seconds)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--features", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--steps", type=int, default=10 ** 9)
    p.add_argument("--minutes", type=float, default=45)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--data", default=os.environ.get("DEEPGEN_DATA", "data"))
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    x = torch.from_numpy(read_idx(os.path.join(args.data, "train-images-idx3-ubyte")).astype(np.float32) / 255 * 2 - 1).unsqueeze(1)
    g, d = networks(args.features)
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    started, step, per_epoch = time.time(), 0, len(x) // args.batch_size
    os.makedirs(args.out, exist_ok=True)
    log = open(os.path.join(args.out, "log.jsonl"), "w")
    while step < args.steps and time.time() - started < 60 * args.minutes:
        if step % per_epoch == 0: order = torch.randperm(len(x))
        real = x[order[(step % per_epoch) * args.batch_size:(step % per_epoch + 1) * args.batch_size]]
        fake = g(torch.randn(args.batch_size, 100)).detach()
        loss_d = F.softplus(-d(real)).mean() + F.softplus(d(fake)).mean()
        opt_d.zero_grad(); loss_d.backward(); opt_d.step()
        loss_g = F.softplus(-d(g(torch.randn(args.batch_size, 100)))).mean()
        opt_g.zero_grad(); loss_g.backward(); opt_g.step()
        step += 1
        if step % 500 == 0:
            log.write(json.dumps({"step": step, "seconds": time.time() - started, "loss_d": loss_d.item(), "loss_g": loss_g.item()}) + "\n"); log.flush()
    seconds = time.time() - started
    save_run(g, d, args.out, args, step, seconds)
    print(f"{step} steps in {seconds / 60:.1f} min ({step / seconds:.1f} steps/s) -> {args.out}")


if __name__ == "__main__":
    main()
