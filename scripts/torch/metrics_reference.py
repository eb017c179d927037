"""Writes Tests/GenerativeMetricsTests/Fixtures/metrics-reference.safetensors: inputs of our metrics and
what independent implementations compute from them, in float64:
- the Frechet distance of two sets of 64-dimensional features (correlated Gaussians with
  different means and covariances), from numpy's covariance and scipy's sqrtm (Heusel et al.
  2017's formula, as the pytorch-fid code computes it);
- SSIM of textured images against degraded copies (blur, noise, a shift), grey and colour, from
  scikit-image's structural_similarity with Wang et al. 2004's Gaussian window (sigma 1.5,
  11 x 11, K1 0.01, K2 0.03, sample covariance off, data range 1).
`FrechetDistanceTests` and `ImageQualityTests` require our figures to match.

    ~/.cache/deepgen-torch/bin/python scripts/torch/metrics_reference.py   (numpy, scipy, scikit-image, safetensors)
"""
import os

import numpy as np
from scipy import linalg, ndimage
from safetensors.numpy import save_file
from skimage.metrics import structural_similarity

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "Tests", "GenerativeMetricsTests", "Fixtures", "metrics-reference.safetensors")


def frechet(a, b):
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = linalg.sqrtm(s_a @ s_b)
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(s_a) + np.trace(s_b) - 2 * np.trace(root.real))


def texture(rng, channels, size):
    y, x = np.mgrid[0:size, 0:size] / size
    planes = []
    for c in range(channels):
        f1, f2, phase = rng.uniform(2, 6), rng.uniform(1, 5), rng.uniform(0, 6.28)
        plane = 0.5 + 0.25 * np.sin(2 * np.pi * f1 * x + phase) * np.cos(2 * np.pi * f2 * y) + 0.1 * rng.standard_normal((size, size))
        planes.append(np.clip(plane, 0, 1))
    return np.stack(planes).astype(np.float32)


def main():
    rng = np.random.default_rng(2024)
    d, n = 64, 80
    mix_a, mix_b = rng.standard_normal((d, d)) / np.sqrt(d), rng.standard_normal((d, d)) / np.sqrt(d)
    a = (rng.standard_normal((n, d)) @ mix_a + rng.standard_normal(d) * 0.3).astype(np.float32)
    b = (rng.standard_normal((n, d)) @ (mix_b * 1.4) + rng.standard_normal(d) * 0.3 + 0.5).astype(np.float32)
    tensors = {"fid.a": a, "fid.b": b,
               "fid.value": np.array([frechet(a.astype(np.float64), b.astype(np.float64))], dtype=np.float32),
               "fid.self": np.array([frechet(a.astype(np.float64), a.astype(np.float64))], dtype=np.float32)}
    cases = []
    for channels, size in ((1, 20), (3, 24)):
        clean = texture(rng, channels, size)
        blurred = np.stack([ndimage.gaussian_filter(p, 1.0) for p in clean]).astype(np.float32)
        noisy = np.clip(clean + 0.15 * rng.standard_normal(clean.shape), 0, 1).astype(np.float32)
        shifted = np.roll(clean, 1, axis=2).astype(np.float32)
        for name, other in (("blurred", blurred), ("noisy", noisy), ("shifted", shifted)):
            value = structural_similarity(clean.astype(np.float64), other.astype(np.float64), channel_axis=0, data_range=1.0,
                                          gaussian_weights=True, sigma=1.5, use_sample_covariance=False, win_size=11)
            key = f"ssim.{channels}.{size}.{name}"
            tensors[f"ssim.{channels}.{size}.clean"], tensors[f"{key}.b"] = clean, other
            tensors[f"{key}.value"] = np.array([value], dtype=np.float32)
            cases.append((key, value))
    save_file(tensors, OUT)
    print(f"FID {tensors['fid.value'][0]:.6f}; " + ", ".join(f"{k} {v:.5f}" for k, v in cases))


if __name__ == "__main__":
    main()
