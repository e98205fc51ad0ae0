"""Per-class agreement, the coincidence matrix between labelers, and the most confused pairs.

Everything here is a function of the K x K coincidence matrix o_ck of a
:class:`consistency.engine.Profile` (Krippendorff 2011; see
:mod:`consistency.metrics.alpha`): o_ck counts, over items with two labels or
more, the pairs of labels (c, k) given to the same item, each item
contributing m_u pairable values. Its row sums n_c are the pairable values of
class c. Merging classes is exact on coincidences: the coincidence matrix of
the merged profile is P^T o P, with P the K x K' 0/1 merge matrix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from consistency.engine import Profile
from consistency.errors import InvalidArgument
from consistency.metrics.agreement import fleiss_kappa
from consistency.metrics.alpha import (
    Level,
    alpha,
    alpha_from_coincidence,
    check_level,
    coincidence,
    distance,
    ordered_values,
)

#: Columns of :func:`per_class`, in order.
PER_CLASS_COLUMNS: tuple[str, ...] = (
    "class",
    "n",
    "items",
    "share",
    "specific_agreement",
    "alpha_one_vs_rest",
    "fleiss_kappa",
    "disagreement_share",
    "main_partners",
)

#: Columns of :func:`confused_pairs`, in order.
CONFUSED_PAIRS_COLUMNS: tuple[str, ...] = (
    "class_a",
    "class_b",
    "coincidences",
    "rate_a_to_b",
    "rate_b_to_a",
    "alpha_after_merge",
    "alpha_gain",
)

#: How many partner classes :func:`per_class` lists for each class.
PARTNERS = 3


def _index(profile: Profile, label: str) -> int:
    """Position of ``label`` in the profile, or InvalidArgument naming the classes."""
    if label not in profile.labels:
        raise InvalidArgument(f"class '{label}' not found. Classes: {', '.join(profile.labels)}")
    return profile.labels.index(label)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den elementwise, NaN where den is 0."""
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out


def _merge_matrix(k: int, keep: int, drop: int) -> np.ndarray:
    """K x (K - 1) 0/1 matrix that adds class ``drop`` into class ``keep``."""
    cols = [x for x in range(k) if x != drop]
    proj = np.eye(k)[:, cols]
    proj[drop, cols.index(keep)] = 1.0
    return proj


def _one_vs_rest_alpha(o: np.ndarray, c: int) -> float:
    """Nominal alpha of the 2 x 2 coincidences of class c against all others."""
    n_c = o[c].sum()
    n = o.sum()
    off = n_c - o[c, c]
    two = np.array([[o[c, c], off], [off, n - n_c - off]])
    return alpha_from_coincidence(two, 1.0 - np.eye(2))


def per_class(
    profile: Profile, level: Level = "nominal", order: list[str] | None = None
) -> pd.DataFrame:
    """One row per class: how much it is used, how well labelers agree on it, and with what it is confused.

    Columns (one row per class, in the profile's class order):

    * ``class``: the label.
    * ``n``: pairable values n_c (labels c on items with two labels or more).
    * ``items``: items with at least one label c (all items, pairable or not).
    * ``share``: n_c / n, the share of the pairable values, the base every
      other column uses.
    * ``specific_agreement``: o_cc / n_c, the chance that another label on
      the same item is also c, given one label c (proportion of specific
      agreement; with m labels on every item it equals Uebersax's
      sum_u n_uc (n_uc - 1) / sum_u n_uc (m - 1)).
    * ``alpha_one_vs_rest``: nominal alpha after relabeling every other class
      "not c" (the same at every level: a two-valued scale has one distance).
    * ``fleiss_kappa``: Fleiss' (1971) kappa_j, NaN when undefined
      (see :func:`consistency.metrics.agreement.fleiss_kappa`).
    * ``disagreement_share``: the share of all disagreement that involves c,
      sum_{k != c} o_ck d_ck / sum_{c' < k} o_c'k d_c'k, with d the level's
      distance (at the nominal level: the share of disagreeing pairs of labels
      that involve c). Each disagreement involves two classes, so the column
      sums to 2; NaN when there is no disagreement.
    * ``main_partners``: up to three other classes k with the largest
      o_ck d_ck, as ``(class, share of c's disagreement)``.

    ``level`` sets d (see :func:`consistency.metrics.alpha.distance`); for
    the ordinal level on labels that are not numbers, ``order`` lists the
    classes from lowest to highest.

    >>> from consistency.engine import profile_from_rows
    >>> p = profile_from_rows([("a", "x"), ("a", "x"), ("b", "x"), ("b", "y"), ("c", "z")])
    >>> t = per_class(p)
    >>> t[["class", "n", "items", "specific_agreement"]].to_dict("list")
    {'class': ['x', 'y', 'z'], 'n': [3, 1, 0], 'items': [2, 1, 1], 'specific_agreement': [0.6666666666666666, 0.0, nan]}
    >>> t["main_partners"].tolist()
    [[('y', 1.0)], [('x', 1.0)], []]
    """
    level = check_level(level)
    k = len(profile.labels)
    if k == 0:
        return pd.DataFrame({col: [] for col in PER_CLASS_COLUMNS})
    o = coincidence(profile)
    d = distance(level, ordered_values(profile, order), o.sum(axis=1))
    pairable = profile.pairable
    n_c = (profile.counts * (profile.weight * pairable)[:, None]).sum(axis=0)
    items = ((profile.counts > 0) * profile.weight[:, None]).sum(axis=0)
    disagreement = o * d
    row = disagreement.sum(axis=1)
    total = disagreement.sum() / 2.0
    fleiss = fleiss_kappa(profile).per_category
    partners = []
    for c in range(k):
        others = [x for x in np.argsort(-disagreement[c], kind="stable") if disagreement[c, x] > 0]
        partners.append(
            [(profile.labels[x], float(disagreement[c, x] / row[c])) for x in others[:PARTNERS]]
        )
    return pd.DataFrame(
        {
            "class": list(profile.labels),
            "n": n_c.astype(np.int64),
            "items": items.astype(np.int64),
            "share": _ratio(n_c, n_c.sum()),
            "specific_agreement": _ratio(np.diag(o), n_c),
            "alpha_one_vs_rest": [_one_vs_rest_alpha(o, c) for c in range(k)],
            "fleiss_kappa": [
                np.nan if fleiss[lab] is None else fleiss[lab] for lab in profile.labels
            ],
            "disagreement_share": _ratio(row, np.full(k, total)),
            "main_partners": partners,
        },
        columns=list(PER_CLASS_COLUMNS),
    )


