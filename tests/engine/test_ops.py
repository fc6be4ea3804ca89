"""Every engine operator against the PyTorch reference
(tools/reference/ops.py) on PoCL, on random inputs with fixed seeds.
Tolerance: max abs error <= 1e-4 of the output's scale (max |ref|)."""

import os
import shutil
import tempfile

import torch

import engine_common as ec
import ops as ref

STACK = None
TOL = 1e-4

_cases = []         # (group, label, out_path, expected, argline)
_run = {}


def shape_str(shape):
    return "x".join(str(int(s)) for s in shape)


def case(group, label, op, inputs, expected, sets=None):
    _cases.append(dict(group=group, label=label, op=op, inputs=inputs,
                       expected=expected, sets=sets or {}))


def build_cases():
    g = torch.Generator().manual_seed(1234)

    def r(*shape, scale=1.0):
        return (torch.randn(*shape, generator=g) * scale).float()

    # GEMM: odd sizes, transposes, and a shape from the SD 1.5 UNet.
    a, b = r(37, 71), r(71, 53)
    case("gemm", "37x71 * 71x53", "gemm", [a, b], ref.gemm(a, b))
    a, b = r(71, 37), r(53, 71)
    case("gemm", "transposed A and B", "gemm", [a, b],
         ref.gemm(a, b, True, True), {"ta": 1, "tb": 1})
    a, b = r(256, 320), r(320, 640)
    case("gemm", "256x320 * 320x640", "gemm", [a, b], ref.gemm(a, b))

    x, w, bias = r(2, 77, 768), r(320, 768, scale=0.05), r(320)
    case("linear", "with bias", "linear", [x, w, bias],
         ref.linear(x, w, bias))
    case("linear", "without bias", "linear", [x, w], ref.linear(x, w))

    x = r(2, 8, 13, 11)
    for k, s, p in ((3, 1, 1), (3, 2, 1), (1, 1, 0), (3, 1, 0)):
        w, bias = r(16, 8, k, k, scale=0.2), r(16)
        case("conv2d", "%dx%d stride %d pad %d" % (k, k, s, p), "conv2d",
             [x, w, bias], ref.conv2d(x, w, bias, s, p),
             {"stride": s, "pad": p})
    # Rows wide enough for the 16-float copies of a stride-1 im2col line,
    # with the padding cut at both ends.
    xw = r(1, 4, 5, 41)
    for p in (1, 0):
        w, bias = r(8, 4, 3, 3, scale=0.2), r(8)
        case("conv2d", "3x3 stride 1 pad %d, 41 wide" % p, "conv2d",
             [xw, w, bias], ref.conv2d(xw, w, bias, 1, p),
             {"stride": 1, "pad": p})
    # A column buffer of 3 output lines at a time: 5 bands, the last short.
    w, bias = r(16, 8, 3, 3, scale=0.2), r(16)
    case("conv2d", "banded im2col, stride 2", "conv2d", [x, w, bias],
         ref.conv2d(x, w, bias, 2, 1),
         {"stride": 2, "pad": 1, "band": 8 * 9 * 6 * 4 * 3})
    case("conv2d", "banded im2col, one line per band", "conv2d",
         [x, w, bias], ref.conv2d(x, w, bias, 1, 1),
         {"stride": 1, "pad": 1, "band": 1})
    w = r(4, 8, 3, 3, scale=0.2)
    case("conv2d", "3x3 no bias", "conv2d", [x, w], ref.conv2d(x, w, None,
                                                                 1, 1),
         {"stride": 1, "pad": 1})

    x, gm, bt = r(2, 64, 8, 8, scale=3.0) + 1.5, r(64), r(64)
    case("group_norm", "32 groups", "group_norm", [x, gm, bt],
         ref.group_norm(x, gm, bt, 32, 1e-5), {"groups": 32, "eps": 1e-5})
    case("group_norm", "32 groups + SiLU, eps 1e-6", "group_norm",
         [x, gm, bt], ref.group_norm(x, gm, bt, 32, 1e-6, True),
         {"groups": 32, "eps": 1e-6, "silu": 1})
    x = r(1, 320, 16, 16)
    gm, bt = r(320), r(320)
    case("group_norm", "320 channels", "group_norm", [x, gm, bt],
         ref.group_norm(x, gm, bt, 32, 1e-5), {"groups": 32})

    x, gm, bt = r(2, 77, 768) * 2 + 0.5, r(768), r(768)
    case("layer_norm", "CLIP width", "layer_norm", [x, gm, bt],
         ref.layer_norm(x, gm, bt, 1e-5), {"eps": 1e-5})

    x = r(3, 5, 333, scale=4.0)
    case("softmax", "rows of 333", "softmax", [x], ref.softmax(x))

    # Every case through both kernels: the fused one (CPUs) and the
    # blocked GEMMs with softmax (other devices, and long heads).
    for impl in ("fused", "blocked"):
        q, k, v = r(2, 77, 768), r(2, 77, 768), r(2, 77, 768)
        case("attention", "%s: CLIP causal, 12 heads" % impl, "attention",
             [q, k, v], ref.attention(q, k, v, 12, 64 ** -0.5, True),
             {"heads": 12, "scale": 64 ** -0.5, "causal": 1,
              "impl": impl})
        q, k, v = r(2, 64, 320), r(2, 77, 320), r(2, 77, 320)
        case("attention", "%s: cross-attention 64x77, 8 heads" % impl,
             "attention", [q, k, v], ref.attention(q, k, v, 8, 40 ** -0.5),
             {"heads": 8, "scale": 40 ** -0.5, "impl": impl})
        q, k, v = r(1, 253, 320), r(1, 253, 320), r(1, 253, 320)
        # blocked: a budget of 20 query rows, 13 blocks, the last short.
        case("attention", "%s: 253 queries, odd blocks" % impl,
             "attention", [q, k, v], ref.attention(q, k, v, 8, 40 ** -0.5),
             {"heads": 8, "scale": 40 ** -0.5, "budget": 8 * 253 * 4 * 20,
              "impl": impl})
        q = r(2, 77, 768)
        case("attention", "%s: causal and blocked" % impl, "attention",
             [q, q, q], ref.attention(q, q, q, 12, 0.125, True),
             {"heads": 12, "scale": 0.125, "causal": 1,
              "budget": 12 * 77 * 4 * 10, "impl": impl})
        q, k, v = r(1, 9, 2 * 160), r(1, 40, 2 * 160), r(1, 40, 2 * 160)
        case("attention", "%s: head width 160 (SD 1.x deepest)" % impl,
             "attention", [q, k, v], ref.attention(q, k, v, 2, 160 ** -0.5),
             {"heads": 2, "scale": 160 ** -0.5, "impl": impl})
        # The fused kernel's edges: 16 queries per item (300 and 37 are
        # not multiples), keys in tiles of 32 scored 16 at a time (300,
        # 50, 77 and 100 end inside a tile or half-tile), output columns
        # in chunks of 16, then 8, then single ones (d = 44 has all
        # three); 300 keys of 640 channels are past the size that walks
        # the heads first.
        q, k, v = r(1, 300, 640), r(1, 300, 640), r(1, 300, 640)
        case("attention", "%s: 300 tokens, 8 heads of 80" % impl,
             "attention", [q, k, v], ref.attention(q, k, v, 8, 80 ** -0.5),
             {"heads": 8, "scale": 80 ** -0.5, "impl": impl})
        q, k, v = r(2, 37, 88), r(2, 50, 88), r(2, 50, 88)
        case("attention", "%s: 37 queries, 50 keys, 2 heads of 44" % impl,
             "attention", [q, k, v], ref.attention(q, k, v, 2, 44 ** -0.5),
             {"heads": 2, "scale": 44 ** -0.5, "impl": impl})
        q, k, v = r(2, 70, 640), r(2, 77, 640), r(2, 77, 640)
        case("attention", "%s: SDXL cross-attention, 10 heads of 64" % impl,
             "attention", [q, k, v], ref.attention(q, k, v, 10, 0.125),
             {"heads": 10, "scale": 0.125, "impl": impl})
        q = r(1, 100, 120)
        case("attention", "%s: causal 100 tokens, 3 heads of 40" % impl,
             "attention", [q, q, q], ref.attention(q, q, q, 3, 40 ** -0.5,
                                                   True),
             {"heads": 3, "scale": 40 ** -0.5, "causal": 1, "impl": impl})
        # Scores spread over tens of units, the keys' scale growing
        # along the sequence: the running maximum moves tile after
        # tile, and the rescaling of the sums and outputs shows.
        q = r(1, 40, 128, scale=3.0)
        k = r(1, 200, 128) * torch.linspace(0.2, 3.0, 200).reshape(1, 200, 1)
        v = r(1, 200, 128)
        case("attention", "%s: sharp softmax, growing maximum" % impl,
             "attention", [q, k, v], ref.attention(q, k, v, 2, 0.125),
             {"heads": 2, "scale": 0.125, "impl": impl})
    q, k, v = r(1, 16, 512), r(1, 16, 512), r(1, 16, 512)
    case("attention", "one head of 512 (VAE): blocked on every device",
         "attention", [q, k, v], ref.attention(q, k, v, 1, 512 ** -0.5),
         {"heads": 1, "scale": 512 ** -0.5, "impl": "fused"})

    a, b = r(2, 3, 50), r(2, 3, 50)
    case("elementwise", "add", "add", [a, b], a.double() + b.double())
    case("elementwise", "mul", "mul", [a, b], a.double() * b.double())
    case("elementwise", "scale", "scale", [a], a.double() * -0.5,
         {"s": -0.5})
    x = r(4, 1000, scale=4.0)
    for kind in ("silu", "gelu", "quick_gelu", "gelu_tanh"):
        case("activations", kind, "act", [x], ref.act(x, kind),
             {"kind": kind})
    x = r(2, 16, 5, 7)
    v = r(16)
    case("broadcast", "per-channel bias", "add_channel", [x, v],
         ref.add_channel(x, v))
    v = r(2, 16)
    case("broadcast", "per-sample vector", "add_channel", [x, v],
         ref.add_channel(x, v))
    x = r(2, 10, 2 * 24)
    case("geglu", "diffusers split order", "geglu", [x], ref.geglu(x))
    a, b = r(2, 5, 4, 3), r(2, 7, 4, 3)
    case("layout", "concat channels", "concat", [a, b], ref.concat(a, b))
    x = r(2, 3, 5, 4)
    case("layout", "nearest upsample 2x", "upsample2x", [x],
         ref.upsample2x(x))
    # The upscalers' activations: RRDBNet's LeakyReLU(0.2), SRVGGNet's
    # per-channel PReLU (and the one-parameter form).
    x = r(2, 16, 5, 7, scale=2.0)
    case("upscaler_acts", "leaky_relu 0.2", "leaky_relu", [x],
         ref.leaky_relu(x, 0.2), {"slope": 0.2})
    a = r(16, scale=0.5)
    case("upscaler_acts", "prelu per channel", "prelu", [x, a],
         ref.prelu(x, a))
    a = r(1, scale=0.5)
    case("upscaler_acts", "prelu one slope", "prelu", [x, a],
         ref.prelu(x, a))
    # Shuffles by 2 and 4 on odd sizes, each with its inverse.
    for k in (2, 4):
        x = r(2, 3 * k * k, 5, 3)
        case("layout", "pixel_shuffle %d" % k, "pixel_shuffle", [x],
             ref.pixel_shuffle(x, k), {"r": k})
        x = r(2, 3, 5 * k, 3 * k)
        case("layout", "pixel_unshuffle %d" % k, "pixel_unshuffle", [x],
             ref.pixel_unshuffle(x, k), {"r": k})
    x = r(2, 7, 9)
    case("layout", "transpose last two axes", "transpose", [x],
         ref.transpose(x))
    t = torch.tensor([0.0, 1.0, 999.0, 500.5]).float()
    case("timestep", "flip_sin_to_cos, 320", "timestep", [t],
         ref.timestep_embedding(t, 320, True, 0.0),
         {"flip": 1, "shift": 0.0, "out_dim": 320})
    case("timestep", "sin first, shift 1, odd 33", "timestep", [t],
         ref.timestep_embedding(t, 33, False, 1.0),
         {"flip": 0, "shift": 1.0, "out_dim": 33})
    ids = torch.tensor([[49406, 320, 1125, 49407], [49406, 0, 5, 49407]])
    tok, pos = r(49408, 8), r(77, 8)
    case("embed", "tokens + positions", "embed", [ids, tok, pos],
         ref.embed(ids, tok, pos))


