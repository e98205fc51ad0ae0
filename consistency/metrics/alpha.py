"""Krippendorff's alpha from a profile of per-item value counts, with a bootstrap interval.

Definitions (Krippendorff 2011, "Computing Krippendorff's Alpha-Reliability",
https://repository.upenn.edu/asc_papers/43):

* Items ("units") with m_u >= 2 values are pairable; others are left out.
* Coincidences: o_ck = sum_u n_uc (n_uk - [c = k]) / (m_u - 1).
* n_c = sum_k o_ck, n = sum_c n_c (the number of pairable values).
* alpha = 1 - D_o / D_e = 1 - (n - 1) * sum_ck o_ck d_ck / sum_ck n_c n_k d_ck.

The level of measurement is the distance function d_ck (:func:`distance`):
nominal ``[c != k]``, ordinal ``(sum_{g=c..k} n_g - (n_c + n_k)/2)^2`` over
ranks, interval ``(v_c - v_k)^2``, ratio ``((v_c - v_k)/(v_c + v_k))^2``.

Nothing here builds a labelers x items matrix: the input is a
:class:`consistency.engine.Profile` (distinct count patterns), and every sum
over items is a sum over patterns weighted by their multiplicity.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import ibis.expr.types as ir
import numpy as np

from consistency.engine import LabelerPatterns, Profile, labeler_patterns
from consistency.errors import InvalidArgument, NotComputable

Level = Literal["nominal", "ordinal", "interval", "ratio"]
LEVELS: tuple[str, ...] = ("nominal", "ordinal", "interval", "ratio")


def check_level(level: str) -> Level:
    """Return ``level`` if it is a known level of measurement, else raise InvalidArgument."""
    if level not in LEVELS:
        raise InvalidArgument(
            f"unknown level of measurement '{level}'. Levels: {', '.join(LEVELS)}"
        )
    return level  # type: ignore[return-value]


def pattern_coincidences(counts: np.ndarray) -> np.ndarray:
    """Per-pattern coincidence contributions, shape P x K x K.

    C_p[c, k] = n_pc (n_pk - [c = k]) / (m_p - 1) for m_p >= 2, else 0.
    """
    m = counts.sum(axis=1)
    out = counts[:, :, None] * counts[:, None, :] - np.einsum(
        "pc,ck->pck", counts, np.eye(counts.shape[1], dtype=counts.dtype)
    )
    scale = np.where(m >= 2, 1.0 / np.maximum(m - 1, 1), 0.0)
    return out * scale[:, None, None]


def coincidence(profile: Profile) -> np.ndarray:
    """The K x K coincidence matrix o_ck of a profile.

    o_ck = sum_u n_uc (n_uk - [c = k]) / (m_u - 1) over items with m_u >= 2.

    >>> from consistency.engine import profile_from_rows
    >>> p = profile_from_rows([("a", "x"), ("a", "x"), ("b", "x"), ("b", "y")])
    >>> coincidence(p).tolist()
    [[2.0, 1.0], [1.0, 0.0]]
    """
    return coincidence_of(profile.counts, profile.weight)


def coincidence_of(counts: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """o_ck of count patterns (P x K) with their multiplicities: see :func:`coincidence`."""
    counts = np.asarray(counts, dtype=float)
    m = counts.sum(axis=1)
    keep = m >= 2
    w = np.asarray(weight, dtype=float)[keep] / (m[keep] - 1)
    c = counts[keep]
    return (c * w[:, None]).T @ c - np.diag((c * w[:, None]).sum(axis=0))


def distance(
    level: Level,
    values: np.ndarray,
    n_c: np.ndarray,
) -> np.ndarray:
    """The K x K squared-distance matrix d_ck for a level of measurement.

    Args:
        level: nominal, ordinal, interval or ratio.
        values: numeric value of each label (used by interval and ratio, and
            for the rank order of ordinal labels).
        n_c: the pairable-value marginals (used by ordinal).

    Ordinal distances use the labels in the order of ``values``:
    d_ck = (sum_{g=c}^{k} n_g - (n_c + n_k) / 2)^2.
    """
    k = len(values)
    if level == "nominal":
        return 1.0 - np.eye(k)
    if np.isnan(values).any():
        raise NotComputable(
            f"the {level} level needs numeric labels (or an explicit order); "
            "these labels are not all numbers. Use --level nominal, or give the order"
        )
    v = np.asarray(values, dtype=float)
    if level == "interval":
        return (v[:, None] - v[None, :]) ** 2
    if level == "ratio":
        s = v[:, None] + v[None, :]
        d = v[:, None] - v[None, :]
        with np.errstate(invalid="ignore", divide="ignore"):
            r = np.where(s == 0, 0.0, d / np.where(s == 0, 1.0, s))
        return r**2
    # ordinal
    order = np.argsort(v, kind="stable")
    n_sorted = np.asarray(n_c, dtype=float)[order]
    cum = np.concatenate([[0.0], np.cumsum(n_sorted)])
    i = np.arange(k)
    lo = np.minimum(i[:, None], i[None, :])
    hi = np.maximum(i[:, None], i[None, :])
    d_sorted = (cum[hi + 1] - cum[lo] - (n_sorted[:, None] + n_sorted[None, :]) / 2.0) ** 2
    d = np.empty_like(d_sorted)
    d[np.ix_(order, order)] = d_sorted
    return d


def alpha_from_coincidence(o: np.ndarray, d: np.ndarray) -> float:
    """alpha = 1 - (n - 1) sum o_ck d_ck / sum n_c n_k d_ck; NaN when D_e = 0 or n < 2."""
    n_c = o.sum(axis=1)
    n = n_c.sum()
    d_e = float(n_c @ d @ n_c)
    if n < 2 or d_e <= 0:
        return float("nan")
    return float(1.0 - (n - 1) * float((o * d).sum()) / d_e)


def ordered_values(profile: Profile, order: list[str] | None) -> np.ndarray:
    """Numeric values of the labels, or their ranks in ``order`` when given."""
    if order is None:
        return profile.values
    missing = [lab for lab in profile.labels if lab not in order]
    if missing:
        raise InvalidArgument(
            f"the order does not list {', '.join(repr(x) for x in missing)}. "
            f"Order given: {', '.join(order)}"
        )
    rank = {lab: i for i, lab in enumerate(order)}
    return np.array([float(rank[lab]) for lab in profile.labels])


def alpha(profile: Profile, level: Level = "nominal", order: list[str] | None = None) -> float:
    """Krippendorff's alpha of a profile at a level of measurement.

    alpha = 1 - (n - 1) * sum_ck o_ck d_ck / sum_ck n_c n_k d_ck.
    NaN when it is undefined (fewer than two pairable values, or one value only).

    Krippendorff (2011), worked example (4 observers, 12 units, missing data):

    >>> from consistency.engine import profile_from_rows
    >>> rows = [(u, str(v)) for u, vs in enumerate([
    ...     [1, 1, 1], [2, 2, 3, 2], [3, 3, 3, 3], [3, 3, 3, 3], [2, 2, 2, 2],
    ...     [1, 2, 3, 4], [4, 4, 4, 4], [1, 1, 2, 1], [2, 2, 2, 2], [5, 5, 5],
    ...     [1, 1], [3]]) for v in vs]
    >>> p = profile_from_rows(rows)
    >>> [round(alpha(p, lv), 3) for lv in ("nominal", "ordinal", "interval", "ratio")]
    [0.743, 0.815, 0.849, 0.797]
    """
    level = check_level(level)
    o = coincidence(profile)
    values = ordered_values(profile, order)
    return alpha_from_coincidence(o, distance(level, values, o.sum(axis=1)))


def alphas_without_labelers(
    source: ir.Table | LabelerPatterns,
    level: Level = "nominal",
    labelers: Sequence[str] | None = None,
) -> dict[str, float]:
    """Krippendorff's alpha without each labeler's labels, every labeler at once.

    Leaving labeler L out changes only the items L labeled: item u's counts
    n_u become n_u - l_u, where l_u counts L's own labels on u (repeats
    included). Coincidences are sums over items, so

        o^(-L) = o - sum_{u labeled by L} [C(n_u) - C(n_u - l_u)],
        C(n)_ck = n_c (n_k - [c = k]) / (m - 1)  (0 when m < 2),

    and alpha^(-L) = 1 - (n' - 1) sum o'_ck d_ck / sum n'_c n'_k d_ck as in
    :func:`alpha`, with d from the remaining marginals for ordinal data.
    Labels only L used have no coincidences left, so they change nothing.
    The sums run over :func:`consistency.engine.labeler_patterns` (one
    engine pass, give it instead of the table to reuse it); per labeler the
    rest is K x K arithmetic. Equals
    ``alpha(profile(ann.filter(ann.labeler_id != L)))`` for every L (NaN when
    fewer than two pairable values remain).

    ``labelers`` restricts the answer to those labelers (default: all).

    >>> import ibis, pandas as pd
    >>> t = ibis.memtable(pd.DataFrame({"item_id": list("aaabbbccc"),
    ...     "labeler_id": ["x", "y", "z"] * 3, "label": list("pppqqqprq")}))
    >>> {k: round(v, 3) for k, v in alphas_without_labelers(t).items()}
    {'x': 0.545, 'y': 0.444, 'z': 0.545}
    """
    level = check_level(level)
    lp = source if isinstance(source, LabelerPatterns) else labeler_patterns(source)
    asked = None if labelers is None else {str(x) for x in labelers}
    o = coincidence_of(lp.counts, lp.items)
    out: dict[str, float] = {}
    for name, rows in lp.blocks():
        if asked is not None and name not in asked:
            continue
        whole, own, w = lp.item_counts[rows], lp.own_counts[rows], lp.weight[rows]
        o_left = o - coincidence_of(whole, w) + coincidence_of(whole - own, w)
        o_left = np.where(np.abs(o_left) < 1e-9, 0.0, o_left)  # exact zeros stay zeros
        out[name] = alpha_from_coincidence(o_left, distance(level, lp.values, o_left.sum(axis=1)))
    return out


@dataclass(frozen=True)
class AlphaEstimate:
    """Alpha with its bootstrap percentile interval.

    ``draws`` is the number of bootstrap draws that gave a defined alpha.
    """

    level: str
    value: float
    ci_low: float
    ci_high: float
    draws: int
    confidence: float


def bootstrap_draws(
    profile: Profile,
    level: Level = "nominal",
    n_boot: int = 1000,
    seed: int = 0,
    order: list[str] | None = None,
) -> np.ndarray:
    """Alpha on ``n_boot`` bootstrap resamples of the items (NaN where undefined).

    Each draw resamples the U items with replacement. Items with the same
    count pattern are interchangeable, so a draw is a multinomial count over
    patterns: W ~ Multinomial(U, weight / U). Then
    o(W) = sum_p W_p C_p is the draw's coincidence matrix, exactly as if the
    raw items had been resampled. The distance matrix is the full sample's
    (for ordinal data, ranks use the full-sample marginals).
    """
    if n_boot < 1:
        raise InvalidArgument(f"the number of bootstrap draws must be at least 1; found {n_boot}")
    level = check_level(level)
    rng = np.random.default_rng(seed)
    o = coincidence(profile)
    d = distance(level, ordered_values(profile, order), o.sum(axis=1))
    keep = profile.pairable
    u = profile.items
    if u == 0 or not keep.any():
        return np.full(n_boot, np.nan)
    probs = profile.weight / u
    # Per pattern: its observed-disagreement contribution and its pairable marginals.
    counts = profile.counts.astype(float)
    m = counts.sum(axis=1)
    scale = np.where(keep, 1.0 / np.maximum(m - 1, 1), 0.0)
    do_p = np.einsum("pc,ck,pk->p", counts, d, counts) * scale  # d_cc = 0
    nc_p = counts * keep[:, None]
    out = np.empty(n_boot)
    block = max(1, min(n_boot, 2_000_000 // max(len(probs), 1)))
    for start in range(0, n_boot, block):
        b = min(block, n_boot - start)
        w = rng.multinomial(u, probs, size=b).astype(float)
        do = w @ do_p
        n_c = w @ nc_p
        n = n_c.sum(axis=1)
        de = np.einsum("bc,ck,bk->b", n_c, d, n_c)
        with np.errstate(invalid="ignore", divide="ignore"):
            a = 1.0 - (n - 1) * do / de
        a[(de <= 0) | (n < 2)] = np.nan
        out[start : start + b] = a
    return out


def alpha_with_ci(
    profile: Profile,
    level: Level = "nominal",
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    order: list[str] | None = None,
) -> AlphaEstimate:
    """Alpha with a percentile bootstrap interval over items (see :func:`bootstrap_draws`).

    >>> from consistency.engine import profile_from_rows
    >>> p = profile_from_rows([(i, "ab"[(i * 7) % 3 == 0]) for i in range(40) for _ in range(2)])
    >>> est = alpha_with_ci(p, n_boot=200, seed=1)
    >>> est.value, bool(est.ci_low <= est.value <= est.ci_high)
    (1.0, True)
    """
    if not 0 < confidence < 1:
        raise InvalidArgument(f"confidence must be between 0 and 1; found {confidence}")
    value = alpha(profile, level, order)
    draws = bootstrap_draws(profile, level, n_boot, seed, order)
    ok = draws[~np.isnan(draws)]
    if len(ok) == 0 or np.isnan(value):
        return AlphaEstimate(level, value, float("nan"), float("nan"), int(len(ok)), confidence)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(ok, [tail, 100 - tail])
    return AlphaEstimate(level, value, float(low), float(high), int(len(ok)), confidence)
