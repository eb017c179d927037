# PyTorch twin of deepgen's gan and wgan-gp on ring8 (the same perceptrons, rates, batch and
# scaling), to tell the engine from the recipe; prints the modes covered as `eval --metric modes`.
#   python toy_twin.py non-saturating|wgan-gp MINUTES [tanh|linear] [LAMBDA] [SEED]
import math, sys, time, torch, torch.nn as nn, torch.nn.functional as F
loss = sys.argv[1]; minutes = float(sys.argv[2])
tanh = (sys.argv[3] if len(sys.argv) > 3 else "tanh") == "tanh"
lam = float(sys.argv[4]) if len(sys.argv) > 4 else 10.0
torch.manual_seed(int(sys.argv[5]) if len(sys.argv) > 5 else 0); torch.set_num_threads(1)
ext = 2.5  # the data's half-width in [-1, 1], as deepgen's PointMixture
def data(n):
    k = torch.randint(0, 8, (n,)); a = 2 * math.pi * k / 8
    return (torch.stack([2 * torch.cos(a), 2 * torch.sin(a)], 1) + 0.02 * torch.randn(n, 2)) / ext
def mlp(sizes):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2: layers.append(nn.LeakyReLU(0.2))
    return nn.Sequential(*layers)
G = mlp([100, 256, 512, 1024, 2]); D = mlp([2, 512, 256, 1])
if tanh: G = nn.Sequential(G, nn.Tanh())
wasserstein = loss == "wgan-gp"
rate, betas, critic = (1e-4, (0.0, 0.9), 5) if wasserstein else (2e-4, (0.5, 0.999), 1)
oG = torch.optim.Adam(G.parameters(), rate, betas=betas); oD = torch.optim.Adam(D.parameters(), rate, betas=betas)
start = time.time(); step = 0
while time.time() - start < minutes * 60:
    real = data(128); fake = G(torch.randn(128, 100)).detach()
    if wasserstein:
        e = torch.rand(128, 1); xh = (e * real + (1 - e) * fake).requires_grad_(True)
        g = torch.autograd.grad(D(xh).sum(), xh, create_graph=True)[0]
        lossD = D(fake).mean() - D(real).mean() + lam * ((g.norm(dim=1) - 1) ** 2).mean()
    else:
        lossD = F.softplus(-D(real)).mean() + F.softplus(D(fake)).mean()
    oD.zero_grad(); lossD.backward(); oD.step(); step += 1
    if step % critic == 0:
        scores = D(G(torch.randn(128, 100)))
        lossG = -scores.mean() if wasserstein else F.softplus(-scores).mean()
        oG.zero_grad(); lossG.backward(); oG.step()
with torch.no_grad(): p = G(torch.randn(10000, 100)) * ext
modes = torch.tensor([[2 * math.cos(2 * math.pi * k / 8), 2 * math.sin(2 * math.pi * k / 8)] for k in range(8)])
dist, idx = torch.cdist(p, modes).min(1); hq = dist <= 0.06
counts = torch.bincount(idx[hq], minlength=8)
print(f"{loss} ({'tanh' if tanh else 'linear'}) steps {step}: covered {(counts >= 250).sum().item()}/8, "
      f"high quality {100 * hq.float().mean().item():.2f}%, counts {counts.tolist()}")
