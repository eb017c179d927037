"""PyTorch's DistributedDataParallel on the workloads of issue 11's throughput table, as the
reference for `mpirun -np 2 deepgen train vae|dcgan`: the same networks, optimiser and global
batch, trained either by one process with 2 threads or by 2 DDP processes (gloo) with 1 thread
each. Prints samples per second between two steps, after warm-up.

    python scripts/torch/ddp_throughput.py --model vae --processes 2 --data data
"""
import argparse, os, sys, time

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from vae import VAE, read_idx  # noqa: E402
from dcgan import networks  # noqa: E402


def train(rank, args):
    processes = args.processes
    torch.set_num_threads(args.threads)
    if processes > 1:
        os.environ.setdefault("MASTER_ADDR", "127.0.0.1"); os.environ.setdefault("MASTER_PORT", "29517")
        dist.init_process_group("gloo", rank=rank, world_size=processes)
    torch.manual_seed(1)
    images = torch.from_numpy(read_idx(os.path.join(args.data, "train-images-idx3-ubyte")).astype(np.float32) / 255)
    local = args.batch_size // processes
    wrap = (lambda m: torch.nn.parallel.DistributedDataParallel(m)) if processes > 1 else (lambda m: m)
    if args.model == "vae":
        model = wrap(ELBO(VAE([400], 20)))
        optimizers = [torch.optim.Adam(model.parameters(), 1e-3)]
    else:
        g, d = networks(args.features)
        g, d = wrap(g), wrap(d)
        optimizers = [torch.optim.Adam(d.parameters(), 2e-4, betas=(0.5, 0.999)), torch.optim.Adam(g.parameters(), 2e-4, betas=(0.5, 0.999))]
    generator = torch.Generator().manual_seed(1)
    started = None
    for step in range(args.steps):
        if step == args.warmup:
            if processes > 1: dist.barrier()
            started = time.perf_counter()
        index = torch.randint(0, images.shape[0], (args.batch_size,), generator=generator)[rank * local:(rank + 1) * local]
        x = images[index]
        if args.model == "vae":
            x = torch.bernoulli(x.reshape(-1, 784))
            loss = -model(x).mean()
            optimizers[0].zero_grad(); loss.backward(); optimizers[0].step()
        else:
            x = x.reshape(-1, 1, 28, 28) * 2 - 1
            fake = g(torch.randn(local, 100))
            ones, zeros = torch.ones(local, 1), torch.zeros(local, 1)
            d_loss = F.binary_cross_entropy_with_logits(d(x), ones) + F.binary_cross_entropy_with_logits(d(fake.detach()), zeros)
            optimizers[0].zero_grad(); d_loss.backward(); optimizers[0].step()
            g_loss = F.binary_cross_entropy_with_logits(d(fake), ones)
            optimizers[1].zero_grad(); g_loss.backward(); optimizers[1].step()
    if processes > 1: dist.barrier()
    if rank == 0:
        seconds = time.perf_counter() - started
        print(f"torch {args.model} processes {processes} threads {args.threads}: "
              f"{(args.steps - args.warmup) * args.batch_size / seconds:.0f} samples/s")
    if processes > 1: dist.destroy_process_group()


class ELBO(torch.nn.Module):
    """The VAE's bound as a forward pass: DDP prepares its gradient buckets in forward."""
    def __init__(self, vae):
        super().__init__()
        self.vae = vae

    def forward(self, x):
        return self.vae.bound(x, 1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", choices=["vae", "dcgan"], default="vae")
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--features", type=int, default=64)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--data", default="data")
    args = parser.parse_args()
    args.threads = args.threads or max(1, 2 // args.processes)
    args.batch_size = args.batch_size or (128 if args.model == "vae" else 64)
    if args.processes > 1:
        mp.spawn(train, args=(args,), nprocs=args.processes)
    else:
        train(0, args)


if __name__ == "__main__":
    main()