@dataclass(frozen=True)
class Confusion:
    """The coincidence matrix between labelers, raw and row-normalized.

    Attributes:
        classes: the K class names (row and column order).
        counts: K x K coincidences o_ck (symmetric; row sums n_c).
        row_normalized: o_ck / n_c: given one label c on an item, the share of
            the item's other labels that are k. NaN rows for classes without
            pairable values.
    """

    classes: tuple[str, ...]
    counts: np.ndarray
    row_normalized: np.ndarray

    def to_frame(self, normalized: bool = False) -> pd.DataFrame:
        """The matrix as a DataFrame indexed and labeled by class."""
        data = self.row_normalized if normalized else self.counts
        return pd.DataFrame(
            data,
            index=pd.Index(list(self.classes), name="class"),
            columns=list(self.classes),
        )


def confusion(profile: Profile) -> Confusion:
    """Which classes labelers give to the same items: the coincidence matrix.

    o_ck = sum_u n_uc (n_uk - [c = k]) / (m_u - 1) over items with m_u >= 2.
    Unlike a two-rater confusion matrix it pools every pair of labels on an
    item, whoever gave them, so it is symmetric and needs no labeler order.

    >>> from consistency.engine import profile_from_rows
    >>> c = confusion(profile_from_rows([("a", "x"), ("a", "x"), ("b", "x"), ("b", "y")]))
    >>> c.counts.tolist(), c.row_normalized.tolist()
    ([[2.0, 1.0], [1.0, 0.0]], [[0.6666666666666666, 0.3333333333333333], [1.0, 0.0]])
    """
    o = coincidence(profile)
    return Confusion(profile.labels, o, _ratio(o, o.sum(axis=1, keepdims=True)))


def _merged_alpha(
    o: np.ndarray,
    values: np.ndarray,
    names: tuple[str, str],
    pair: tuple[int, int],
    level: Level,
) -> float:
    """Alpha of the coincidences with class ``pair[1]`` added into class ``pair[0]``."""
    i, j = pair
    if level not in ("nominal", "ordinal"):
        raise InvalidArgument(
            f"alpha after merging classes is computed at the nominal or ordinal level; "
            f"found '{level}': at that level the merged class has no single value"
        )
    if level == "ordinal":
        distance(level, values, o.sum(axis=1))  # raises NotComputable for non-numeric labels
        rank = np.argsort(np.argsort(values, kind="stable"), kind="stable")
        if abs(int(rank[i]) - int(rank[j])) != 1:
            raise InvalidArgument(
                f"classes '{names[0]}' and '{names[1]}' are not next to each other in the "
                "order, so merging them breaks the ordinal scale. Merge neighbouring classes, "
                "or use the nominal level"
            )
    proj = _merge_matrix(len(values), i, j)
    merged = proj.T @ o @ proj
    kept = np.delete(values, j)
    return alpha_from_coincidence(merged, distance(level, kept, merged.sum(axis=1)))


