"""Writes Tests/GenerativeModelsTests/Fixtures/parity-<name>.safetensors: tiny autoregressive models
of scripts/torch/pixelcnn.py and scripts/torch/pixelcnnpp.py, their weights under deepgen's names,
one batch (the labels of the class-conditional model, the dropout masks of PixelCNN++) and what
PyTorch computes for one training step: the loss, -log p(x) in nats per image (summed over pixels
and colours, averaged over the batch, as `AutoregressiveModel.loss`), and its gradient for every
parameter. `ParityAutoregressiveTests` loads the weights into our models and requires the same
numbers, so a wrong mask, colour group, gate, recurrence or logistic bin fails a test.

The twins are imported, not copied. What they lack is added here from the papers: colour groups
of the masks (PixelRNN §3.4: mask A lets a colour see the colours predicted before it at its
pixel, mask B also itself), the label terms of the conditional Gated PixelCNN (van den Oord et
al. 2016b, eq. 4: V^T h added inside both gates of both stacks), the 256-way softmax over three
colours, and PixelCNN++'s colour mixture (Salimans et al. 2017 §2.2: the means of green and blue
move linearly with red, and green, at the same pixel). PyTorch computes in float64 from the
float32 weights, so the reference carries no rounding of its own worth speaking of.

    ~/.cache/deepgen-torch/bin/python scripts/torch/autoregressive_reference.py
"""
import math, os, sys

import torch
from torch import nn
import torch.nn.functional as F
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(__file__))
import pixelcnn as P  # noqa: E402
import pixelcnnpp as PP  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(__file__), "../../Tests/GenerativeModelsTests/Fixtures")


