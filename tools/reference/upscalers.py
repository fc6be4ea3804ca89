"""upscalers.py - reference super-resolution networks in plain PyTorch
float64, written from basicsr's published architectures (basicsr/archs/
rrdbnet_arch.py: RRDBNet, ESRGAN and Real-ESRGAN x4plus / x2plus; and
srvgg_arch.py: SRVGGNetCompact, realesr-general-x4v3), with random
weights in the naming of each family's files: used by the tests only."""

import torch
import torch.nn.functional as F


def lrelu(x):
    return F.leaky_relu(x, 0.2)


def conv(sd, name, x):
    return F.conv2d(x, sd[name + ".weight"].to(x.dtype),
                    sd[name + ".bias"].to(x.dtype), padding=1)


def rrdbnet(sd, x, scale, dtype=torch.float64):
    """basicsr RRDBNet.forward over state dict sd (Real-ESRGAN names);
    x [N, 3, H, W] in [0, 1]; scale 4, 2 or 1 (x2 and x1 fold the input
    into channels with pixel_unshuffle first). float32 for the bench's
    PyTorch peer."""
    x = x.to(dtype)
    if scale == 2:
        x = F.pixel_unshuffle(x, 2)
    elif scale == 1:
        x = F.pixel_unshuffle(x, 4)
    feat = conv(sd, "conv_first", x)
    nb = 1 + max(int(k.split(".")[1]) for k in sd if k.startswith("body."))
    h = feat
    for b in range(nb):
        inp = h
        for r in (1, 2, 3):
            p = "body.%d.rdb%d." % (b, r)
            xs = [h]
            for c in range(1, 5):
                xs.append(lrelu(conv(sd, p + "conv%d" % c,
                                     torch.cat(xs, 1))))
            x5 = conv(sd, p + "conv5", torch.cat(xs, 1))
            h = x5 * 0.2 + h
        h = h * 0.2 + inp
    feat = feat + conv(sd, "conv_body", h)
    for up in ("conv_up1", "conv_up2"):
        feat = lrelu(conv(sd, up, F.interpolate(feat, scale_factor=2,
                                                mode="nearest")))
    return conv(sd, "conv_last", lrelu(conv(sd, "conv_hr", feat)))


def rrdbnet_weights(num_feat=16, num_block=2, num_grow_ch=8, scale=4,
                    seed=0):
    """Random weights of an RRDBNet (Real-ESRGAN names), float32, scaled
    so activations stay of order one through the blocks."""
    g = torch.Generator().manual_seed(seed)
    sd = {}

    def add(name, cout, cin, std=None):
        std = std if std is not None else (2.0 / (9 * cin)) ** 0.5
        sd[name + ".weight"] = (torch.randn(cout, cin, 3, 3, generator=g)
                                * std).float()
        sd[name + ".bias"] = (torch.randn(cout, generator=g) * 0.05).float()

    cin = 3 * {4: 1, 2: 4, 1: 16}[scale]
    nf, gc = num_feat, num_grow_ch
    add("conv_first", nf, cin)
    for b in range(num_block):
        for r in (1, 2, 3):
            p = "body.%d.rdb%d." % (b, r)
            for c in range(1, 5):
                add(p + "conv%d" % c, gc, nf + (c - 1) * gc)
            add(p + "conv5", nf, nf + 4 * gc)
    for name in ("conv_body", "conv_up1", "conv_up2", "conv_hr"):
        add(name, nf, nf)
    add("conv_last", 3, nf)
    return sd


def to_old_esrgan(sd):
    """The same weights under the original ESRGAN repository's names
    (model.0, model.1.sub.N.RDB1.conv1.0, ..., model.10), those of most
    community 4x models."""
    nb = 1 + max(int(k.split(".")[1]) for k in sd if k.startswith("body."))
    fixed = {"conv_first": "model.0", "conv_body": "model.1.sub.%d" % nb,
             "conv_up1": "model.3", "conv_up2": "model.6",
             "conv_hr": "model.8", "conv_last": "model.10"}
    out = {}
    for k, v in sd.items():
        mod, leaf = k.rsplit(".", 1)
        if mod in fixed:
            out[fixed[mod] + "." + leaf] = v
            continue
        _, b, rdb, c = mod.split(".")
        out["model.1.sub.%s.%s.%s.0.%s" % (b, rdb.upper(), c, leaf)] = v
    return out


def srvgg(sd, x, dtype=torch.float64):
    """basicsr SRVGGNetCompact.forward (PReLU activations), the scale and
    depth read off the weights."""
    x = x.to(dtype)
    convs = sorted(int(k.split(".")[1]) for k in sd
                   if k.endswith(".weight") and sd[k].dim() == 4)
    h = x
    for i in range(convs[-1] + 1):
        w = sd["body.%d.weight" % i].to(dtype)
        if w.dim() == 4:
            h = F.conv2d(h, w, sd["body.%d.bias" % i].to(dtype), padding=1)
        else:
            h = F.prelu(h, w)
    s = int(round((h.shape[1] // x.shape[1]) ** 0.5))
    return F.pixel_shuffle(h, s) + F.interpolate(x, scale_factor=s,
                                                 mode="nearest")


def srvgg_weights(num_feat=16, num_conv=4, scale=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    sd = {}
    i = 0

    def add_conv(cout, cin):
        nonlocal i
        sd["body.%d.weight" % i] = (torch.randn(cout, cin, 3, 3, generator=g)
                                    * (2.0 / (9 * cin)) ** 0.5).float()
        sd["body.%d.bias" % i] = (torch.randn(cout, generator=g)
                                  * 0.05).float()
        i += 1

    def add_prelu():
        nonlocal i
        sd["body.%d.weight" % i] = (0.25 + 0.1 * torch.randn(
            num_feat, generator=g)).float()
        i += 1

    add_conv(num_feat, 3)
    add_prelu()
    for _ in range(num_conv):
        add_conv(num_feat, num_feat)
        add_prelu()
    add_conv(3 * scale * scale, num_feat)
    return sd
