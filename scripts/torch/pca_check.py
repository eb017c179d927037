"""An independent check of `deepgen train pca`: numpy's SVD of the centred MNIST training set
against the explained-variance ratios a deepgen PCA run saved.

    python scripts/torch/pca_check.py runs/pca10 --data data
"""
import argparse, os, sys

import numpy as np
from safetensors.numpy import load_file

sys.path.insert(0, os.path.dirname(__file__))
from vae import read_idx  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("run")
    p.add_argument("--data", default=os.environ.get("DEEPGEN_DATA", "data"))
    args = p.parse_args()
    x = read_idx(os.path.join(args.data, "train-images-idx3-ubyte")).reshape(-1, 784).astype(np.float64) / 255
    singular = np.linalg.svd(x - x.mean(0), compute_uv=False)
    ratios = singular ** 2 / (singular ** 2).sum()
    ours = load_file(os.path.join(args.run, "model.safetensors"))["explained_variance_ratio"].astype(np.float64)
    reference = ratios[:len(ours)]
    print("component  deepgen    numpy-svd  difference")
    for i, (a, b) in enumerate(zip(ours, reference)):
        print(f"{i + 1:9d}  {a:.6f}  {b:.6f}  {a - b:+.2e}")
    worst = np.abs(ours - reference).max()
    print(f"largest difference: {worst:.2e} ({'within' if worst <= 1e-3 else 'OUTSIDE'} 1e-3)")
    sys.exit(0 if worst <= 1e-3 else 1)


if __name__ == "__main__":
    main()
