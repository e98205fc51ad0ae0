"""Item-level agreement coefficients from a profile: Fleiss' kappa, percent agreement, Gwet's AC1.

All three are functions of the per-item value counts n_uk (how many of item
u's m_u labels are k), so they are computed from a
:class:`consistency.engine.Profile`: every sum over items is a sum over the
distinct count patterns weighted by how many items have each pattern.

Repeated labels by one labeler on one item count as separate labels, as in
the coincidences of Krippendorff's alpha (the profile reports how many there
are in ``Profile.repeats``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from consistency.engine import Profile


@dataclass(frozen=True)
class FleissResult:
    """Fleiss' kappa, why it is missing when it is, and the per-category kappas.

    Attributes:
        value: the overall kappa, or None when it is undefined.
        note: why ``value`` is None (None when it is defined).
        per_category: kappa_j of each class (None where undefined: the class
            is never or always used, or the overall kappa is undefined).
    """

    value: float | None
    note: str | None
    per_category: dict[str, float | None]


def _item_agreement(profile: Profile) -> tuple[np.ndarray, np.ndarray]:
    """Per pattern: the share of agreeing pairs of labels, and the pairable mask.

    share_u = sum_k n_uk (n_uk - 1) / (m_u (m_u - 1)) for m_u >= 2 (0 elsewhere).
    """
    counts = profile.counts.astype(float)
    m = counts.sum(axis=1)
    keep = m >= 2
    pairs = np.where(keep, m * (m - 1), 1.0)
    share = np.where(keep, (counts * (counts - 1)).sum(axis=1) / pairs, 0.0)
    return share, keep


def _mean_over_pairable(profile: Profile) -> float:
    """Mean over items with at least two labels of their share of agreeing pairs."""
    share, keep = _item_agreement(profile)
    w = profile.weight * keep
    total = int(w.sum())
    if total == 0:
        return float("nan")
    return float((share * w).sum() / total)


def percent_agreement(profile: Profile) -> float:
    """Mean share of agreeing pairs of labels per item (observed agreement).

    p_a = (1 / U') sum_{u: m_u >= 2} sum_k n_uk (n_uk - 1) / (m_u (m_u - 1)),

    where U' is the number of items with at least two labels; items with one
    label are left out. Every item weighs the same, whatever its number of
    labels. NaN when no item has two labels. This is the observed agreement of
    Fleiss (1971) (P-bar) and of Gwet (2008) (p_a).

    >>> from consistency.engine import profile_from_rows
    >>> p = profile_from_rows([("a", "x"), ("a", "x"), ("b", "x"), ("b", "y"), ("c", "y")])
    >>> percent_agreement(p)
    0.5
    """
    return _mean_over_pairable(profile)


def _used(profile: Profile) -> np.ndarray:
    """Boolean mask of the classes that appear in at least one item of the profile."""
    return (profile.counts * profile.weight[:, None]).sum(axis=0) > 0


def gwet_ac1(profile: Profile) -> float:
    """Gwet's first-order agreement coefficient (AC1), multi-rater, with missing labels.

    AC1 = (p_a - p_e) / (1 - p_e), where

    * p_a = (1 / U') sum_{u: m_u >= 2} sum_k n_uk (n_uk - 1) / (m_u (m_u - 1))
      (:func:`percent_agreement`, over the U' items with two labels or more);
    * p_e = 1 / (K - 1) sum_k pi_k (1 - pi_k), with
      pi_k = (1 / U) sum_u n_uk / m_u over all U items with a label.

    K is the number of classes of the profile (every label of the dataset,
    also those absent from a slice). NaN when K < 2 or no item has two labels.

    Reference: Gwet, K. L. (2008), "Computing inter-rater reliability and its
    variance in the presence of high agreement", British Journal of
    Mathematical and Statistical Psychology 61(1), 29-48; Gwet (2014),
    Handbook of Inter-Rater Reliability, 4th ed., ch. 2 (missing ratings).

    >>> from consistency.engine import profile_from_rows
    >>> p = profile_from_rows([("a", "x"), ("a", "x"), ("b", "x"), ("b", "y")])
    >>> round(gwet_ac1(p), 4)  # p_a = 0.5, pi = (0.75, 0.25), p_e = 0.375
    0.2
    """
    k = len(profile.labels)
    p_a = _mean_over_pairable(profile)
    if k < 2 or np.isnan(p_a):
        return float("nan")
    counts = profile.counts.astype(float)
    m = counts.sum(axis=1)
    has = m > 0
    pi = (counts[has] / m[has, None] * profile.weight[has, None]).sum(axis=0)
    pi /= profile.weight[has].sum()
    p_e = float((pi * (1.0 - pi)).sum() / (k - 1))
    return float((p_a - p_e) / (1.0 - p_e))


def _fleiss_undefined(profile: Profile, note: str) -> FleissResult:
    return FleissResult(None, note, {lab: None for lab in profile.labels})


def _labels_phrase(n: int) -> str:
    return f"{n} label{'s' if n != 1 else ''} per item"


def fleiss_kappa(profile: Profile) -> FleissResult:
    """Fleiss' kappa for items that all have the same number m of labels, and per category.

    With N items, m labels each, and n_ij labels of class j on item i:

    * p_j = sum_i n_ij / (N m), q_j = 1 - p_j;
    * P-bar = (1 / N) sum_i sum_j n_ij (n_ij - 1) / (m (m - 1)), P_e = sum_j p_j^2;
    * kappa = (P-bar - P_e) / (1 - P_e);
    * kappa_j = 1 - sum_i n_ij (m - n_ij) / (N m (m - 1) p_j q_j).

    The overall kappa is the p_j q_j-weighted mean of the kappa_j.
    Undefined (``value`` None, with a ``note`` saying why) when the items do
    not all have the same number of labels, when that number is below two, or
    when only one class is used.

    Reference: Fleiss, J. L. (1971), "Measuring nominal scale agreement among
    many raters", Psychological Bulletin 76(5), 378-382.

    >>> from consistency.engine import profile_from_rows
    >>> p = profile_from_rows([("a", "x"), ("a", "x"), ("b", "x"), ("b", "y")])
    >>> r = fleiss_kappa(p)
    >>> round(r.value, 4), round(r.per_category["y"], 4)
    (-0.3333, -0.3333)
    >>> fleiss_kappa(profile_from_rows([("a", "x"), ("a", "x"), ("b", "x")])).note
    "Fleiss' kappa needs the same number of labels on every item; found 1 to 2 labels per item. Krippendorff's alpha allows unequal numbers of labels"
    """
    present = profile.weight > 0
    ms = np.unique(profile.m[present])
    if len(ms) == 0:
        return _fleiss_undefined(profile, "Fleiss' kappa needs labeled items; found none")
    if len(ms) > 1:
        return _fleiss_undefined(
            profile,
            "Fleiss' kappa needs the same number of labels on every item; "
            f"found {ms.min()} to {_labels_phrase(int(ms.max()))}. "
            "Krippendorff's alpha allows unequal numbers of labels",
        )
    m = float(ms[0])
    if m < 2:
        return _fleiss_undefined(
            profile,
            f"Fleiss' kappa needs at least two labels per item; found {_labels_phrase(int(m))}",
        )
    counts = profile.counts[present].astype(float)
    w = profile.weight[present].astype(float)
    n_items = w.sum()
    p = (counts * w[:, None]).sum(axis=0) / (n_items * m)
    pq = p * (1.0 - p)
    p_bar = _mean_over_pairable(profile)
    p_e = float((p**2).sum())
    spread = (counts * (m - counts) * w[:, None]).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        kj = 1.0 - spread / (n_items * m * (m - 1) * pq)
    per = {lab: (float(kj[j]) if pq[j] > 0 else None) for j, lab in enumerate(profile.labels)}
    used = [lab for lab, u in zip(profile.labels, _used(profile), strict=True) if u]
    if len(used) < 2:
        return FleissResult(
            None,
            "Fleiss' kappa is undefined when only one class is used "
            f"(chance agreement is 1); found only '{used[0]}'",
            per,
        )
    return FleissResult(float((p_bar - p_e) / (1.0 - p_e)), None, per)
