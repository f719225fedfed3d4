"""Random draws the simulated world is built from, fast at any scale.

Every draw takes the caller's seeded ``random.Random``, so a world stays a pure
function of its seed. Large counts switch to normal approximations, which keeps
a day's generation time flat as the scale knob grows.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence


def poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 50:  # normal approximation keeps large scales fast
        return max(0, int(round(rng.gauss(lam, math.sqrt(lam)))))
    threshold, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= threshold:
            return k
        k += 1


def binomial(rng: random.Random, n: int, p: float) -> int:
    if n <= 0 or p <= 0:
        return 0
    if p >= 1:
        return n
    if n < 200:
        return sum(1 for _ in range(n) if rng.random() < p)
    return min(n, max(0, int(round(rng.gauss(n * p, math.sqrt(n * p * (1 - p)))))))


def fast_binomial(rng: random.Random, n: int, p: float) -> int:
    """A binomial draw in O(1 + n*min(p, 1-p)) calls: waiting times between successes, or the
    normal approximation once the variance is large. (``binomial`` keeps the draw sequence the
    Meta and organic numbers were built with; new parts of the world use this one.)"""
    if n <= 0 or p <= 0:
        return 0
    if p >= 1:
        return n
    if p > 0.5:
        return n - fast_binomial(rng, n, 1 - p)
    variance = n * p * (1 - p)
    if variance >= 9:
        return min(n, max(0, int(round(rng.gauss(n * p, math.sqrt(variance))))))
    log_q = math.log1p(-p)
    successes, position = 0, 0
    while True:
        position += int(math.log(1.0 - rng.random()) / log_q) + 1  # trials up to the next success
        if position > n:
            return successes
        successes += 1


def multinomial(rng: random.Random, n: int, weights: Sequence[float]) -> list[int]:
    """``n`` items spread over the buckets in proportion to ``weights`` (sequential binomials)."""
    out = [0] * len(weights)
    remaining, remaining_weight = n, float(sum(weights))
    for i, w in enumerate(weights):
        if remaining <= 0 or remaining_weight <= 0:
            break
        if i == len(weights) - 1 or w >= remaining_weight:
            out[i] = remaining
            break
        out[i] = fast_binomial(rng, remaining, w / remaining_weight)
        remaining -= out[i]
        remaining_weight -= w
    return out


def sum_of_uniforms(rng: random.Random, n: int, low: float, high: float) -> float:
    """The sum of ``n`` uniform draws from [low, high), in one or two calls."""
    if n <= 0:
        return 0.0
    mean, var = (low + high) / 2, (high - low) ** 2 / 12
    if n > 30:
        return min(n * high, max(n * low, rng.gauss(n * mean, math.sqrt(n * var))))
    return sum(rng.uniform(low, high) for _ in range(n))


def apportion(total: int, weights: Sequence[float]) -> list[int]:
    """Split an integer total in proportion to weights so the parts add up exactly (largest remainder)."""
    weight_sum = float(sum(weights))
    if total <= 0 or weight_sum <= 0:
        return [0] * len(weights)
    exact = [total * w / weight_sum for w in weights]
    parts = [int(x) for x in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in by_remainder[: total - sum(parts)]:
        parts[i] += 1
    return parts
