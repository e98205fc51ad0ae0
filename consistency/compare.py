"""Did the relabeling help? Two labeling rounds compared on the items labeled in both.

:func:`compare_rounds` measures Krippendorff's alpha, percent agreement and
each class's specific agreement in round A and round B on the same items, the
difference B - A, and a paired bootstrap interval of that difference: each
draw resamples the common items with replacement and recomputes both rounds
on the same draw, so what the two rounds share (the items' difficulty) cancels
out. An item matters only through its pair of count patterns (its value counts
in A, its value counts in B), so a draw is a multinomial over the distinct
pairs, as in :func:`consistency.metrics.alpha.bootstrap_draws`. It also lists
the flips: items whose consensus label changed. See ``docs/relabel-loop.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from consistency.engine import label_dictionary, label_value_or_nan
from consistency.errors import InvalidArgument, NotComputable
from consistency.metrics.alpha import Level, check_level, distance
from consistency.relabel import consensus_of, item_counts, tie_posteriors, tied
from consistency.store import Store, ViewFilter

#: What a comparison concludes: the interval of B - A lies above 0, below 0, or holds 0.
IMPROVED, WORSE, NO_CLEAR_CHANGE = "improved", "worse", "no clear change"
VERDICTS: tuple[str, ...] = (IMPROVED, WORSE, NO_CLEAR_CHANGE)


def verdict(ci_low: float, ci_high: float) -> str:
    """``improved`` when the interval of the change lies above 0, ``worse`` below, else ``no clear change``.

    >>> verdict(0.02, 0.10), verdict(-0.3, -0.01), verdict(-0.01, 0.05), verdict(0.0, 0.0)
    ('improved', 'worse', 'no clear change', 'no clear change')
    """
    if np.isfinite(ci_low) and ci_low > 0:
        return IMPROVED
    if np.isfinite(ci_high) and ci_high < 0:
        return WORSE
    return NO_CLEAR_CHANGE


@dataclass(frozen=True)
class PairedCounts:
    """The items of two rounds as distinct pairs of count patterns.

    Attributes:
        labels: the K labels (union of both rounds); position = code.
        values: numeric value of each label (NaN when not a number).
        a, b: P x K value counts of each pair's items in round A and in round B.
        weight: length-P number of items with each pair of patterns.
    """

    labels: tuple[str, ...]
    values: np.ndarray
    a: np.ndarray
    b: np.ndarray
    weight: np.ndarray

    @property
    def items(self) -> int:
        """Number of items (labeled in both rounds)."""
        return int(self.weight.sum())


def paired_counts(
    labels: tuple[str, ...], counts_a: np.ndarray, counts_b: np.ndarray
) -> PairedCounts:
    """Group items (rows of ``counts_a`` and ``counts_b``, the same items in the same order) by their pair of patterns.

    >>> pc = paired_counts(("x", "y"), np.array([[2, 0], [1, 1], [2, 0]]), np.array([[2, 0], [2, 0], [2, 0]]))
    >>> pc.weight.tolist(), pc.items
    ([1, 2], 3)
    """
    k = len(labels)
    a = np.asarray(counts_a, dtype=np.int64).reshape(-1, k)
    b = np.asarray(counts_b, dtype=np.int64).reshape(-1, k)
    if a.shape != b.shape:
        raise InvalidArgument(
            f"the two rounds' counts must cover the same items; found {len(a)} and {len(b)} rows"
        )
    values = np.array([label_value_or_nan(lab) for lab in labels], dtype=float)
    if len(a) == 0:
        return PairedCounts(labels, values, a, b, np.zeros(0, dtype=np.int64))
    joint, inverse = np.unique(np.hstack([a, b]), axis=0, return_inverse=True)
    weight = np.bincount(inverse.ravel(), minlength=len(joint)).astype(np.int64)
    return PairedCounts(labels, values, joint[:, :k], joint[:, k:], weight)


@dataclass(frozen=True)
class _Round:
    """Per-pattern contributions of one round, so that any item weights give its figures.

    do: observed disagreement sum_ck n_pc n_pk d_ck / (m_p - 1); nc: pairable
    values per class; occ: agreeing coincidences o_cc = n_pc (n_pc - 1) / (m_p - 1);
    share: share of agreeing pairs of labels; pairable: m_p >= 2; d: distances.
    """

    do: np.ndarray
    nc: np.ndarray
    occ: np.ndarray
    share: np.ndarray
    pairable: np.ndarray
    d: np.ndarray


def _round_parts(
    counts: np.ndarray, weight: np.ndarray, values: np.ndarray, level: Level
) -> _Round:
    x = counts.astype(float)
    m = x.sum(axis=1)
    pairable = m >= 2
    scale = np.where(pairable, 1.0 / np.maximum(m - 1, 1), 0.0)
    nc = x * pairable[:, None]
    d = distance(level, values, weight @ nc)
    pairs = np.where(pairable, m * (m - 1), 1.0)
    return _Round(
        do=np.einsum("pc,ck,pk->p", x, d, x) * scale,
        nc=nc,
        occ=x * (x - 1) * scale[:, None],
        share=np.where(pairable, (x * (x - 1)).sum(axis=1) / pairs, 0.0),
        pairable=pairable.astype(float),
        d=d,
    )


def _figures(r: _Round, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Alpha, percent agreement and per-class specific agreement for item weights ``w`` (B x P).

    alpha = 1 - (n - 1) D_o / D_e with D_o = w . do and D_e = n_c^T d n_c;
    percent agreement = w . share / w . pairable; specific agreement = o_cc / n_c.
    """
    n_c = w @ r.nc
    n = n_c.sum(axis=1)
    d_e = np.einsum("bc,ck,bk->b", n_c, r.d, n_c)
    pairable = w @ r.pairable
    with np.errstate(invalid="ignore", divide="ignore"):
        alpha = np.where((d_e > 0) & (n >= 2), 1.0 - (n - 1) * (w @ r.do) / d_e, np.nan)
        pa = np.where(pairable > 0, (w @ r.share) / pairable, np.nan)
        spec = np.where(n_c > 0, (w @ r.occ) / n_c, np.nan)
    return alpha, pa, spec


