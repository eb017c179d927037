"""Writes Tests/GenerativeModelsTests/Fixtures/parity-pix2pix.safetensors and parity-cyclegan.safetensors:
a tiny Pix2Pix and a tiny CycleGAN (16 px RGB, 2 features) built here in PyTorch from the papers
(Isola et al. 2017; Zhu et al. 2017) and deepgen's documented options, their weights under deepgen's
names, one batch with its randomness, and what one full training step computes for BOTH players:
every loss term and the gradient of each player's loss for every one of its parameters.
`ParityTranslationTests` loads the weights into our models, runs the step trainStep runs and
requires the same numbers, so a dropped or misweighted term, a wrong GAN loss or a wrong backward
fails a test. Computed in float64 (stored as float32) so the reference carries no rounding of its own.

Pix2Pix (§3, appendix 6.1): U-Net G with dropout 0.5 in the three innermost decoder blocks (the masks,
drawn here, are stored), PatchGAN D on (x, y) concatenated along channels, BatchNorm. One step as
deepgen takes it: D first, minimising (BCE(D(x, y), 1) + BCE(D(x, G(x)), 0)) / 2; one Adam step
(lr 2e-4, betas 0.5, 0.999); then G against the updated D: BCE(D(x, G(x)), 1) + 100 * mean |G(x) - y|.

CycleGAN (§3-4): ResNet generators G: A -> B and F: B -> A (reflection padding, InstanceNorm), PatchGANs
D_A, D_B (InstanceNorm), least-squares GAN. G's loss: MSE(D_B(G(a)), 1) + MSE(D_A(F(b)), 1)
+ 10 * (|F(G(a)) - a| + |G(F(b)) - b|) + 5 * (|G(b) - b| + |F(a) - a|) (L1 means); then D's loss
0.5 * (MSE(D_B(b), 1) + MSE(D_B(G(a)), 0)) + 0.5 * (MSE(D_A(a), 1) + MSE(D_A(F(b)), 0)) on the
first step's fakes, which an empty history of 50 passes through unchanged.

Images in the fixtures are in [0, 1] as a batch holds them; the models work in [-1, 1].

    ~/.cache/deepgen-torch/bin/python scripts/torch/translation_reference.py
"""
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

SIZE, CHANNELS, FEATURES, N, BLOCKS = 16, 3, 2, 2, 1
L1_WEIGHT, CYCLE_WEIGHT, IDENTITY_FRACTION, LR, BETAS = 100.0, 10.0, 0.5, 2e-4, (0.5, 0.999)
FIXTURES = os.path.join(os.path.dirname(__file__), "../../Tests/GenerativeModelsTests/Fixtures")


class Block(nn.Module):
    """A chain of layers kept under `layers`, so the state dict reads `<block>.layers.<i>.<name>`."""

    def __init__(self, *layers):
        super().__init__()
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x)


class UNet(nn.Module):
    """Encoder: 4x4 stride-2 convolutions, BatchNorm except on the first and the innermost, LeakyReLU 0.2.
    Decoder: 4x4 stride-2 transposed convolutions, BatchNorm, dropout 0.5 in the three innermost, ReLU; the
    outermost ends in tanh. Each decoder block after the innermost takes the previous block's output
    concatenated (after it) with the encoder's output of the same size. Widths f, 2f, 4f, 8f, 8f, ..."""

    def __init__(self, c, f, depth):
        super().__init__()
        widths = [f * 2 ** min(i, 3) for i in range(depth)]
        self.down = nn.ModuleList()
        for i in range(depth):
            conv = nn.Conv2d(c if i == 0 else widths[i - 1], widths[i], 4, 2, 1)
            norm = [nn.BatchNorm2d(widths[i])] if 0 < i < depth - 1 else []
            self.down.append(Block(conv, *norm, nn.LeakyReLU(0.2)))
        self.up = nn.ModuleList()
        self.dropout_blocks = []
        for j in range(depth):
            level = depth - 1 - j
            inputs = widths[level] * (1 if j == 0 else 2)
            if level == 0:
                self.up.append(Block(nn.ConvTranspose2d(inputs, c, 4, 2, 1), nn.Tanh()))
            else:
                self.up.append(Block(nn.ConvTranspose2d(inputs, widths[level - 1], 4, 2, 1, bias=False), nn.BatchNorm2d(widths[level - 1])))
                if j < 3:
                    self.dropout_blocks.append(j)

    def forward(self, x, masks):
        """`masks`: 0/1 keep masks, one per dropout block, innermost first (dropout 0.5: kept units x2)."""
        skips, h = [], x
        for block in self.down:
            h = block(h)
            skips.append(h)
        skips.pop()
        masks = list(masks)
        for j, block in enumerate(self.up):
            h = block(h if j == 0 else torch.cat([h, skips.pop()], 1))
            if j in self.dropout_blocks:
                h = h * masks.pop(0) / 0.5
            if j < len(self.up) - 1:
                h = F.relu(h)
        return h

    def mask_shapes(self, n, size):
        """Up block j restores the size of the encoder's input at its level, size / 2^level."""
        depth = len(self.up)
        return [(n, self.up[j].layers[1].num_features, size >> (depth - 1 - j), size >> (depth - 1 - j)) for j in self.dropout_blocks]


