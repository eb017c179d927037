"""Writes Tests/GenerativeModelsTests/Fixtures/parity-{vae,vae-gaussian,iwae,vade}.safetensors:
tiny latent-variable models (16-pixel images, hidden widths 8 and 6, 3 latent dimensions, a batch
of 4), their weights under deepgen's names, one batch with the noise of the reparameterisation
z = mu + sigma * eps, and what PyTorch computes for one training step: the loss, its terms, and
the gradient of the loss for every parameter. `ParityLatentTests` loads the weights into our VAE
and VaDE, runs the loss their `trainStep` minimises on the same batch and noise, and requires the
same numbers.

The objectives are written here from the papers, not from our Swift: the VAE's ELBO (Kingma &
Welling 2014, eq. 10), IWAE's bound L_k (Burda et al. 2016, eq. 8) and VaDE's ELBO (Jiang et al.
2017, eqs. 16-17), with torch.distributions for the densities and VaDE's closed-form terms as
its eq. 17 writes them. The weights are float32 (what the fixture stores), the step is computed
in float64 so that the reference carries no rounding of its own.

    python scripts/torch/latent_reference.py
"""
import math, os, sys

import torch
from torch.distributions import Bernoulli, Normal, kl_divergence
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(__file__))
from vae import mlp, state_dict_for_deepgen  # noqa: E402  (deepgen's layer layout and names)

PIXELS, HIDDEN, LATENT, N, K, CLUSTERS = 16, [8, 6], 3, 4, 5, 3
FIXTURES = os.path.join(os.path.dirname(__file__), "../../Tests/GenerativeModelsTests/Fixtures")


class Networks(torch.nn.Module):
    """The encoder to mu and log sigma^2 of q(z | x) and the decoder of our VAE and VaDE."""

    def __init__(self):
        super().__init__()
        self.encoder = mlp([PIXELS] + HIDDEN, True)
        self.mean = torch.nn.Linear(HIDDEN[-1], LATENT)
        self.log_variance = torch.nn.Linear(HIDDEN[-1], LATENT)
        self.decoder = mlp([LATENT] + HIDDEN[::-1] + [PIXELS], False)

    def posterior(self, x):
        h = self.encoder(x)
        return self.mean(h), self.log_variance(h)


def log_likelihood(model, x, decoded):
    """log p(x | z) summed over pixels: Bernoulli logits, or Gaussian means with one learned
    log-variance per pixel."""
    if hasattr(model, "pixel_log_variance"):
        return Normal(decoded, (0.5 * model.pixel_log_variance).exp()).log_prob(x).sum(-1)
    return Bernoulli(logits=decoded).log_prob(x).sum(-1)


def vae_step(model, x, eps):
    """The ELBO with one sample and the analytic KL to N(0, I) (Kingma & Welling, eq. 10)."""
    mu, log_var = model.posterior(x)
    std = (0.5 * log_var).exp()
    reconstruction = log_likelihood(model, x, model.decoder(mu + std * eps))
    kl = kl_divergence(Normal(mu, std), Normal(0.0, 1.0)).sum(-1)
    return {"loss": -(reconstruction - kl).mean(), "reconstruction": -reconstruction.mean(), "kl": kl.mean()}


def iwae_step(model, x, eps):
    """L_k = log (1/k) sum_i p(x, z_i) / q(z_i | x), z_i = mu + sigma eps_i (Burda et al., eq. 8)."""
    mu, log_var = model.posterior(x)
    q = Normal(mu, (0.5 * log_var).exp())
    z = mu + q.scale * eps                                                          # [k, N, d]
    log_w = (log_likelihood(model, x, model.decoder(z)) + Normal(0.0, 1.0).log_prob(z).sum(-1)
             - q.log_prob(z).sum(-1))                                               # [k, N]
    return {"loss": -(torch.logsumexp(log_w, 0) - math.log(eps.shape[0])).mean()}


