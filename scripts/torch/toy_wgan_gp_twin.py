# PyTorch twin of deepgen's wgan-gp on ring8: python toy_wgan_gp_twin.py MINUTES [LAMBDA].
# WGAN-GP on ring8 with deepgen's MLP GAN architecture and recipe, for comparison.
import math, sys, time, torch, torch.nn as nn
torch.manual_seed(0); torch.set_num_threads(1)
steps_minutes = float(sys.argv[1]) if len(sys.argv) > 1 else 1.5
lam = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
ext = 2.5
def data(n):
    k = torch.randint(0, 8, (n,)); a = 2 * math.pi * k / 8
    x = torch.stack([2 * torch.cos(a), 2 * torch.sin(a)], 1) + 0.02 * torch.randn(n, 2)
    return x / ext
def mlp(sizes, last_act=None):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2: layers.append(nn.LeakyReLU(0.2))
    return nn.Sequential(*layers)
G = mlp([100, 256, 512, 1024, 2]); D = mlp([2, 512, 256, 1])
oG = torch.optim.Adam(G.parameters(), 1e-4, betas=(0.0, 0.9)); oD = torch.optim.Adam(D.parameters(), 1e-4, betas=(0.0, 0.9))
start = time.time(); step = 0
while time.time() - start < steps_minutes * 60:
    real = data(128); fake = G(torch.randn(128, 100)).detach()
    e = torch.rand(128, 1); xh = (e * real + (1 - e) * fake).requires_grad_(True)
    g = torch.autograd.grad(D(xh).sum(), xh, create_graph=True)[0]
    pen = ((g.norm(dim=1) - 1) ** 2).mean()
    lossD = D(fake).mean() - D(real).mean() + lam * pen
    oD.zero_grad(); lossD.backward(); oD.step(); step += 1
    if step % 5 == 0:
        lossG = -D(G(torch.randn(128, 100))).mean(); oG.zero_grad(); lossG.backward(); oG.step()
with torch.no_grad():
    p = G(torch.randn(10000, 100)) * ext
modes = torch.tensor([[2 * math.cos(2 * math.pi * k / 8), 2 * math.sin(2 * math.pi * k / 8)] for k in range(8)])
d = torch.cdist(p, modes); dist, idx = d.min(1); hq = dist <= 0.06
counts = torch.bincount(idx[hq], minlength=8)
print(f"steps {step}: covered {(counts >= 250).sum().item()}/8, high quality {100 * hq.float().mean().item():.2f}%, mean {p.mean(0).tolist()}, counts {counts.tolist()}")
