"""samplers.py - float64 reference for kiln's noise schedules, sigma lists,
samplers and seeded RNG, written from the published algorithms:
k-diffusion (sampling.py: sample_euler, sample_euler_ancestral, sample_heun,
sample_dpmpp_2m, get_sigmas_karras, get_ancestral_step; external.py:
DiscreteSchedule, DiscreteEpsDDPMDenoiser, DiscreteVDDPMDenoiser) and
diffusers (DDIMScheduler.set_timesteps/step, LCMScheduler.set_timesteps/
step), plus the synthetic model of `kiln-render sample-test` and a Python
implementation of render-daemon/engine/rng.c so noise matches bit for bit."""

import math

import numpy as np

# ---------------------------------------------------------------- RNG

M0, M1 = 0xD2511F53, 0xCD9E8D57
W0, W1 = 0x9E3779B9, 0xBB67AE85
MASK = 0xFFFFFFFF


def philox4x32_10(ctr, key):
    """Random123's Philox4x32-10 on Python ints."""
    c0, c1, c2, c3 = ctr
    k0, k1 = key
    for rnd in range(10):
        if rnd:
            k0 = (k0 + W0) & MASK
            k1 = (k1 + W1) & MASK
        p0 = M0 * c0
        p1 = M1 * c2
        c0, c1, c2, c3 = ((p1 >> 32) ^ c1 ^ k0, p1 & MASK,
                          (p0 >> 32) ^ c3 ^ k1, p0 & MASK)
    return [c0, c1, c2, c3]


class KilnRng:
    """Philox4x32-10 keyed by the seed, Box-Muller in double, cast to
    float32; see rng.h for the definition."""

    def __init__(self, seed):
        seed &= (1 << 64) - 1
        self.key = (seed & MASK, seed >> 32)
        self.block = 0
        self.spare = None

    def _pair(self):
        w = philox4x32_10([self.block & MASK, self.block >> 32, 0, 0],
                          self.key)
        self.block += 1
        a = (w[1] << 32) | w[0]
        b = (w[3] << 32) | w[2]
        u1 = ((a >> 11) + 0.5) * 2.0 ** -53
        u2 = (b >> 11) * 2.0 ** -53
        r = math.sqrt(-2.0 * math.log(u1))
        return (np.float32(r * math.cos(6.283185307179586 * u2)),
                np.float32(r * math.sin(6.283185307179586 * u2)))

    def normal(self, n):
        out = np.empty(n, dtype=np.float32)
        i = 0
        if n and self.spare is not None:
            out[0] = self.spare
            self.spare = None
            i = 1
        while i < n:
            z0, z1 = self._pair()
            out[i] = z0
            i += 1
            if i < n:
                out[i] = z1
                i += 1
            else:
                self.spare = z1
        return out


# ---------------------------------------------------------------- schedules

class Schedule:
    def __init__(self, beta_schedule="scaled_linear", prediction="eps",
                 T=1000, beta_start=0.00085, beta_end=0.012):
        if beta_schedule == "scaled_linear":
            betas = np.linspace(beta_start ** 0.5, beta_end ** 0.5, T) ** 2
        elif beta_schedule == "linear":
            betas = np.linspace(beta_start, beta_end, T)
        else:
            raise ValueError(beta_schedule)
        self.T = T
        self.prediction = prediction
        self.alphas_cumprod = np.cumprod(1.0 - betas)
        self.sigmas = ((1 - self.alphas_cumprod) / self.alphas_cumprod) ** 0.5
        self.log_sigmas = np.log(self.sigmas)

    # k-diffusion DiscreteSchedule.sigma_to_t / t_to_sigma
    def sigma_to_t(self, sigma):
        log_sigma = math.log(sigma)
        dists = log_sigma - self.log_sigmas
        low_idx = min(int(np.argmax(np.cumsum(dists >= 0))), self.T - 2)
        high_idx = low_idx + 1
        low, high = self.log_sigmas[low_idx], self.log_sigmas[high_idx]
        w = min(max((low - log_sigma) / (low - high), 0.0), 1.0)
        return (1 - w) * low_idx + w * high_idx

    def t_to_sigma(self, t):
        low_idx, high_idx, w = math.floor(t), math.ceil(t), t - math.floor(t)
        return math.exp((1 - w) * self.log_sigmas[low_idx] +
                        w * self.log_sigmas[high_idx])

    def get_sigmas(self, n):
        t = np.linspace(self.T - 1, 0, n)
        return np.array([self.t_to_sigma(x) for x in t] + [0.0])


def get_sigmas_karras(n, sigma_min, sigma_max, rho=7.0):
    ramp = np.linspace(0, 1, n)
    min_inv_rho = sigma_min ** (1 / rho)
    max_inv_rho = sigma_max ** (1 / rho)
    sigmas = (max_inv_rho + ramp * (min_inv_rho - max_inv_rho)) ** rho
    return np.append(sigmas, 0.0)


