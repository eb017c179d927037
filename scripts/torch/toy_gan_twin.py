# PyTorch twin of deepgen's gan on ring8 (same perceptrons, rates and scaling), for telling the engine from
# the recipe: python toy_gan_twin.py MINUTES linear|tanh [SEED]; prints the modes covered as deepgen eval does.
import math, sys, time, torch, torch.nn as nn, torch.nn.functional as F
torch.manual_seed(int(sys.argv[3]) if len(sys.argv) > 3 else 0); torch.set_num_threads(1)
minutes = float(sys.argv[1]); tanh = sys.argv[2] == "tanh"
ext = 2.5
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
oG = torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999)); oD = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
start = time.time(); step = 0
while time.time() - start < minutes * 60:
    real = data(128); fake = G(torch.randn(128, 100)).detach()
    lossD = F.softplus(-D(real)).mean() + F.softplus(D(fake)).mean()
    oD.zero_grad(); lossD.backward(); oD.step(); step += 1
    lossG = F.softplus(-D(G(torch.randn(128, 100)))).mean(); oG.zero_grad(); lossG.backward(); oG.step()
with torch.no_grad(): p = G(torch.randn(10000, 100)) * ext
modes = torch.tensor([[2 * math.cos(2 * math.pi * k / 8), 2 * math.sin(2 * math.pi * k / 8)] for k in range(8)])
dist, idx = torch.cdist(p, modes).min(1); hq = dist <= 0.06
counts = torch.bincount(idx[hq], minlength=8)
print(f"{'tanh' if tanh else 'linear'} steps {step}: covered {(counts >= 250).sum().item()}/8, high quality {100 * hq.float().mean().item():.2f}%, mean {[round(v,2) for v in p.mean(0).tolist()]}, counts {counts.tolist()}")