def run_all():
    if _run:
        return _run
    build_cases()
    work = tempfile.mkdtemp(prefix="kiln-ops-")
    lines = []
    for i, c in enumerate(_cases):
        args = [c["op"]]
        for j, t in enumerate(c["inputs"]):
            path = os.path.join(work, "c%d_in%d.bin" % (i, j))
            if t.dtype in (torch.int64, torch.int32):
                t.int().numpy().tofile(path)
            else:
                t.float().numpy().tofile(path)
            args += ["--in", "%s=%s" % (shape_str(t.shape), path)]
        out = os.path.join(work, "c%d_out.bin" % i)
        c["out"] = out
        args += ["--out", "%s=%s" % (shape_str(c["expected"].shape), out)]
        for k, v in c["sets"].items():
            if k != "out_dim":
                args += ["--set", "%s=%s" % (k, v)]
        lines.append(" ".join(args))
    batch = os.path.join(work, "batch.txt")
    with open(batch, "w") as f:
        f.write("\n".join(lines) + "\n")
    p = ec.kiln_render(["op", "--batch", batch])
    _run["stderr"] = p.stderr
    _run["work"] = work
    return _run


def check(group):
    run = run_all()
    problems = []
    seen = 0
    for c in _cases:
        if c["group"] != group:
            continue
        seen += 1
        if not os.path.exists(c["out"]):
            problems.append("%s: no output (%s)" % (c["label"],
                                                    run["stderr"][-500:]))
            continue
        got = torch.from_numpy(
            __import__("numpy").fromfile(c["out"], dtype="float32")
        ).reshape(c["expected"].shape)
        err = ec.rel_err(got, c["expected"])
        if not err <= TOL:
            problems.append("%s: relative error %.3g > %g" %
                            (c["label"], err, TOL))
    assert seen > 0, "no cases in group %s" % group
    assert not problems, "\n".join(problems)


def test_gemm(_):
    check("gemm")


def test_linear(_):
    check("linear")


def test_conv2d(_):
    check("conv2d")


def test_group_norm(_):
    check("group_norm")


def test_layer_norm(_):
    check("layer_norm")


def test_softmax(_):
    check("softmax")


def test_attention(_):
    check("attention")


def test_elementwise(_):
    check("elementwise")


def test_activations(_):
    check("activations")


def test_upscaler_activations(_):
    check("upscaler_acts")


def test_broadcast_adds(_):
    check("broadcast")


def test_geglu(_):
    check("geglu")


def test_layout_ops(_):
    check("layout")


def test_timestep_embedding(_):
    check("timestep")


def test_token_embedding(_):
    check("embed")


def test_batch_reported_no_errors(_):
    run = run_all()
    assert run["stderr"] == "", run["stderr"][-3000:]
    shutil.rmtree(run["work"], ignore_errors=True)
