"""ops.py - reference implementations of kiln's engine operators in plain
PyTorch (Debian's python3-torch 1.13), written from the published
definitions: used only by tests to produce expected outputs."""

import math

import torch
import torch.nn.functional as F


def gemm(a, b, ta=False, tb=False, alpha=1.0):
    a = a.t() if ta else a
    b = b.t() if tb else b
    return alpha * (a.double() @ b.double())


def linear(x, w, b=None):
    return F.linear(x.double(), w.double(),
                    None if b is None else b.double())


def conv2d(x, w, b=None, stride=1, pad=0):
    return F.conv2d(x.double(), w.double(),
                    None if b is None else b.double(), stride=stride,
                    padding=pad)


def group_norm(x, gamma, beta, groups, eps, silu=False):
    y = F.group_norm(x.double(), groups, gamma.double(), beta.double(), eps)
    return F.silu(y) if silu else y


def layer_norm(x, gamma, beta, eps):
    return F.layer_norm(x.double(), (x.shape[-1],), gamma.double(),
                        beta.double(), eps)


def softmax(x):
    return torch.softmax(x.double(), dim=-1)


def attention(q, k, v, heads, scale, causal=False):
    """q [B, Lq, H*d], k/v [B, Lk, H*d], the way diffusers' attention
    processor and CLIP's self-attention split heads."""
    B, Lq, HD = q.shape
    Lk = k.shape[1]
    d = HD // heads
    qh = q.double().reshape(B, Lq, heads, d).transpose(1, 2)
    kh = k.double().reshape(B, Lk, heads, d).transpose(1, 2)
    vh = v.double().reshape(B, Lk, heads, d).transpose(1, 2)
    s = (qh @ kh.transpose(-1, -2)) * scale
    if causal:
        mask = torch.triu(torch.ones(Lq, Lk, dtype=torch.bool), 1)
        s = s.masked_fill(mask, float("-inf"))
    p = torch.softmax(s, dim=-1)
    return (p @ vh).transpose(1, 2).reshape(B, Lq, HD)


def act(x, kind):
    x = x.double()
    if kind == "silu":
        return F.silu(x)
    if kind == "gelu":
        return F.gelu(x)
    if kind == "quick_gelu":
        return x * torch.sigmoid(1.702 * x)
    if kind == "gelu_tanh":
        return F.gelu(x, approximate="tanh")
    raise ValueError(kind)


def add_channel(x, v):
    shape = [v.shape[0], v.shape[1]] if v.dim() == 2 else [1, v.shape[0]]
    shape += [1] * (x.dim() - 2)
    return x.double() + v.double().reshape(shape)


def geglu(x):
    h, gate = x.double().chunk(2, dim=-1)
    return h * F.gelu(gate)


def concat(a, b):
    return torch.cat([a.double(), b.double()], dim=1)


def upsample2x(x):
    return F.interpolate(x.double(), scale_factor=2.0, mode="nearest")


def transpose(x):
    return x.double().transpose(-1, -2)


def timestep_embedding(t, dim, flip_sin_to_cos=True, shift=0.0,
                       max_period=10000.0):
    """diffusers.models.embeddings.get_timestep_embedding."""
    half = dim // 2
    exponent = -math.log(max_period) * torch.arange(half, dtype=torch.float64)
    exponent = exponent / (half - shift)
    emb = t.double()[:, None] * torch.exp(exponent)[None, :]
    emb = torch.cat([torch.sin(emb), torch.cos(emb)], dim=-1)
    if flip_sin_to_cos:
        emb = torch.cat([emb[:, half:], emb[:, :half]], dim=-1)
    if dim % 2 == 1:
        emb = F.pad(emb, (0, 1))
    return emb


def embed(ids, tok, pos):
    L = ids.shape[1]
    return tok.double()[ids.long()] + pos.double()[:L][None]


def leaky_relu(x, slope=0.2):
    return F.leaky_relu(x.double(), slope)


def prelu(x, slope):
    """torch.nn.PReLU: slope [C] per channel of x [N, C, ...], or [1]."""
    return F.prelu(x.double(), slope.double())


def pixel_shuffle(x, r):
    return F.pixel_shuffle(x.double(), r)


def pixel_unshuffle(x, r):
    return F.pixel_unshuffle(x.double(), r)
