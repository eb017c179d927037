"""PyTorch's DistributedDataParallel on the VAE of the data-parallel throughput table, as the
reference for `mpirun -np 2 deepgen train vae`: the same network (784-400-20), optimiser and
global batch (128), trained either by one process with 2 threads or by 2 DDP processes (gloo)
with 1 thread each. Prints samples per second between two steps, after warm-up.

    python scripts/torch/ddp_throughput.py --processes 2 --data data
"""
import argparse, os, sys, time

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

sys.path.insert(0, os.path.dirname(__file__))
from vae import VAE, read_idx  # noqa: E402


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
    model = wrap(ELBO(VAE([400], 20)))
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    generator = torch.Generator().manual_seed(1)
    started = None
    for step in range(args.steps):
        if step == args.warmup:
            if processes > 1: dist.barrier()
            started = time.perf_counter()
        index = torch.randint(0, images.shape[0], (args.batch_size,), generator=generator)[rank * local:(rank + 1) * local]
        x = torch.bernoulli(images[index].reshape(-1, 784))
        loss = -model(x).mean()
        optimizer.zero_grad(); loss.backward(); optimizer.step()
    if processes > 1: dist.barrier()
    if rank == 0:
        seconds = time.perf_counter() - started
        print(f"torch vae processes {processes} threads {args.threads}: "
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
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--data", default="data")
    args = parser.parse_args()
    args.threads = args.threads or max(1, 2 // args.processes)
    args.batch_size = args.batch_size or 128
    if args.processes > 1:
        mp.spawn(train, args=(args,), nprocs=args.processes)
    else:
        train(0, args)


if __name__ == "__main__":
    main()