class PatchGAN(nn.Module):
    """Isola et al. §3.2.2: logits per overlapping patch; two 4x4 stride-2 and two stride-1 convolutions."""

    def __init__(self, c, f, norm):
        super().__init__()
        self.body = Block(nn.Conv2d(c, f, 4, 2, 1), nn.LeakyReLU(0.2),
                          nn.Conv2d(f, 2 * f, 4, 2, 1, bias=False), norm(2 * f), nn.LeakyReLU(0.2),
                          nn.Conv2d(2 * f, 4 * f, 4, 1, 1, bias=False), norm(4 * f), nn.LeakyReLU(0.2),
                          nn.Conv2d(4 * f, 1, 4, 1, 1))

    def forward(self, x):
        return self.body(x)


def instance_norm(n):
    return nn.InstanceNorm2d(n, affine=True)


class Reflect(nn.Module):
    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, x):
        return F.pad(x, (self.p,) * 4, mode="reflect")


class ResNetGenerator(nn.Module):
    """Johnson et al. / Zhu et al. appendix 7.2: c7s1-f, d2f, d4f, residual blocks of two reflection-padded
    3x3 convolutions, u2f, uf, c7s1-c, tanh; InstanceNorm (affine) and ReLU throughout."""

    def __init__(self, c, f, blocks):
        super().__init__()
        self.stem = nn.Conv2d(c, f, 7)
        self.body = Block(instance_norm(f), nn.ReLU(), nn.Conv2d(f, 2 * f, 3, 2, 1), instance_norm(2 * f), nn.ReLU(),
                          nn.Conv2d(2 * f, 4 * f, 3, 2, 1), instance_norm(4 * f), nn.ReLU())
        self.blocks = nn.ModuleList(Block(Reflect(1), nn.Conv2d(4 * f, 4 * f, 3), instance_norm(4 * f), nn.ReLU(),
                                          Reflect(1), nn.Conv2d(4 * f, 4 * f, 3), instance_norm(4 * f)) for _ in range(blocks))
        self.head = Block(nn.ConvTranspose2d(4 * f, 2 * f, 3, 2, 1, output_padding=1), instance_norm(2 * f), nn.ReLU(),
                          nn.ConvTranspose2d(2 * f, f, 3, 2, 1, output_padding=1), instance_norm(f), nn.ReLU())
        self.last = nn.Conv2d(f, c, 7)

    def forward(self, x):
        h = self.body(self.stem(F.pad(x, (3,) * 4, mode="reflect")))
        for block in self.blocks:
            h = h + block(h)
        return torch.tanh(self.last(F.pad(self.head(h), (3,) * 4, mode="reflect")))


def randomise(net):
    """Trained-looking values: weights of a unit gain (not the DCGAN init's tiny ones), norms off 1 and 0."""
    with torch.no_grad():
        for name, p in net.named_parameters():
            if p.dim() > 1:
                p.normal_(0, p[0].numel() ** -0.5)
            elif name.endswith("weight"):
                p.normal_(1, 0.2)
            else:
                p.normal_(0, 0.2)
            p.copy_(p.float().double())   # what the fixture stores is what the reference computes from


def images():
    return torch.rand(N, CHANNELS, SIZE, SIZE).float().double()


def weights(tensors, prefix, net):
    for name, p in net.named_parameters():
        tensors[f"weights.{prefix}.{name}"] = p


def gradients(tensors, label, loss, nets):
    """The loss, and its gradient for every parameter of the player (`nets`: prefix -> module)."""
    tensors[label] = loss.detach().reshape(1)
    named = [(f"{prefix}.{name}", p) for prefix, net in nets.items() for name, p in net.named_parameters()]
    grads = torch.autograd.grad(loss, [p for _, p in named], retain_graph=True)
    for (name, _), g in zip(named, grads):
        tensors[f"{label}.{name}"] = g