def colour_groups(net, groups):
    """Every masked convolution of `net` also masked by colour group at the kernel's centre."""
    for m in net.modules():
        if isinstance(m, P.MaskedConv):
            o, i, k, _ = m.weight.shape
            kind_b = m.mask[0, 0, k // 2, k // 2] == 1   # the twin's mask B opens the centre
            out_group = torch.arange(o)[:, None] // (o // groups)
            in_group = torch.arange(i)[None, :] // (i // groups)
            m.mask[:, :, k // 2, k // 2] = (in_group <= out_group if kind_b else in_group < out_group).float()


class ConditionalGatedLayer(P.GatedLayer):
    """The twin's gated layer with eq. 4's label terms: an embedding of the class added inside the
    gates of both stacks (after the vertical stack's view of the row above is taken, as ours)."""
    def __init__(self, i, p, k, residual, classes):
        super().__init__(i, p, k, residual)
        self.vertical_label = nn.Embedding(classes, 2 * p)
        self.horizontal_label = nn.Embedding(classes, 2 * p)
        self.labels = None

    def forward(self, v, h, labels=None, label_map=None):   # the labels set on the layer, as before the twin took them
        half = self.k // 2
        v_pre = self.vertical(F.pad(v, (half, half, half, 0)))
        h_pre = self.horizontal(F.pad(h, (half, 0))) + self.vertical_to_horizontal(P.shift_down(v_pre))
        v_pre = v_pre + self.vertical_label(self.labels)[:, :, None, None]
        h_pre = h_pre + self.horizontal_label(self.labels)[:, :, None, None]
        gated = P.gate(h_pre)
        h_out = h + self.residual(gated) if self.residual is not None else gated
        return P.gate(v_pre), h_out, self.skip(gated)


class Keep(nn.Module):
    """Dropout with a given keep mask (1 kept, 0 dropped), scaled by 1 / (1 - p) as nn.Dropout."""
    def __init__(self, p):
        super().__init__()
        self.p, self.mask = p, None

    def forward(self, x):
        return x * (self.mask * (1 / (1 - self.p)))


def categorical_nll(logits, images):
    """-log p(x) per batch: each colour value's 256-way softmax, summed, averaged over images."""
    n, c, h, w = images.shape
    targets = (images * 255).round().long()
    return F.cross_entropy(logits.view(n, c, 256, h, w).transpose(1, 2), targets, reduction="sum") / n


def mixture_log_likelihood(p, images, k):
    """log P(images) per image for grey (the twin's) or RGB (§2.2, written here) images."""
    if images.shape[1] == 1:
        return PP.log_likelihood(p, images, k)
    n, c, h, w = images.shape
    x = images * 2 - 1
    logits = p[:, :k]
    means = p[:, k:k + c * k].view(n, c, k, h, w)
    log_scales = p[:, k + c * k:k + 2 * c * k].view(n, c, k, h, w).clamp(min=-7)
    coeffs = torch.tanh(p[:, k + 2 * c * k:k + 2 * c * k + 3 * k].view(n, 3, k, h, w))
    red, green, blue = x[:, 0:1], x[:, 1:2], x[:, 2:3]
    means = torch.stack([means[:, 0], means[:, 1] + coeffs[:, 0] * red, means[:, 2] + coeffs[:, 1] * red + coeffs[:, 2] * green], 1)
    xs = x[:, :, None]                                      # [N, C, 1, H, W]
    centred, inverse_scale = xs - means, torch.exp(-log_scales)
    plus, minus = inverse_scale * (centred + 1 / 255), inverse_scale * (centred - 1 / 255)
    log_cdf_plus = plus - F.softplus(plus)                  # value 0: the whole lower tail
    log_one_minus_cdf_minus = -F.softplus(minus)            # value 255: the whole upper tail
    delta = torch.sigmoid(plus) - torch.sigmoid(minus)
    middle = inverse_scale * centred
    log_density_times_width = middle - log_scales - 2 * F.softplus(middle) - math.log(127.5)
    inner = torch.where(delta > 1e-5, torch.log(delta.clamp(min=1e-12)), log_density_times_width)
    per_channel = torch.where(xs < -0.999, log_cdf_plus, torch.where(xs > 0.999, log_one_minus_cdf_minus, inner))
    per_component = per_channel.sum(1) + F.log_softmax(logits, 1)
    return torch.logsumexp(per_component, 1).flatten(1).sum(1)


def binary_images(n, c, size):
    return (torch.rand(n, c, size, size) < 0.4).float()


def byte_images(n, c, size):
    """Values k / 255 as deepgen holds them, with the edge values 0 and 255 common (as in MNIST)."""
    k = torch.randint(0, 256, (n, c, size, size))
    u = torch.rand(n, c, size, size)
    k = torch.where(u < 0.3, 0, torch.where(u > 0.8, 255, k))
    return k.float() * (1 / 255)


def write(name, net, loss_fn, images, options, extra=None, trained_looking=None):
    """Weights under deepgen's names, the batch, the loss and every parameter's gradient."""
    if trained_looking:
        with torch.no_grad():
            trained_looking(net)
    names = {k: (PP.our_name if isinstance(net, PP.PixelCNNPlusPlus) else P.our_name)(k) for k, _ in net.named_parameters()}
    tensors = {f"weights.{names[k]}": v.detach().float().clone() for k, v in net.named_parameters()}
    net.double()
    loss = loss_fn(net, images.double())
    params = dict(net.named_parameters())
    grads = torch.autograd.grad(loss, list(params.values()), allow_unused=True)
    tensors["loss"] = loss.detach().reshape(1)
    for (k, p), g in zip(params.items(), grads):
        tensors[f"grad.{names[k]}"] = g if g is not None else torch.zeros_like(p)
    tensors["images"] = images
    tensors.update(extra or {})
    metadata = {k: str(v) for k, v in options.items()}
    metadata["torch"] = torch.__version__
    out = os.path.normpath(os.path.join(FIXTURES, f"parity-{name}.safetensors"))
    save_file({k: v.detach().float().contiguous() for k, v in tensors.items()}, out, metadata=metadata)
    print(f"{name}: loss {loss.item():.6f}, {len(tensors)} tensors -> {out} ({os.path.getsize(out)} bytes)")


def pixelcnn_family():
    n, size = 3, 8
    # PixelCNN, grey, Bernoulli.
    torch.manual_seed(1)
    net = P.PixelCNN(8, 1, 5)
    write("pixelcnn", net, P.binary_loss, binary_images(n, 1, size),
          dict(model="pixelcnn", features=8, layers=1, firstKernel=5, likelihood="bernoulli", channels=1))
    # PixelCNN, RGB, the 256-way softmax: colour groups in every mask.
    torch.manual_seed(2)
    net = P.PixelCNN(6, 1, 3, levels=3 * 256)
    net.input = P.MaskedConv("A", 3, 6, 3)
    colour_groups(net, 3)
    write("pixelcnn-categorical-rgb", net, lambda net, x: categorical_nll(net(x), x), byte_images(2, 3, 6),
          dict(model="pixelcnn", features=6, layers=1, firstKernel=3, likelihood="categorical", channels=3))
    # Gated PixelCNN, unconditional and class-conditional.
    torch.manual_seed(3)
    net = P.GatedPixelCNN(4, 1, 5)
    write("gated-pixelcnn", net, P.binary_loss, binary_images(n, 1, size),
          dict(model="gated-pixelcnn", features=4, layers=1, firstKernel=5, likelihood="bernoulli", channels=1))
    torch.manual_seed(4)
    classes = 3
    net = P.GatedPixelCNN(4, 1, 5)
    net.layers = nn.ModuleList(ConditionalGatedLayer(1 if i == 0 else 4, 4, 5 if i == 0 else 3, i > 0, classes) for i in range(2))
    labels = torch.tensor([2, 0, 1])

    def conditional_loss(net, x):
        for layer in net.layers:
            layer.labels = labels
        return P.binary_loss(net, x)
    write("gated-pixelcnn-conditional", net, conditional_loss, binary_images(n, 1, size),
          dict(model="gated-pixelcnn", features=4, layers=1, firstKernel=5, likelihood="bernoulli", channels=1, classes=classes),
          extra={"labels": labels.float()})
    # The twin's own label maps (eq. 5's location-dependent conditioning, s = m(h) with m linear).
    torch.manual_seed(9)
    net = P.GatedPixelCNN(4, 1, 5, classes, label_maps=2, size=size)
    write("gated-pixelcnn-label-maps", net, lambda net, x: P.binary_loss(net, x, labels), binary_images(n, 1, size),
          dict(model="gated-pixelcnn", features=4, layers=1, firstKernel=5, likelihood="bernoulli", channels=1, classes=classes,
               labelMaps=2),
          extra={"labels": labels.float()})
    # PixelRNN: Row LSTM and Diagonal BiLSTM.
    for seed, (name, row) in enumerate([("row-lstm", True), ("diagonal-bilstm", False)], 5):
        torch.manual_seed(seed)
        net = P.PixelRNN(row, 8, 1, 5)
        write(name, net, P.binary_loss, binary_images(n, 1, size),
              dict(model=name, features=8, layers=1, firstKernel=5, likelihood="bernoulli", channels=1))


def pixelcnnpp(name, channels, seed, features=2, components=2, dropout=0.5, n=2, size=8):
    torch.manual_seed(seed)
    net = PP.PixelCNNPlusPlus(features, 1, components, dropout)
    if channels != 1:   # the first convolutions take the colours and the channel of ones; the output the colour mixture
        net.first_down = PP.ShiftedConv(channels + 1, features, (2, 3), "down")
        net.first_down_for_left = PP.ShiftedConv(channels + 1, features, (1, 3), "down")
        net.first_down_right = PP.ShiftedConv(channels + 1, features, (2, 1), "down-right")
        net.output = PP.ShiftedConv(features, components * (1 + 2 * channels + 3), (1, 1), "down")
    blocks = {k: m for k, m in net.named_modules() if isinstance(m, PP.GatedResidual)}
    images = byte_images(n, channels, size)
    # The twin's forward pads with ones_like(images), one channel per colour: ours is one channel.
    # Its first convolutions see only the first C + 1 channels, which are the same either way.
    if channels != 1:
        for conv in (net.first_down, net.first_down_for_left, net.first_down_right):
            conv.forward = (lambda convolve: lambda x: convolve(x[:, :channels + 1]))(conv.convolve)
    # The shapes of the dropout masks: one pass with the twin's own dropout, recording its inputs.
    shapes = {}
    hooks = [b.dropout.register_forward_hook((lambda k: lambda m, i, o: shapes.__setitem__(k, i[0].shape))(k)) for k, b in blocks.items()]
    with torch.no_grad():
        net(images)
    for h in hooks:
        h.remove()
    masks = {k: (torch.rand(shapes[k]) >= dropout).float() for k in blocks}
    for k, b in blocks.items():
        b.dropout = Keep(dropout)
        b.dropout.mask = masks[k].double()

    def trained_looking(net):   # gains and biases away from the ones and zeros of the initialisation
        for m in net.modules():
            if isinstance(m, PP.ShiftedConv):
                m.gain.mul_(torch.exp(0.3 * torch.randn_like(m.gain)))
                m.bias.normal_(0, 0.3)
        # The mixture's means above the data and scales near e^-1: the bins' sigmoids then stay
        # away from 1, where sigma(plus) - sigma(minus) cancels in float32 (the paper's formula; for
        # values well above a mean the gradients of log delta carry errors of 1e-3 or more, in
        # PyTorch's float32 as in ours, and no reference can tell a bug from that).
        k, c = components, channels
        net.output.gain.mul_(0.3)
        net.output.bias[k:k + c * k] += 1.2
        net.output.bias[k + c * k:k + 2 * c * k] -= 1.0
    write(name, net, lambda net, x: -mixture_log_likelihood(net(x), x, components).mean(), images,
          dict(model="pixelcnn++", features=features, layers=1, components=components, dropout=dropout, likelihood="logistic-mixture",
               channels=channels),
          extra={f"keep.{k}": m for k, m in masks.items()}, trained_looking=trained_looking)


if __name__ == "__main__":
    pixelcnn_family()
    pixelcnnpp("pixelcnnpp", 1, 7)
    pixelcnnpp("pixelcnnpp-rgb", 3, 8)