def _change(a: float, b: float, draws: np.ndarray, confidence: float) -> dict[str, Any]:
    """from, to, delta = to - from, its percentile interval over the defined draws, verdict."""
    ok = draws[np.isfinite(draws)]
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(ok, [tail, 100 - tail]) if len(ok) else (np.nan, np.nan)
    return {
        "from": float(a),
        "to": float(b),
        "delta": float(b - a),
        "ci_low": float(low),
        "ci_high": float(high),
        "verdict": verdict(float(low), float(high)),
    }


def paired_comparison(
    pc: PairedCounts,
    level: Level = "nominal",
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Round A against round B on the same items, with paired bootstrap intervals.

    For each figure F (alpha, percent agreement, the specific agreement o_cc / n_c
    of each class): F_A and F_B on all the items, delta = F_B - F_A, and the
    percentile interval of delta over ``n_boot`` draws. A draw resamples the U
    items with replacement, W ~ Multinomial(U, weight / U) over the distinct
    pattern pairs, and computes F_A(W) and F_B(W) from the same W. The distances
    (ordinal: their ranks) are each round's full-sample ones. Draws where a
    figure is undefined (a class absent from the draw) are left out of its
    interval.

    Returns:
        ``{"items_common", "alpha": {...}, "percent_agreement": {...},
        "per_class": [{"class", "n_from", "n_to", "from", "to", "delta",
        "ci_low", "ci_high", "verdict"}]}``, each ``{...}`` with from, to,
        delta, ci_low, ci_high, verdict.

    >>> same = paired_counts(("x", "y"), np.array([[2, 0], [1, 1], [0, 3]] * 5), np.array([[2, 0], [1, 1], [0, 3]] * 5))
    >>> r = paired_comparison(same, n_boot=50)
    >>> r["alpha"]["delta"], r["alpha"]["ci_low"], r["alpha"]["ci_high"], r["alpha"]["verdict"]
    (0.0, 0.0, 0.0, 'no clear change')
    """
    level = check_level(level)
    if n_boot < 1:
        raise InvalidArgument(f"the number of bootstrap draws must be at least 1; found {n_boot}")
    if not 0 < confidence < 1:
        raise InvalidArgument(f"confidence must be between 0 and 1; found {confidence}")
    ra = _round_parts(pc.a, pc.weight, pc.values, level)
    rb = _round_parts(pc.b, pc.weight, pc.values, level)
    full = pc.weight[None, :].astype(float)
    alpha_a, pa_a, spec_a = _figures(ra, full)
    alpha_b, pa_b, spec_b = _figures(rb, full)
    rng = np.random.default_rng(seed)
    u = pc.items
    probs = pc.weight / max(u, 1)
    k = len(pc.labels)
    d_alpha, d_pa, d_spec = np.empty(n_boot), np.empty(n_boot), np.empty((n_boot, k))
    block = max(1, min(n_boot, 2_000_000 // max(len(probs) * max(k, 1), 1)))
    for start in range(0, n_boot, block):
        b = min(block, n_boot - start)
        w = rng.multinomial(u, probs, size=b).astype(float)
        fa, fb = _figures(ra, w), _figures(rb, w)
        d_alpha[start : start + b] = fb[0] - fa[0]
        d_pa[start : start + b] = fb[1] - fa[1]
        d_spec[start : start + b] = fb[2] - fa[2]
    n_from, n_to = full[0] @ ra.nc, full[0] @ rb.nc
    per_class = [
        {
            "class": lab,
            "n_from": int(n_from[c]),
            "n_to": int(n_to[c]),
            **_change(spec_a[0, c], spec_b[0, c], d_spec[:, c], confidence),
        }
        for c, lab in enumerate(pc.labels)
        if n_from[c] > 0 or n_to[c] > 0
    ]
    return {
        "items_common": u,
        "alpha": _change(alpha_a[0], alpha_b[0], d_alpha, confidence),
        "percent_agreement": _change(pa_a[0], pa_b[0], d_pa, confidence),
        "per_class": per_class,
    }


def flips(
    before: pd.DataFrame, after: pd.DataFrame
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Items whose consensus label changed, and the changes counted by (from, to), most first.

    ``before`` and ``after`` have ``item_id, consensus`` (one row per item);
    items in only one of them are left out.

    >>> b = pd.DataFrame({"item_id": ["i1", "i2", "i3"], "consensus": ["stain", "ok", "stain"]})
    >>> a = pd.DataFrame({"item_id": ["i1", "i2", "i3"], "consensus": ["discoloration", "ok", "discoloration"]})
    >>> changed, where = flips(b, a)
    >>> [c["item_id"] for c in changed], where
    (['i1', 'i3'], [{'from_label': 'stain', 'to_label': 'discoloration', 'items': 2}])
    """
    joined = before[["item_id", "consensus"]].merge(
        after[["item_id", "consensus"]], on="item_id", suffixes=("_from", "_to")
    )
    changed = joined[joined["consensus_from"] != joined["consensus_to"]]
    changed = changed.sort_values("item_id", kind="stable")
    items = [
        {"item_id": r.item_id, "from_label": r.consensus_from, "to_label": r.consensus_to}
        for r in changed.itertuples()
    ]
    counts = (
        changed.groupby(["consensus_from", "consensus_to"]).size().reset_index(name="items")
        if len(changed)
        else pd.DataFrame(columns=["consensus_from", "consensus_to", "items"])
    )
    counts = counts.sort_values(
        ["items", "consensus_from", "consensus_to"], ascending=[False, True, True], kind="stable"
    )
    where = [
        {"from_label": r.consensus_from, "to_label": r.consensus_to, "items": int(r.items)}
        for r in counts.itertuples()
    ]
    return items, where


def compare_rounds(
    store: Store,
    dataset: str,
    a: str,
    b: str,
    *,
    view: ViewFilter | None = None,
    level: str = "nominal",
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Round ``a`` against round ``b`` on the items labeled in both (see :func:`paired_comparison`).

    ``view`` narrows both rounds the same way (labelers, metadata, time); its
    round setting is replaced by each round. The consensus of an item in a
    round is its majority vote, a tie broken by Dawid–Skene
    (:func:`consistency.relabel.consensus_of`; one model fitted on both
    rounds' labels, so an item whose labels did not change keeps its consensus).

    Returns:
        A JSON-ready dict (undefined figures are None): ``from``, ``to``,
        ``items_common``, ``items_from``, ``items_to``, ``level``,
        ``confidence``, ``draws``, ``alpha_from``, ``alpha_to``,
        ``alpha_delta``, ``ci_low``, ``ci_high``, ``verdict``,
        ``percent_agreement`` (from, to, delta, ci_low, ci_high, verdict),
        ``per_class`` ([{class, n_from, n_to, from, to, delta, ci_low, ci_high,
        verdict}]), ``flips`` ([{item_id, from_label, to_label}], by item id) and
        ``flip_counts`` ([{from_label, to_label, items}], most first).

    Raises:
        DatasetNotFound; InvalidArgument (an unknown round, the same round
        twice, a bad level); NotComputable (the rounds share no item).
    """
    from consistency.analysis import clean_json

    store.require(dataset)
    level = check_level(level)
    a, b = str(a), str(b)
    rounds = store.rounds(dataset)
    for r in (a, b):
        if r not in rounds:
            raise InvalidArgument(
                f"round '{r}' not found in dataset '{dataset}'. Rounds: {', '.join(rounds)}"
            )
    if a == b:
        raise InvalidArgument(f"compare needs two different rounds; found round '{a}' twice")
    view = view or ViewFilter()
    ann_a = store.annotations(dataset, replace(view, rounds=(a,)))
    ann_b = store.annotations(dataset, replace(view, rounds=(b,)))
    both = store.annotations(dataset, replace(view, rounds=(a, b)))
    labels = tuple(str(x) for x in label_dictionary(both)["label"])
    ids_a, counts_a = item_counts(ann_a, labels)
    ids_b, counts_b = item_counts(ann_b, labels)
    common = np.intersect1d(ids_a, ids_b)
    if not len(common):
        raise NotComputable(
            f"rounds {a} and {b} share no items: round {a} has {len(ids_a)} items, round {b} "
            f"has {len(ids_b)}, none labeled in both. Compare needs the same items labeled "
            "again (import the relabeled export with --round, keeping the item ids)"
        )
    ca = counts_a[np.searchsorted(ids_a, common)]
    cb = counts_b[np.searchsorted(ids_b, common)]
    result = paired_comparison(paired_counts(labels, ca, cb), level, n_boot, seed, confidence)
    # One Dawid-Skene fit on both rounds breaks ties the same way in each, so an item
    # whose labels did not change cannot flip.
    post = tie_posteriors(both) if tied(ca).any() or tied(cb).any() else None
    changed, where = flips(
        consensus_of(ann_a, common, ca, labels, post),
        consensus_of(ann_b, common, cb, labels, post),
    )
    alpha_change = result["alpha"]
    out = {
        "from": a,
        "to": b,
        "items_common": result["items_common"],
        "items_from": len(ids_a),
        "items_to": len(ids_b),
        "level": level,
        "confidence": confidence,
        "draws": n_boot,
        "alpha_from": alpha_change["from"],
        "alpha_to": alpha_change["to"],
        "alpha_delta": alpha_change["delta"],
        "ci_low": alpha_change["ci_low"],
        "ci_high": alpha_change["ci_high"],
        "verdict": alpha_change["verdict"],
        "percent_agreement": result["percent_agreement"],
        "per_class": result["per_class"],
        "flips": changed,
        "flip_counts": where,
    }
    return clean_json(out)


def latest_round_change(
    store: Store, dataset: str, view: ViewFilter | None = None, options: Any = None
) -> dict[str, Any] | None:
    """:func:`compare_rounds` of the latest round against the one before it.

    None when the dataset has fewer than two rounds or they share no item.
    ``options`` is an :class:`consistency.analysis.AnalysisOptions` (level,
    bootstrap draws, seed).
    """
    from consistency.analysis import AnalysisOptions

    options = options or AnalysisOptions()
    rounds = store.rounds(dataset)
    if len(rounds) < 2:
        return None
    try:
        return compare_rounds(
            store,
            dataset,
            rounds[-2],
            rounds[-1],
            view=view,
            level=options.level,
            n_boot=options.n_boot,
            seed=options.seed,
        )
    except NotComputable:
        return None