def alpha_after_merge(
    profile: Profile,
    a: str,
    b: str,
    level: Level = "nominal",
    order: list[str] | None = None,
) -> float:
    """Alpha if classes ``a`` and ``b`` were one class; exactly ``alpha(profile.merge(a, b))``.

    Computed from the coincidences (o' = P^T o P), without re-reading the items.
    At the ordinal level only neighbouring classes can be merged (the merged
    class takes their place in the order; ``order`` gives it for labels that
    are not numbers); interval and ratio are refused.

    >>> from consistency.engine import profile_from_rows
    >>> p = profile_from_rows([("a", "x"), ("a", "y"), ("b", "z"), ("b", "z"), ("c", "x"), ("c", "x")])
    >>> round(alpha(p), 4), alpha_after_merge(p, "x", "y")
    (0.5455, 1.0)
    """
    level = check_level(level)
    i, j = _index(profile, a), _index(profile, b)
    if i == j:
        raise InvalidArgument(f"choose two different classes to merge; found '{a}' twice")
    values = ordered_values(profile, order)
    return _merged_alpha(coincidence(profile), values, (a, b), (i, j), level)


def confused_pairs(profile: Profile, top: int | None = 10) -> pd.DataFrame:
    """The pairs of classes labelers most often give to the same item, worst first.

    One row per pair (a, b) with o_ab > 0 (a before b in class order), ranked
    by coincidences, ties by class order; the first ``top`` rows (all when
    None). Columns:

    * ``coincidences``: o_ab, pairs of labels (a, b) on the same items.
    * ``rate_a_to_b``: o_ab / n_a, the share of a's pairable values paired with b;
      ``rate_b_to_a``: o_ab / n_b.
    * ``alpha_after_merge``: nominal alpha if a and b were one class (exact);
      ``alpha_gain``: that minus the current nominal alpha.

    A pair with high rates both ways and a large gain is a candidate for a
    merge, or for a clearer guideline on how to tell the two apart.

    >>> from consistency.engine import profile_from_rows
    >>> p = profile_from_rows([("a", "x"), ("a", "y"), ("b", "z"), ("b", "z"), ("c", "x"), ("c", "x")])
    >>> confused_pairs(p).round(4).iloc[0].to_dict()
    {'class_a': 'x', 'class_b': 'y', 'coincidences': 1.0, 'rate_a_to_b': 0.3333, 'rate_b_to_a': 1.0, 'alpha_after_merge': 1.0, 'alpha_gain': 0.4545}
    """
    if top is not None and top < 1:
        raise InvalidArgument(f"top must be at least 1; found {top}")
    o = coincidence(profile)
    a_idx, b_idx = np.triu_indices(len(profile.labels), k=1)
    hit = o[a_idx, b_idx] > 0
    a_idx, b_idx = a_idx[hit], b_idx[hit]
    order = np.argsort(-o[a_idx, b_idx], kind="stable")[:top]
    a_idx, b_idx = a_idx[order], b_idx[order]
    n_c = o.sum(axis=1)
    current = alpha_from_coincidence(o, 1.0 - np.eye(len(profile.labels)))
    names = profile.labels
    merged = np.array(
        [
            _merged_alpha(o, profile.values, (names[i], names[j]), (i, j), "nominal")
            for i, j in zip(a_idx.tolist(), b_idx.tolist(), strict=True)
        ],
        dtype=float,
    )
    return pd.DataFrame(
        {
            "class_a": [names[i] for i in a_idx],
            "class_b": [names[j] for j in b_idx],
            "coincidences": o[a_idx, b_idx],
            "rate_a_to_b": _ratio(o[a_idx, b_idx], n_c[a_idx]),
            "rate_b_to_a": _ratio(o[a_idx, b_idx], n_c[b_idx]),
            "alpha_after_merge": merged,
            "alpha_gain": merged - current,
        },
        columns=list(CONFUSED_PAIRS_COLUMNS),
    )


def alpha_setting_aside(
    profile: Profile,
    aside: np.ndarray | Callable[[np.ndarray], np.ndarray],
    level: Level = "nominal",
    order: list[str] | None = None,
) -> float:
    """Alpha on the items that remain after setting some aside.

    ``aside`` is a boolean mask over the profile's patterns, or a function of
    the P x K count matrix that returns one (for example, items with any
    label c: ``lambda counts: counts[:, c] > 0``). Items are set aside whole;
    for the ordinal level the ranks use the remaining items' marginals
    (``order``: the class order for labels that are not numbers).

    >>> from consistency.engine import profile_from_rows
    >>> p = profile_from_rows([("a", "x"), ("a", "y"), ("b", "y"), ("b", "y"), ("c", "x"), ("c", "x")])
    >>> y = p.labels.index("y")
    >>> round(alpha(p), 4), alpha_setting_aside(p, lambda counts: counts[:, y] == 1)
    (0.4444, 1.0)
    """
    level = check_level(level)
    mask = aside(profile.counts) if callable(aside) else aside
    mask = np.asarray(mask)
    if mask.dtype != bool or mask.shape != (len(profile.weight),):
        raise InvalidArgument(
            f"the items to set aside must be a boolean mask with one entry per pattern "
            f"({len(profile.weight)}); found {mask.dtype} of shape {mask.shape}"
        )
    return alpha(profile.select(~mask), level, order)
