"""Writes Tests/GenerativeModelsTests/Fixtures/parity-{gan,dcgan,wgan,wgan-gp}.safetensors: for a
tiny configuration of each adversarial model (8 x 8 grey images, latent 4, batch 4; the DCGANs at
4 features, the MLP GAN with hidden widths G 8-16-16 and D 16-8), its weights under deepgen's
names, one batch (`images` in [0, 1], the fakes' latents `z`, the generator step's latents `z_g`,
for wgan-gp the interpolation coefficients `mix`) and what PyTorch computes for one training step
of both players, written from the papers rather than from our Swift:

- gan, dcgan (Goodfellow et al. 2014; Radford et al. 2016): D minimises BCE(D(x), 1) +
  BCE(D(G(z)), 0); G minimises E log(1 - D(G(z))) (minimax) or -E log D(G(z)) (non-saturating;
  the MLP fixture carries both, the DCGAN uses it);
- wgan (Arjovsky et al. 2017): the critic maximises E f(x) - E f(G(z)), so minimises the
  negation; G minimises -E f(G(z)); after the critic's RMSProp step (lr 5e-5) every critic
  weight is clipped to [-0.01, 0.01] (`after.discriminator.*`);
- wgan-gp (Gulrajani et al. 2017, Algorithm 1): the critic minimises E f(x~) - E f(x) +
  lambda E (|grad f(x^)|_2 - 1)^2 with x^ = e x + (1 - e) x~, e ~ U[0, 1] per example,
  lambda = 10, no batch normalisation in the critic.

Images are scaled to [-1, 1] (x = 2 images - 1); BatchNorm runs in train mode (batch statistics,
each network call its own batch: D(x) and D(G(z)) are separate calls). The losses are computed in
float64 from the float32 weights and inputs that are saved. Per fixture: `loss_d` with its terms
(`term.real`, `term.fake`, `term.penalty` = lambda * penalty) and the gradient of `loss_d` for
every critic parameter (`loss_d.discriminator.<name>`), and the generator's loss(es) with their
gradients for every generator parameter. `ParityGANTests` requires the same numbers.

    ~/.cache/deepgen-torch/bin/python scripts/torch/gan_reference.py
"""
import os

import torch
from torch import nn
import torch.nn.functional as F
from safetensors.torch import save_file

SIZE, LATENT, N, FEATURES = 8, 4, 4, 4
G_HIDDEN, D_HIDDEN = [8, 16, 16], [16, 8]
CLIP, LAMBDA, WGAN_LR = 0.01, 10.0, 5e-5
FIXTURES = os.path.join(os.path.dirname(__file__), "../../Tests/GenerativeModelsTests/Fixtures")


