"""The VAE / IWAE of `deepgen train vae|iwae` in PyTorch, for same-budget comparisons.

Same architecture (ReLU MLP encoder to mean and log-variance, ReLU MLP decoder to Bernoulli
logits), same data protocol (training images binarised afresh at every batch, shuffled every
epoch), same optimiser (Adam), same batch size and wall-time budget. Snapshots are written as run
directories with deepgen's tensor names and config.json, so `deepgen eval DIR --metric nll --k 5000`
evaluates them with exactly the same code as our own runs.

    python scripts/torch/vae.py --out runs/torch-iwae --k 50 --hidden 200,200 --latent 50 \
        --batch-size 20 --minutes 60 --snapshot-minutes 15 --threads 1 --data data
"""
import argparse, gzip, json, math, os, struct, time

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F
from safetensors.torch import save_file


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def write_run(directory, tensors, config, step, seconds):
    """A deepgen run directory: model.safetensors (written, then renamed into place) and
    config.json, which records the PyTorch step, time and threads beside the model's options."""
    os.makedirs(directory, exist_ok=True)
    tmp = os.path.join(directory, "model.safetensors.tmp")
    save_file(tensors, tmp, metadata={"format": "pt", "step": str(step)})
    os.replace(tmp, os.path.join(directory, "model.safetensors"))
    config = dict(config, torch={"step": step, "seconds": seconds, "threads": torch.get_num_threads()})
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(config, f, indent=2)


def mlp(widths, activate_last):
    layers = []
    for i, (a, b) in enumerate(zip(widths, widths[1:])):
        layers.append(nn.Linear(a, b))
        if activate_last or i < len(widths) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class VAE(nn.Module):
    def __init__(self, hidden, latent):
        super().__init__()
        self.encoder = mlp([784] + hidden, True)
        self.mean = nn.Linear(hidden[-1], latent)
        self.log_variance = nn.Linear(hidden[-1], latent)
        self.decoder = mlp([latent] + hidden[::-1] + [784], False)

    def bound(self, x, k):
        h = self.encoder(x)
        mu, logvar = self.mean(h), self.log_variance(h)
        if k == 1:  # the ELBO with the analytic KL
            z = mu + (0.5 * logvar).exp() * torch.randn_like(mu)
            rec = -F.binary_cross_entropy_with_logits(self.decoder(z), x, reduction="none").sum(1)
            return rec - 0.5 * (mu ** 2 + logvar.exp() - logvar - 1).sum(1)
        eps = torch.randn(k, *mu.shape)
        z = mu + (0.5 * logvar).exp() * eps
        logits = self.decoder(z)
        log_px = -F.binary_cross_entropy_with_logits(logits, x.expand_as(logits), reduction="none").sum(2)
        log_pz = -0.5 * (z ** 2).sum(2)
        log_qz = -0.5 * (eps ** 2 + logvar).sum(2)
        return torch.logsumexp(log_px + log_pz - log_qz, 0) - math.log(k)


def state_dict_for_deepgen(model):
    out = {}
    for name, tensor in model.state_dict().items():
        for part in ("encoder.", "decoder."):
            if name.startswith(part):
                name = part + "layers." + name[len(part):]
        out[name] = tensor.detach().contiguous().clone()
    return out


def save_run(model, directory, args, step, seconds):
    config = {"format": 1, "model": "iwae" if args.k > 1 else "vae", "dataset": "binarized-mnist",
              "imageShape": [1, 28, 28],
              "training": {"batchSize": args.batch_size, "seed": args.seed, "logEvery": 100, "sampleEvery": 1000,
                           "checkpointEvery": 1000, "minutes": args.minutes},
              "vae": {"architecture": "mlp", "hiddenDimensions": args.hidden, "importanceSamples": args.k,
                      "latentDimension": args.latent, "learningRate": args.lr, "likelihood": "bernoulli"}}
    write_run(directory, state_dict_for_deepgen(model), config, step, seconds)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--data", default=os.environ.get("DEEPGEN_DATA", "data"))
    p.add_argument("--k", type=int, default=1)
    p.add_argument("--hidden", default="200,200")
    p.add_argument("--latent", type=int, default=50)
    p.add_argument("--batch-size", type=int, default=20)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--minutes", type=float, default=60)
    p.add_argument("--epochs", type=int, default=None, help="planned epochs: the cosine schedule's length")
    p.add_argument("--lr-schedule", default="constant", choices=["constant", "cosine"])
    p.add_argument("--snapshot-minutes", type=float, default=15)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    args.hidden = [int(w) for w in args.hidden.split(",")]
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    images = torch.from_numpy(read_idx(os.path.join(args.data, "train-images-idx3-ubyte")).reshape(-1, 784).astype(np.float32) / 255)
    model = VAE(args.hidden, args.latent)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    log = open(os.path.join(args.out, "log.jsonl"), "w") if os.makedirs(args.out, exist_ok=True) is None else None
    started, step, next_snapshot = time.time(), 0, 60 * args.snapshot_minutes
    budget = 60 * args.minutes
    end_step = None if args.epochs is None else args.epochs * (len(images) // args.batch_size)
    while True:
        order = torch.randperm(len(images))
        for i in range(len(images) // args.batch_size):
            elapsed = time.time() - started
            if elapsed >= next_snapshot:
                save_run(model, os.path.join(args.out, "snapshots", "%06.2fmin" % (next_snapshot / 60)), args, step, elapsed)
                next_snapshot += 60 * args.snapshot_minutes
            if elapsed >= budget or step == end_step:
                save_run(model, args.out, args, step, elapsed)
                save_run(model, os.path.join(args.out, "snapshots", "%06.2fmin" % (elapsed / 60)), args, step, elapsed)
                print(f"done: {step} steps in {elapsed:.0f} s")
                return
            if args.lr_schedule == "cosine":  # as deepgen: half a cosine down to a tenth over the planned steps
                total = args.epochs * (len(images) // args.batch_size)
                t = min(step, total) / total
                for group in optimizer.param_groups:
                    group["lr"] = args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t)))
            x = torch.bernoulli(images[order[i * args.batch_size:(i + 1) * args.batch_size]])
            loss = -model.bound(x, args.k).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
            if step % 100 == 0:
                log.write(json.dumps({"step": step, "seconds": time.time() - started, "loss": loss.item()}) + "\n")
                log.flush()


if __name__ == "__main__":
    main()