def ddim_timesteps(T, n, spacing="leading", steps_offset=1):
    """diffusers DDIMScheduler.set_timesteps."""
    if spacing == "linspace":
        ts = np.linspace(0, T - 1, n).round()[::-1].copy().astype(np.int64)
    elif spacing == "leading":
        step_ratio = T // n
        ts = (np.arange(0, n) * step_ratio).round()[::-1].copy()
        ts = ts.astype(np.int64) + steps_offset
    elif spacing == "trailing":
        step_ratio = T / n
        ts = np.round(np.arange(T, 0, -step_ratio)).astype(np.int64) - 1
    else:
        raise ValueError(spacing)
    return ts


def lcm_timesteps(T, n, original_steps=50):
    """diffusers LCMScheduler.set_timesteps, strength 1."""
    k = T // original_steps
    origin = np.asarray(list(range(1, original_steps + 1))) * k - 1
    origin = origin[::-1].copy()
    idx = np.floor(np.linspace(0, len(origin), num=n,
                               endpoint=False)).astype(np.int64)
    return origin[idx]


# ---------------------------------------------------------------- model

def synthetic_model(x, t):
    """The analytic 'network' of kiln-render sample-test."""
    i = np.arange(x.size, dtype=np.float64)
    return 0.1 * x * math.cos(t / 300.0) + 0.05 * np.sin(t / 100.0 + 0.01 * i)


class Denoiser:
    """k-diffusion DiscreteEpsDDPMDenoiser / DiscreteVDDPMDenoiser
    (sigma_data 1) around a model(x_in, t); records every t it is called
    with."""

    def __init__(self, sched, model):
        self.sched = sched
        self.model = model
        self.calls = []

    def __call__(self, x, sigma):
        if self.sched.prediction == "v":
            c_skip = 1.0 / (sigma ** 2 + 1)
            c_out = -sigma / (sigma ** 2 + 1) ** 0.5
        else:
            c_skip, c_out = 1.0, -sigma
        c_in = 1.0 / (sigma ** 2 + 1) ** 0.5
        t = self.sched.sigma_to_t(sigma)
        self.calls.append(t)
        return x * c_skip + self.model(x * c_in, t) * c_out


def to_d(x, sigma, denoised):
    return (x - denoised) / sigma


def get_ancestral_step(sigma_from, sigma_to, eta=1.0):
    if not eta:
        return sigma_to, 0.0
    sigma_up = min(sigma_to, eta * (sigma_to ** 2 * (sigma_from ** 2 -
                                    sigma_to ** 2) / sigma_from ** 2) ** 0.5)
    sigma_down = (sigma_to ** 2 - sigma_up ** 2) ** 0.5
    return sigma_down, sigma_up


def sample_euler(model, x, sigmas, callback):
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i])
        d = to_d(x, sigmas[i], denoised)
        x = x + d * (sigmas[i + 1] - sigmas[i])
        if callback(i):
            break
    return x


def sample_euler_ancestral(model, x, sigmas, noise, callback):
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i])
        sigma_down, sigma_up = get_ancestral_step(sigmas[i], sigmas[i + 1])
        d = to_d(x, sigmas[i], denoised)
        x = x + d * (sigma_down - sigmas[i])
        if sigmas[i + 1] > 0:
            x = x + noise(x.size) * sigma_up
        if callback(i):
            break
    return x


def sample_heun(model, x, sigmas, callback):
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i])
        d = to_d(x, sigmas[i], denoised)
        dt = sigmas[i + 1] - sigmas[i]
        if sigmas[i + 1] == 0:
            x = x + d * dt
        else:
            x_2 = x + d * dt
            denoised_2 = model(x_2, sigmas[i + 1])
            d_2 = to_d(x_2, sigmas[i + 1], denoised_2)
            x = x + (d + d_2) / 2 * dt
        if callback(i):
            break
    return x


def sample_dpmpp_2m(model, x, sigmas, callback):
    def sigma_fn(t):
        return math.exp(-t)

    def t_fn(sigma):
        return -math.log(sigma) if sigma > 0 else math.inf

    old_denoised = None
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i])
        t, t_next = t_fn(sigmas[i]), t_fn(sigmas[i + 1])
        h = t_next - t
        if old_denoised is None or sigmas[i + 1] == 0:
            x = (sigma_fn(t_next) / sigma_fn(t)) * x - math.expm1(-h) * \
                denoised
        else:
            h_last = t - t_fn(sigmas[i - 1])
            r = h_last / h
            denoised_d = (1 + 1 / (2 * r)) * denoised - \
                (1 / (2 * r)) * old_denoised
            x = (sigma_fn(t_next) / sigma_fn(t)) * x - math.expm1(-h) * \
                denoised_d
        old_denoised = denoised
        if callback(i):
            break
    return x


def _x0(pred, a, x, o):
    if pred == "v":
        return a ** 0.5 * x - (1 - a) ** 0.5 * o
    return (x - (1 - a) ** 0.5 * o) / a ** 0.5