def perceptron(widths):
    layers = []
    for i, (a, b) in enumerate(zip(widths, widths[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(widths) - 2: layers.append(nn.LeakyReLU(0.2))
    return layers


def perceptrons():
    """Goodfellow et al.'s MLPs (LeakyReLU 0.2 between linear layers), narrow."""
    g = nn.Sequential(*perceptron([LATENT] + G_HIDDEN + [SIZE * SIZE]), nn.Tanh(), nn.Unflatten(1, (1, SIZE, SIZE)))
    d = nn.Sequential(nn.Flatten(), *perceptron([SIZE * SIZE] + D_HIDDEN + [1]))
    return g, d


def dcgan(batch_norm_in_critic):
    """Radford et al.'s DCGAN for SIZE x SIZE grey images at FEATURES maps."""
    f, q = FEATURES, SIZE // 4
    g = nn.Sequential(nn.Linear(LATENT, 2 * f * q * q, bias=False), nn.BatchNorm1d(2 * f * q * q), nn.ReLU(), nn.Unflatten(1, (2 * f, q, q)),
                      nn.ConvTranspose2d(2 * f, f, 4, 2, 1, bias=False), nn.BatchNorm2d(f), nn.ReLU(),
                      nn.ConvTranspose2d(f, 1, 4, 2, 1), nn.Tanh())
    d = [nn.Conv2d(1, f, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(f, 2 * f, 4, 2, 1, bias=not batch_norm_in_critic)]
    if batch_norm_in_critic: d.append(nn.BatchNorm2d(2 * f))
    d += [nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(2 * f * q * q, 1)]
    return g, nn.Sequential(*d)


def nontrivial(net, critic_range=None):
    """Trained-looking weights: unit-scale activations, BatchNorm scales and shifts away from 1
    and 0, non-zero biases; with `critic_range` c every other parameter U(-2c, 2c), so that
    clipping to [-c, c] moves about half of them (and every BatchNorm scale)."""
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                m.weight.normal_(1, 0.3); m.bias.normal_(0, 0.3)
            elif critic_range is not None:
                for p in m.parameters(recurse=False): p.uniform_(-2 * critic_range, 2 * critic_range)
            elif isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
                fan_in = m.weight[0].numel() if not isinstance(m, nn.ConvTranspose2d) else m.weight.shape[0] * 4
                m.weight.normal_(0, 1.2 / fan_in ** 0.5)
                if m.bias is not None: m.bias.normal_(0, 0.2)


def bce(logits, target):
    """Binary cross-entropy of sigmoid(logits) against a constant label, averaged."""
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def reference(model, seed):
    torch.manual_seed(seed)
    if model == "gan":
        g, d = perceptrons()
    else:
        g, d = dcgan(batch_norm_in_critic=model != "wgan-gp")
    nontrivial(g)
    nontrivial(d, critic_range=CLIP if model == "wgan" else None)
    tensors = {}
    for prefix, net in (("generator", g), ("discriminator", d)):
        for name, t in net.state_dict().items():
            if not name.endswith("num_batches_tracked"): tensors[f"weights.{prefix}.layers.{name}"] = t.clone()
    images = torch.rand(N, 1, SIZE, SIZE)
    z, z_g, mix = torch.randn(N, LATENT), torch.randn(N, LATENT), torch.rand(N, 1, 1, 1)
    tensors.update(images=images, z=z, z_g=z_g)
    if model == "wgan-gp": tensors["mix"] = mix
    g.double().train(); d.double().train()
    images, z, z_g, mix = images.double(), z.double(), z_g.double(), mix.double()

    def record(label, loss, net, prefix):
        params = dict(net.named_parameters())
        grads = torch.autograd.grad(loss, list(params.values()), allow_unused=True, retain_graph=True)
        tensors[label] = loss.detach().reshape(1)
        for (name, p), gr in zip(params.items(), grads):
            tensors[f"{label}.{prefix}.layers.{name}"] = gr if gr is not None else torch.zeros_like(p)

    # The critic's update: real images in [-1, 1], fakes from z (no gradient into G).
    x = images * 2 - 1
    with torch.no_grad():
        fake = g(z)
    real_scores, fake_scores = d(x).reshape(-1), d(fake).reshape(-1)
    if model in ("gan", "dcgan"):
        real_term, fake_term = bce(real_scores, 1.0), bce(fake_scores, 0.0)
    else:   # the critic maximises E f(x) - E f(x~)
        real_term, fake_term = -real_scores.mean(), fake_scores.mean()
    loss_d = real_term + fake_term
    if model == "wgan-gp":
        x_hat = (mix * x + (1 - mix) * fake).detach().requires_grad_()
        grad, = torch.autograd.grad(d(x_hat).sum(), x_hat, create_graph=True)
        penalty = LAMBDA * ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()
        tensors["term.penalty"] = penalty.detach().reshape(1)
        tensors["gradient_norms"] = grad.flatten(1).norm(2, dim=1).detach()
        loss_d = loss_d + penalty
    tensors["term.real"], tensors["term.fake"] = real_term.detach().reshape(1), fake_term.detach().reshape(1)
    record("loss_d", loss_d, d, "discriminator")

    # The generator's update on fresh latents z_g, gradients through the critic into G.
    logits = d(g(z_g)).reshape(-1)
    if model == "gan":
        record("loss_g.minimax", torch.log1p(-torch.sigmoid(logits)).mean(), g, "generator")    # E log(1 - D(G(z)))
        record("loss_g.non-saturating", -F.logsigmoid(logits).mean(), g, "generator")           # -E log D(G(z))
    elif model == "dcgan":
        record("loss_g", -F.logsigmoid(logits).mean(), g, "generator")
    else:
        record("loss_g", -logits.mean(), g, "generator")

    if model == "wgan":   # Algorithm 1: RMSProp on the critic, then clip its weights to [-c, c]
        optimizer = torch.optim.RMSprop(d.parameters(), lr=WGAN_LR)
        optimizer.zero_grad()
        loss_d.backward()
        optimizer.step()
        with torch.no_grad():
            for name, p in d.named_parameters():
                p.clamp_(-CLIP, CLIP)
                tensors[f"after.discriminator.layers.{name}"] = p.detach().clone()

    out = os.path.normpath(os.path.join(FIXTURES, f"parity-{model}.safetensors"))
    metadata = {"model": model, "latent": str(LATENT), "features": str(FEATURES), "g_hidden": ",".join(map(str, G_HIDDEN)),
                "d_hidden": ",".join(map(str, D_HIDDEN)), "clip": str(CLIP), "lambda": str(LAMBDA), "learning_rate": str(WGAN_LR),
                "torch": torch.__version__}
    save_file({k: v.detach().float().contiguous() for k, v in tensors.items()}, out, metadata=metadata)
    summary = f"loss_d {loss_d.item():.5f}"
    if model == "wgan-gp": summary += f", |grad| {[round(v, 3) for v in tensors['gradient_norms'].tolist()]}"
    print(f"{model}: {len(tensors)} tensors -> {out} ({os.path.getsize(out)} bytes), {summary}")


def main():
    for seed, model in enumerate(("gan", "dcgan", "wgan", "wgan-gp")):
        reference(model, seed + 11)


if __name__ == "__main__":
    main()