def save(name, tensors, metadata):
    out = os.path.normpath(os.path.join(FIXTURES, name))
    save_file({k: v.detach().float().contiguous() for k, v in tensors.items()}, out,
              metadata={**{k: str(v) for k, v in metadata.items()}, "torch": torch.__version__})
    print(f"{len(tensors)} tensors -> {out} ({os.path.getsize(out)} bytes)")


def pix2pix():
    torch.manual_seed(11)
    depth = 4   # 16 px: the options' 5 halvings capped at 16 / 2^4 = 1
    g, d = UNet(CHANNELS, FEATURES, depth).double(), PatchGAN(2 * CHANNELS, FEATURES, nn.BatchNorm2d).double()
    randomise(g); randomise(d)
    tensors = {}
    weights(tensors, "generator", g); weights(tensors, "discriminator", d)
    tensors = {k: v.detach().clone() for k, v in tensors.items()}   # before the step
    inputs, targets = images(), images()
    x, y = inputs * 2 - 1, targets * 2 - 1
    masks = [torch.bernoulli(torch.full(s, 0.5, dtype=torch.double)) for s in g.mask_shapes(N, SIZE)]
    output = g(x, masks)

    def judge(x, y):
        return d(torch.cat([x, y], 1))

    real, fake = judge(x, y), judge(x, output.detach())
    loss_d = 0.5 * (F.binary_cross_entropy_with_logits(real, torch.ones_like(real)) + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))
    gradients(tensors, "loss_d", loss_d, {"discriminator": d})
    optimizer = torch.optim.Adam(d.parameters(), lr=LR, betas=BETAS)
    d.zero_grad()
    loss_d.backward()
    optimizer.step()
    for name, p in d.named_parameters():
        tensors[f"stepped.discriminator.{name}"] = p.detach().clone()
    fake = judge(x, output)
    gan = F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))
    l1 = F.l1_loss(output, y)
    gradients(tensors, "loss_g", gan + L1_WEIGHT * l1, {"generator": g})
    tensors.update({"gan_g": gan.detach().reshape(1), "l1": l1.detach().reshape(1), "inputs": inputs, "targets": targets})
    tensors.update({f"dropout.{i}": m for i, m in enumerate(masks)})
    save("parity-pix2pix.safetensors", tensors, {"features": FEATURES, "depth": depth, "l1_weight": L1_WEIGHT, "learning_rate": LR})


def cyclegan():
    torch.manual_seed(12)
    nets = {"forward": ResNetGenerator(CHANNELS, FEATURES, BLOCKS), "backward": ResNetGenerator(CHANNELS, FEATURES, BLOCKS),
            "critic_a": PatchGAN(CHANNELS, FEATURES, instance_norm), "critic_b": PatchGAN(CHANNELS, FEATURES, instance_norm)}
    tensors = {}
    for prefix, net in nets.items():
        net.double()
        randomise(net)
        weights(tensors, prefix, net)
    tensors = {k: v.detach().clone() for k, v in tensors.items()}
    G, F_, DA, DB = nets["forward"], nets["backward"], nets["critic_a"], nets["critic_b"]
    images_a, images_b = images(), images()
    a, b = images_a * 2 - 1, images_b * 2 - 1

    def lsgan(scores, target):
        return F.mse_loss(scores, torch.full_like(scores, target))

    fake_b, fake_a = G(a), F_(b)
    gan = lsgan(DB(fake_b), 1.0) + lsgan(DA(fake_a), 1.0)
    cycle = F.l1_loss(F_(fake_b), a) + F.l1_loss(G(fake_a), b)
    identity = F.l1_loss(G(b), b) + F.l1_loss(F_(a), a)
    loss_g = gan + CYCLE_WEIGHT * cycle + CYCLE_WEIGHT * IDENTITY_FRACTION * identity
    gradients(tensors, "loss_g", loss_g, {"forward": G, "backward": F_})
    # D on the first step's fakes: an empty history stores them and passes them on.
    loss_d = 0.5 * (lsgan(DB(b), 1.0) + lsgan(DB(fake_b.detach()), 0.0)) + 0.5 * (lsgan(DA(a), 1.0) + lsgan(DA(fake_a.detach()), 0.0))
    gradients(tensors, "loss_d", loss_d, {"critic_a": DA, "critic_b": DB})
    tensors.update({"gan_g": gan.detach().reshape(1), "cycle": cycle.detach().reshape(1), "identity": identity.detach().reshape(1),
                    "a": images_a, "b": images_b})
    save("parity-cyclegan.safetensors", tensors, {"features": FEATURES, "residual_blocks": BLOCKS, "cycle_weight": CYCLE_WEIGHT,
                                                  "identity_fraction": IDENTITY_FRACTION})


if __name__ == "__main__":
    torch.set_default_dtype(torch.double)
    pix2pix()
    cyclegan()