def ddim(sched, model, x, ts, n_steps, calls, callback):
    """diffusers DDIMScheduler.step, eta 0, set_alpha_to_one False; x is
    the VP sample; ts may be a tail of the schedule (img2img)."""
    ac = sched.alphas_cumprod
    final = ac[0]
    for k, t in enumerate(ts):
        calls.append(float(t))
        o = model(x, float(t))
        prev = t - sched.T // n_steps
        a, ap = ac[t], (ac[prev] if prev >= 0 else final)
        x0 = _x0(sched.prediction, a, x, o)
        eps = (a ** 0.5 * o + (1 - a) ** 0.5 * x
               if sched.prediction == "v" else o)
        x = ap ** 0.5 * x0 + (1 - ap) ** 0.5 * eps
        if callback(k):
            break
    return x


def lcm(sched, model, x, ts, noise, calls, callback):
    """diffusers LCMScheduler.step (timestep_scaling 10, sigma_data 0.5)."""
    ac = sched.alphas_cumprod
    for k, t in enumerate(ts):
        calls.append(float(t))
        o = model(x, float(t))
        prev = ts[k + 1] if k + 1 < len(ts) else t
        a, ap = ac[t], ac[prev]
        st = t * 10.0
        c_skip = 0.5 ** 2 / (st ** 2 + 0.5 ** 2)
        c_out = st / (st ** 2 + 0.5 ** 2) ** 0.5
        denoised = c_out * _x0(sched.prediction, a, x, o) + c_skip * x
        if k != len(ts) - 1:
            x = ap ** 0.5 * denoised + (1 - ap) ** 0.5 * noise(x.size)
        else:
            x = denoised
        if callback(k):
            break
    return x


SAMPLERS = ("euler", "euler_a", "heun", "ddim", "dpmpp_2m",
            "dpmpp_2m_karras", "lcm")


def plan(sched, sampler, steps, spacing="leading"):
    """[(t, sigma, sigma_next)] of the full schedule, as kiln-render's
    trace prints it."""
    if sampler in ("ddim", "lcm"):
        ts = (ddim_timesteps(sched.T, steps, spacing) if sampler == "ddim"
              else lcm_timesteps(sched.T, steps))
        out = []
        for k, t in enumerate(ts):
            if sampler == "ddim":
                prev = t - sched.T // steps
                sn = sched.sigmas[prev if prev >= 0 else 0]
            else:
                sn = sched.sigmas[ts[k + 1]] if k + 1 < len(ts) else 0.0
            out.append((float(t), sched.sigmas[t], sn))
        return out
    if sampler == "dpmpp_2m_karras":
        s = get_sigmas_karras(steps, sched.sigmas[0], sched.sigmas[-1])
    else:
        s = sched.get_sigmas(steps)
    return [(sched.sigma_to_t(s[i]), s[i], s[i + 1]) for i in range(steps)]


def run(sampler, steps, seed, n, schedule="scaled_linear", prediction="eps",
        strength=1.0, init=None, spacing="leading", cancel_at=0):
    """The whole of `kiln-render sample-test`: returns (latent, calls,
    steps run). img2img: diffusers' get_timesteps, the last
    int(steps * strength) steps, noised to the first of them."""
    sched = Schedule(schedule, prediction)
    rng = KilnRng(seed)
    noise = rng.normal(n).astype(np.float64)
    count = min(int(steps * strength), steps)
    start = steps - count
    done = []

    def callback(k):
        done.append(k)
        return cancel_at and len(done) >= cancel_at and \
            start + len(done) < steps

    def draw(m):
        return rng.normal(m).astype(np.float64)

    if sampler in ("ddim", "lcm"):
        ts = (ddim_timesteps(sched.T, steps, spacing) if sampler == "ddim"
              else lcm_timesteps(sched.T, steps))[start:]
        if init is not None:
            a = sched.alphas_cumprod[ts[0]]
            x = a ** 0.5 * init + (1 - a) ** 0.5 * noise
        else:
            x = noise
        calls = []
        if sampler == "ddim":
            x = ddim(sched, synthetic_model, x, ts, steps, calls, callback)
        else:
            x = lcm(sched, synthetic_model, x, ts, draw, calls, callback)
        return x, calls, len(done)
    if sampler == "dpmpp_2m_karras":
        sigmas = get_sigmas_karras(steps, sched.sigmas[0], sched.sigmas[-1])
    else:
        sigmas = sched.get_sigmas(steps)
    sigmas = sigmas[start:]
    x = noise * sigmas[0] + (init if init is not None else 0.0)
    model = Denoiser(sched, synthetic_model)
    if sampler == "euler":
        x = sample_euler(model, x, sigmas, callback)
    elif sampler == "euler_a":
        x = sample_euler_ancestral(model, x, sigmas, draw, callback)
    elif sampler == "heun":
        x = sample_heun(model, x, sigmas, callback)
    elif sampler in ("dpmpp_2m", "dpmpp_2m_karras"):
        x = sample_dpmpp_2m(model, x, sigmas, callback)
    else:
        raise ValueError(sampler)
    return x, model.calls, len(done)