def vade_step(model, x, eps):
    """VaDE's SGVB estimator with L = 1 (Jiang et al., eq. 17), gamma_c = p(c | z) at the sample
    (eq. 16); pi = softmax(prior_logits), sigma_c^2 = exp(prior_log_variances). The paper drops
    the log 2 pi of both Gaussian terms, which cancel."""
    mu, log_var = model.posterior(x)                                                # mu~, log sigma~^2
    z = mu + (0.5 * log_var).exp() * eps
    log_pi = torch.log_softmax(model.prior_logits, 0)
    var_c = model.prior_log_variances.exp()                                         # [C, J]
    log_p_z_c = Normal(model.prior_means, var_c.sqrt()).log_prob(z[:, None]).sum(-1)  # [N, C]
    gamma = torch.softmax(log_pi + log_p_z_c, 1)                                    # eq. 16
    reconstruction = Bernoulli(logits=model.decoder(z)).log_prob(x).sum(-1)
    cross = (model.prior_log_variances + log_var.exp()[:, None] / var_c
             + (mu[:, None] - model.prior_means) ** 2 / var_c).sum(-1)              # [N, C]
    elbo = (reconstruction - 0.5 * (gamma * cross).sum(1) + (gamma * (log_pi - gamma.log())).sum(1)
            + 0.5 * (1 + log_var).sum(1))
    return {"loss": -elbo.mean(), "reconstruction": -reconstruction.mean()}


def write(name, model, step, x, eps, metadata):
    """Float32 weights, batch and noise; the step's terms and gradients in float64, stored float32."""
    tensors = {f"weights.{k}": v for k, v in state_dict_for_deepgen(model).items()}
    double = {k: v.double() for k, v in model.state_dict().items()}
    params = dict(model.named_parameters())
    with torch.no_grad():
        for k, p in params.items():
            p.data = double[k]
    terms = step(model, x.double(), eps.double())
    grads = torch.autograd.grad(terms["loss"], list(params.values()))
    names = list(state_dict_for_deepgen(model).keys())   # the order of named_parameters (no buffers here)
    assert len(names) == len(grads)
    named = dict(zip(names, grads))
    tensors.update({f"grad.{k}": g for k, g in named.items()})
    tensors.update({k: v.detach().reshape(1) for k, v in terms.items()})
    tensors.update({"x": x, "noise": eps})
    if name == "vade":
        tensors["weights.phase"] = torch.ones(1)   # the VaDE phase: the prior has been fitted
    out = os.path.join(FIXTURES, f"parity-{name}.safetensors")
    # One metadata entry: safetensors writes several in no fixed order, and a rerun should give the same bytes.
    config = dict(metadata, hidden=",".join(map(str, HIDDEN)), latent=str(LATENT), pixels=str(PIXELS), torch=torch.__version__)
    save_file({k: v.detach().float().contiguous() for k, v in tensors.items()}, out,
              metadata={"config": " ".join(f"{k}={v}" for k, v in config.items())})
    print(f"{len(tensors)} tensors, loss {terms['loss'].item():.6f} -> {os.path.normpath(out)} ({os.path.getsize(out)} bytes)")


def main():
    torch.manual_seed(11)
    binary = torch.bernoulli(torch.full((N, PIXELS), 0.4))

    model = Networks()
    write("vae", model, vae_step, binary, torch.randn(N, LATENT), {"likelihood": "bernoulli", "k": "1"})

    model = Networks()
    model.pixel_log_variance = torch.nn.Parameter(torch.randn(PIXELS) * 0.3 - 1)   # trained-looking, not the -2 of init
    write("vae-gaussian", model, vae_step, torch.rand(N, PIXELS), torch.randn(N, LATENT), {"likelihood": "gaussian", "k": "1"})

    model = Networks()
    write("iwae", model, iwae_step, binary, torch.randn(K, N, LATENT), {"likelihood": "bernoulli", "k": str(K)})

    model = Networks()
    model.prior_logits = torch.nn.Parameter(torch.randn(CLUSTERS) * 0.5)
    model.prior_means = torch.nn.Parameter(torch.randn(CLUSTERS, LATENT))
    model.prior_log_variances = torch.nn.Parameter(torch.randn(CLUSTERS, LATENT) * 0.3)
    write("vade", model, vade_step, binary, torch.randn(N, LATENT), {"clusters": str(CLUSTERS)})


if __name__ == "__main__":
    main()
