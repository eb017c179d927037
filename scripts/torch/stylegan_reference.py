"""Writes Tests/GenerativeModelsTests/Fixtures/stylegan-reference.safetensors: a tiny StyleGAN of
scripts/torch/stylegan.py (8 px, 8 features), its weights under deepgen's names, one batch of
inputs (real and fake images, two latents, the noise maps) and what PyTorch computes from them:
the discriminator's loss, the R1 penalty and the generator's loss with a style-mixing crossover,
each with its gradients for every parameter. `StyleGANTests` loads the weights into our StyleGAN
and requires the same numbers, so a wrong loss, penalty or backward fails a test.

    python scripts/torch/stylegan_reference.py

`--size 32 --features 64 --batch 32 --mapping 8 --latent 128 --style 128 --out FILE` writes the
same check at a training run's size (the fast convolution kernels only take over from 16
channels and 15-pixel maps), a fixture too large to commit: the metadata records the sizes, and
`DEEPGEN_STYLEGAN_REFERENCE=FILE swift test --filter StyleGANTests` checks against it.
"""
import argparse
import os, sys

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(__file__))
import stylegan as S  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "../../Tests/GenerativeModelsTests/Fixtures/stylegan-reference.safetensors")


def main():
    p = argparse.ArgumentParser()
    for name, default in (("latent", 8), ("style", 6), ("mapping", 2), ("features", 8), ("minimum", 4), ("size", 8),
                          ("batch", 4), ("crossover", 2)):
        p.add_argument(f"--{name}", type=int, default=default)
    p.add_argument("--gamma", type=float, default=2.0)
    p.add_argument("--out", default=OUT)
    a = p.parse_args()
    global LATENT, STYLE, MAPPING, FEATURES, MINIMUM, SIZE, N, CROSSOVER, GAMMA
    LATENT, STYLE, MAPPING, FEATURES, MINIMUM, SIZE, N, CROSSOVER, GAMMA = (
        a.latent, a.style, a.mapping, a.features, a.minimum, a.size, a.batch, a.crossover, a.gamma)
    torch.manual_seed(7)
    g = S.Generator(FEATURES, SIZE, latent=LATENT, style=STYLE, mapping=MAPPING, minimum=MINIMUM)
    d = S.Discriminator(FEATURES, SIZE, minimum=MINIMUM)
    with torch.no_grad():   # trained-looking values where initialisation puts zeros or ones
        for c in g.convolutions:
            c.noise_strength.normal_(0, 0.5); c.bias.normal_(0, 0.5)
        for p in list(g.rgb_biases) + [m.bias for m in d.modules() if isinstance(m, (S.EqConv, S.EqLinear))]:
            p.normal_(0, 0.3)
    real = torch.rand(N, 1, SIZE, SIZE) * 2 - 1
    z1, z2, z3 = (torch.randn(N, LATENT) for _ in range(3))
    noise = [torch.randn(N, 1, c.fixed_noise.shape[2], c.fixed_noise.shape[3]) for c in g.convolutions]

    def synthesize(styles):   # the layers draw `noise` in order instead of fresh maps
        maps, draw = list(noise), torch.randn
        S.torch.randn = lambda *shape: maps.pop(0)
        try:
            return g.synthesize(styles)
        finally:
            S.torch.randn = draw

    tensors = {}
    for prefix, net in (("generator", g), ("discriminator", d)):
        for name, t in net.state_dict().items():
            tensors[f"weights.{prefix}.{name}"] = t
    with torch.no_grad():
        fake = synthesize(g.map(z3)[:, None].expand(N, g.style_count, STYLE))

    def record(label, loss, net, prefix):
        params = dict(net.named_parameters())
        grads = torch.autograd.grad(loss, list(params.values()), allow_unused=True)
        tensors[label] = loss.detach().reshape(1)
        for (name, p), gr in zip(params.items(), grads):
            tensors[f"{label}.{prefix}.{name}"] = gr if gr is not None else torch.zeros_like(p)

    record("loss_d", F.softplus(d(fake)).mean() + F.softplus(-d(real)).mean(), d, "discriminator")
    x = real.clone().requires_grad_()
    grad, = torch.autograd.grad(d(x).sum(), x, create_graph=True)
    record("r1", GAMMA / 2 * grad.square().flatten(1).sum(1).mean(), d, "discriminator")
    w1, w2 = g.map(z1), g.map(z2)
    styles = torch.cat([w1[:, None].expand(N, CROSSOVER, STYLE), w2[:, None].expand(N, g.style_count - CROSSOVER, STYLE)], 1)
    record("loss_g", F.softplus(-d(synthesize(styles))).mean(), g, "generator")
    tensors.update({"real": real, "fake": fake, "z1": z1, "z2": z2}, **{f"noise.{i}": t for i, t in enumerate(noise)})
    out = a.out
    sizes = {"latent": LATENT, "style": STYLE, "mapping": MAPPING, "features": FEATURES, "minimum": MINIMUM, "size": SIZE}
    save_file({k: v.detach().float().contiguous() for k, v in tensors.items()}, out,
              metadata={"crossover": str(CROSSOVER), "gamma": str(GAMMA), "torch": torch.__version__,
                        **{k: str(v) for k, v in sizes.items()}})
    print(f"{len(tensors)} tensors -> {os.path.normpath(out)} ({os.path.getsize(out)} bytes)")


if __name__ == "__main__":
    main()
