"""The planner: how many more items, and how many labels per item.

Two questions a lead budgets with, answered from the data at hand.

**How many more items?** (:func:`items_needed`) The bootstrap interval of a
figure (Krippendorff's alpha, or the specific agreement o_cc / n_c of one
class) is W_now wide on n_now pairable items (for a class: pairable items
with at least one label of the class). The figure is a smooth function of
sums over items, so its variance scales as 1/n; the width of its interval as
1/sqrt(n). With the same labeling design, n items give a width of about
W_now sqrt(n_now / n), and the interval is narrower than W once

    n >= n_now (W_now / ((1 - margin) W))^2.

The ``margin`` (10% by default) aims under W because W_now is itself an
estimate: without it, the new interval would land above W about half the
time. In a simulation (tests/test_planner.py) the items added this way bring
the interval under W in at least 80% of re-runs.

**How many labels per item?** (:func:`expected_accuracy`) Fit Dawid–Skene
(:func:`consistency.metrics.consensus.dawid_skene`): class priors p_k and a
confusion matrix pi_l per labeler. Then, for k = 1, 2, ... labels per item,
simulate items: the true class z, k *distinct* labelers drawn in proportion
to how many labels each gave (successive sampling without replacement, by
the Gumbel top-k trick), and each labeler's answer drawn from pi_l[z]. Score
two consensus rules against z:

* majority vote, a t-way tie broken at random (credit 1/t);
* Dawid–Skene with the fitted parameters *known*: the Bayes decision
  argmax_k p_k prod_j pi_lj[k, c_j] (ties: credit 1/t). This is the accuracy
  of Dawid–Skene when its parameters are right, an upper reference for DS
  fitted on the new labels.

Draws are stratified by class (``draws`` items of each true class per k, one
fixed seed); the overall accuracy is sum_k p_k acc_k. With 20,000 draws per
class the Monte Carlo standard error of each accuracy is at most 0.0035.
Exact enumeration over labeler subsets and answer multisets is combinatorial
(L choose k subsets times K^k answers), hence the simulation. An even k
gives majority vote little over k - 1: ties are split at random.

The labels needed per item for a target accuracy (:func:`labels_needed`) is
the smallest k whose expected accuracy reaches it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from consistency.engine import Profile, profile
from consistency.errors import InvalidArgument, NotComputable
from consistency.metrics.alpha import Level, alpha_with_ci
from consistency.metrics.consensus import DawidSkeneResult, dawid_skene
from consistency.store import Store, ViewFilter

#: Default full width (high minus low) the planner aims the interval under.
CI_WIDTH = 0.1
#: Default share under the goal width the items-needed estimate aims at.
MARGIN = 0.1
#: Default labels-per-item range of the overlap table.
MAX_LABELS = 7
#: Simulated items per true class and per number of labels.
DRAWS = 20_000
#: EM steps allowed to Dawid–Skene when fitting the labeler model.
DS_MAX_ITER = 500

#: Columns of :attr:`OverlapPlan.table` and :attr:`OverlapPlan.per_class`.
OVERLAP_COLUMNS: tuple[str, ...] = (
    "labels_per_item",
    "majority_vote_accuracy",
    "dawid_skene_accuracy",
)
PER_CLASS_COLUMNS: tuple[str, ...] = (
    "labels_per_item",
    "class",
    "majority_vote_accuracy",
    "dawid_skene_accuracy",
)


# ---- how many more items -------------------------------------------------------------
def _class_index(p: Profile, cls: str) -> int:
    if cls not in p.labels:
        raise InvalidArgument(f"class '{cls}' not found. Classes: {', '.join(p.labels)}")
    return p.labels.index(cls)


def specific_agreement_draws(p: Profile, cls: str, n_boot: int = 1000, seed: int = 0) -> np.ndarray:
    """Bootstrap draws of the specific agreement o_cc / n_c of one class (NaN where undefined).

    Each draw resamples the items with replacement (a multinomial over the
    profile's count patterns, as :func:`consistency.metrics.alpha.bootstrap_draws`);
    o_cc = sum_u n_uc (n_uc - 1) / (m_u - 1) and n_c = sum_u n_uc over the
    pairable items of the draw.
    """
    c = _class_index(p, cls)
    return specific_agreement_draws_all(p, n_boot, seed)[:, c]


def specific_agreement_draws_all(p: Profile, n_boot: int = 1000, seed: int = 0) -> np.ndarray:
    """:func:`specific_agreement_draws` of every class at once: n_boot x K (columns: ``p.labels``).

    The draws of the items are made once and shared by the classes (the same
    seed gives the same draws as one class at a time).
    """
    if n_boot < 1:
        raise InvalidArgument(f"the number of bootstrap draws must be at least 1; found {n_boot}")
    rng = np.random.default_rng(seed)
    counts = p.counts.astype(float)
    m = p.m.astype(float)
    keep = p.pairable[:, None]
    occ = np.where(keep, counts * (counts - 1) / np.maximum(m - 1, 1)[:, None], 0.0)
    nc = np.where(keep, counts, 0.0)
    w = rng.multinomial(p.items, p.weight / p.items, size=n_boot).astype(float)
    num, den = w @ occ, w @ nc
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _percentile_interval(draws: np.ndarray, confidence: float) -> tuple[float, float]:
    ok = draws[~np.isnan(draws)]
    if len(ok) == 0:
        return float("nan"), float("nan")
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(ok, [tail, 100 - tail])
    return float(low), float(high)


def items_to_reach(
    items_now: int, width_now: float, ci_width: float, margin: float = MARGIN
) -> int:
    """Items to add so that an interval ``width_now`` wide on ``items_now`` items gets under ``ci_width``.

    n_goal = ceil(n_now (W_now / ((1 - margin) W))^2); returns max(n_goal - n_now, 0).

    >>> items_to_reach(100, 0.2, 0.1, margin=0.0)
    300
    """
    if width_now < ci_width:
        return 0
    goal = (1.0 - margin) * ci_width
    return max(math.ceil(items_now * (width_now / goal) ** 2 - 1e-9) - items_now, 0)


def _check_width(ci_width: float, margin: float) -> None:
    if not 0 < ci_width <= 2:
        raise InvalidArgument(
            f"the interval width must be a number above 0 and at most 2; found {ci_width!r}"
        )
    if not 0 <= margin < 1:
        raise InvalidArgument(f"the margin must be at least 0 and below 1; found {margin!r}")


def items_needed(
    p: Profile,
    ci_width: float = CI_WIDTH,
    cls: str | None = None,
    level: Level = "nominal",
    n_boot: int = 1000,
    seed: int = 0,
    margin: float = MARGIN,
    confidence: float = 0.95,
    draws: np.ndarray | None = None,
) -> dict[str, Any]:
    """How many more pairable items, labeled as now, bring an interval under ``ci_width``.

    Args:
        p: the profile of the view.
        ci_width: the goal: the full width (high minus low) of the interval.
        cls: a class: plan the interval of its specific agreement, counting
            pairable items with at least one label of the class; None: alpha
            over all pairable items.
        level, n_boot, seed, confidence: of the bootstrap interval (as in
            :func:`consistency.metrics.alpha.alpha_with_ci`).
        margin: aim at (1 - margin) ci_width (see the module docstring).
        draws: the class's :func:`specific_agreement_draws` when they are at
            hand (of the same profile, ``n_boot`` and ``seed``).

    Returns:
        ``target`` (``alpha`` or ``specific_agreement:<class>``), ``value``,
        ``ci_low``, ``ci_high``, ``ci_width_now``, ``ci_width_goal``,
        ``items_now``, ``items_to_add``.

    Raises:
        NotComputable: the interval is undefined (no pairable item, one value only).
        InvalidArgument: an unknown class, a width outside (0, 2], a margin outside [0, 1).
    """
    _check_width(ci_width, margin)
    if cls is None:
        est = alpha_with_ci(p, level, n_boot, seed, confidence)
        target, value, low, high = "alpha", est.value, est.ci_low, est.ci_high
        items_now = p.pairable_items
    else:
        c = _class_index(p, cls)
        if draws is None:
            draws = specific_agreement_draws(p, cls, n_boot, seed)
        low, high = _percentile_interval(draws, confidence)
        mask = p.pairable & (p.counts[:, c] > 0)
        items_now = int(p.weight[mask].sum())
        nc = float((p.counts[mask, c] * p.weight[mask]).sum())
        occ = float(
            (p.counts[mask, c] * (p.counts[mask, c] - 1) / (p.m[mask] - 1) * p.weight[mask]).sum()
        )
        target, value = f"specific_agreement:{cls}", occ / nc if nc else float("nan")
    width = high - low
    if not items_now or not np.isfinite(width):
        raise NotComputable(
            f"the interval of {target} is undefined on this data ({items_now} pairable items"
            f"{'' if cls is None else ' with the class'}); label items with two labels or more first"
        )
    return {
        "target": target,
        "value": float(value),
        "ci_low": float(low),
        "ci_high": float(high),
        "ci_width_now": float(width),
        "ci_width_goal": float(ci_width),
        "items_now": int(items_now),
        "items_to_add": items_to_reach(items_now, width, ci_width, margin),
    }


# ---- how many labels per item -----------------------------------------------------------
@dataclass(frozen=True)
class LabelerModel:
    """A Dawid–Skene model of how the labelers answer.

    Attributes:
        classes: the K classes (order of every axis).
        priors: length-K class probabilities p_k (sum 1).
        confusions: L x K x K; ``confusions[l, k, c]`` = P(labeler l answers c
            | true class k); each row sums to 1.
        labelers: the L labeler ids.
        weights: length-L chance of each labeler being drawn (sum 1), in
            proportion to how many labels each gave.
    """

    classes: tuple[str, ...]
    priors: np.ndarray
    confusions: np.ndarray
    labelers: tuple[str, ...]
    weights: np.ndarray

    def __post_init__(self) -> None:
        k, n_lab = len(self.classes), len(self.labelers)
        if k < 1 or n_lab < 1:
            raise NotComputable("the labeler model needs at least one class and one labeler")
        if self.priors.shape != (k,) or self.confusions.shape != (n_lab, k, k):
            raise InvalidArgument(
                f"the labeler model needs {k} priors and {n_lab} confusion matrices of "
                f"{k} x {k}; found priors of shape {self.priors.shape} and confusions of "
                f"shape {self.confusions.shape}"
            )
        if (
            self.weights.shape != (n_lab,)
            or not (self.weights >= 0).all()
            or self.weights.sum() <= 0
        ):
            raise InvalidArgument(
                f"the labeler weights must be {n_lab} numbers of 0 or more, not all 0; "
                f"found {self.weights.tolist()}"
            )


def model_from_dawid_skene(ds: DawidSkeneResult, label_counts: Mapping[str, int]) -> LabelerModel:
    """The :class:`LabelerModel` of a fitted Dawid–Skene result and each labeler's label count."""
    labelers = tuple(ds.confusions)
    classes = tuple(str(c) for c in ds.priors.index)
    if not labelers:
        raise NotComputable("no labels to fit the labeler model on")
    conf = np.stack([ds.confusions[lab].to_numpy(dtype=float) for lab in labelers])
    conf = conf / conf.sum(axis=2, keepdims=True)
    weights = np.array([float(label_counts.get(lab, 0)) for lab in labelers])
    priors = ds.priors.to_numpy(dtype=float)
    return LabelerModel(classes, priors / priors.sum(), conf, labelers, weights / weights.sum())


def labeler_model(ann: ir.Table, max_iter: int = DS_MAX_ITER) -> LabelerModel:
    """Fit Dawid–Skene on annotations and count each labeler's labels (one query each)."""
    ds = dawid_skene(ann, max_iter=max_iter)
    counts = ann.group_by("labeler_id").agg(n=ann.count()).execute()
    label_counts = dict(zip(counts["labeler_id"].astype(str), counts["n"].astype(int), strict=True))
    return model_from_dawid_skene(ds, label_counts)


def _draw(
    model: LabelerModel, truth: np.ndarray, k: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """For each true class in ``truth``: k distinct labelers (n x k) and their answers (n x k)."""
    n = len(truth)
    with np.errstate(divide="ignore"):
        keys = np.log(model.weights)[None, :] + rng.gumbel(size=(n, len(model.labelers)))
    who = np.argsort(-keys, axis=1, kind="stable")[:, :k]
    cum = np.cumsum(model.confusions, axis=2)
    rows = cum[who, truth[:, None]]  # n x k x K
    u = rng.random((n, k, 1)) * rows[:, :, -1:]
    answers = np.minimum((u >= rows).sum(axis=2), len(model.classes) - 1)
    return who, answers


def _credit(scores: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """1/t when the true class is among the t best scores of an item, else 0."""
    top = scores.max(axis=1, keepdims=True)
    best = np.isclose(scores, top, rtol=1e-12, atol=1e-12) | (scores == top)
    return best[np.arange(len(truth)), truth] / best.sum(axis=1)


def _vote_scores(answers: np.ndarray, n_classes: int) -> np.ndarray:
    n = len(answers)
    votes = np.zeros((n, n_classes))
    np.add.at(votes, (np.repeat(np.arange(n), answers.shape[1]), answers.ravel()), 1.0)
    return votes


def _bayes_scores(model: LabelerModel, who: np.ndarray, answers: np.ndarray) -> np.ndarray:
    log_conf = np.log(np.maximum(model.confusions, 1e-300))
    log_prior = np.log(np.maximum(model.priors, 1e-300))
    # log_conf[who, :, answer] is n x k x K: each answer's likelihood under every class
    return log_prior[None, :] + log_conf[who, :, answers].sum(axis=1)


def simulate(model: LabelerModel, items: int, labels_per_item: int, seed: int = 0) -> pd.DataFrame:
    """Simulated annotations: true classes from the priors, k distinct labelers per item.

    Returns:
        ``item_id, labeler_id, label, true_label``, one row per label.
    """
    _check_k(model, labels_per_item)
    rng = np.random.default_rng(seed)
    truth = rng.choice(len(model.classes), size=items, p=model.priors)
    who, answers = _draw(model, truth, labels_per_item, rng)
    classes = np.asarray(model.classes, dtype=object)
    width = len(str(max(items - 1, 0)))
    return pd.DataFrame(
        {
            "item_id": np.repeat([f"u{i:0{width}d}" for i in range(items)], labels_per_item),
            "labeler_id": np.asarray(model.labelers, dtype=object)[who.ravel()],
            "label": classes[answers.ravel()],
            "true_label": np.repeat(classes[truth], labels_per_item),
        }
    )


def _check_k(model: LabelerModel, k: int) -> None:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise InvalidArgument(f"labels per item must be a whole number of at least 1; found {k!r}")
    if k > len(model.labelers):
        raise InvalidArgument(
            f"{k} labels per item need {k} distinct labelers; the data has {len(model.labelers)}"
        )


@dataclass(frozen=True)
class OverlapPlan:
    """Expected consensus accuracy per number of labels per item.

    Attributes:
        table: one row per k, columns :data:`OVERLAP_COLUMNS`.
        per_class: one row per k and true class, columns :data:`PER_CLASS_COLUMNS`.
        draws: simulated items per class and k; seed: the seed.
    """

    table: pd.DataFrame
    per_class: pd.DataFrame
    draws: int
    seed: int


def expected_accuracy(
    model: LabelerModel,
    labels_per_item: Sequence[int] = tuple(range(1, MAX_LABELS + 1)),
    draws: int = DRAWS,
    seed: int = 0,
) -> OverlapPlan:
    """Expected accuracy of majority vote and of Dawid–Skene with k labels per item.

    Per k and true class c: ``draws`` simulated items of class c, k distinct
    labelers each (see the module docstring); the class's accuracy is the
    mean credit, the overall accuracy sum_c p_c acc_c.

    Raises:
        InvalidArgument: k below 1 or above the number of labelers; draws below 1.
    """
    if draws < 1:
        raise InvalidArgument(f"draws must be at least 1; found {draws}")
    ks = list(dict.fromkeys(labels_per_item))
    for k in ks:
        _check_k(model, k)
    n_classes = len(model.classes)
    truth = np.repeat(np.arange(n_classes), draws)
    rows, per_class = [], []
    for k in ks:
        rng = np.random.default_rng([seed, int(k)])
        who, answers = _draw(model, truth, int(k), rng)
        mv = _credit(_vote_scores(answers, n_classes), truth).reshape(n_classes, draws).mean(axis=1)
        ds = (
            _credit(_bayes_scores(model, who, answers), truth)
            .reshape(n_classes, draws)
            .mean(axis=1)
        )
        rows.append((int(k), float(model.priors @ mv), float(model.priors @ ds)))
        per_class += [
            (int(k), cls, float(a), float(b))
            for cls, a, b in zip(model.classes, mv, ds, strict=True)
        ]
    return OverlapPlan(
        pd.DataFrame(rows, columns=list(OVERLAP_COLUMNS)),
        pd.DataFrame(per_class, columns=list(PER_CLASS_COLUMNS)),
        draws,
        seed,
    )


def labels_needed(
    overlap: OverlapPlan,
    target_accuracy: float,
    method: str = "majority_vote",
    cls: str | None = None,
) -> int | None:
    """The fewest labels per item whose expected accuracy reaches ``target_accuracy``, or None.

    ``method``: ``majority_vote`` or ``dawid_skene``; ``cls``: use that
    class's accuracy instead of the overall one.
    """
    if not 0 < target_accuracy <= 1:
        raise InvalidArgument(
            f"the target accuracy must be above 0 and at most 1; found {target_accuracy!r}"
        )
    if method not in ("majority_vote", "dawid_skene"):
        raise InvalidArgument(f"unknown method '{method}'. Methods: majority_vote, dawid_skene")
    table = overlap.table
    if table.empty:
        return None
    if cls is not None:
        known = overlap.per_class["class"].unique().tolist()
        if cls not in known:
            raise InvalidArgument(f"class '{cls}' not found. Classes: {', '.join(known)}")
        table = overlap.per_class[overlap.per_class["class"] == cls]
    hit = table[table[f"{method}_accuracy"] >= target_accuracy - 1e-12]
    return int(hit["labels_per_item"].min()) if len(hit) else None


# ---- the whole plan -----------------------------------------------------------------------
def parse_overlap(text: str) -> tuple[int, ...]:
    """``"7"`` -> 1..7, ``"2..5"`` -> 2..5 (for ``--overlap``).

    >>> parse_overlap("1..3"), parse_overlap("2")
    ((1, 2, 3), (1, 2))
    """
    s = str(text).strip()
    try:
        low, high = (int(x) for x in s.split("..", 1)) if ".." in s else (1, int(s))
    except ValueError:
        raise InvalidArgument(
            f"--overlap expects N or LOW..HIGH labels per item (e.g. 1..7); found '{text}'"
        ) from None
    if not 1 <= low <= high <= 20:
        raise InvalidArgument(
            f"--overlap expects labels per item between 1 and 20, low before high; found '{text}'"
        )
    return tuple(range(low, high + 1))


def plan(
    store: Store,
    dataset: str,
    view: ViewFilter | None = None,
    ci_width: float = CI_WIDTH,
    cls: str | None = None,
    labels_per_item: Sequence[int] = tuple(range(1, MAX_LABELS + 1)),
    target_accuracy: float | None = None,
    level: Level = "nominal",
    n_boot: int = 1000,
    seed: int = 0,
    draws: int = DRAWS,
    margin: float = MARGIN,
) -> dict[str, Any]:
    """Both plans for a dataset view, as one JSON-ready dict (``consistency plan --json``).

    Keys: ``items_needed`` (see :func:`items_needed`; with ``items_to_add``
    None and a ``reason`` when the interval is undefined), ``overlap`` (one
    entry per k up to the number of labelers: ``labels_per_item``,
    ``majority_vote_accuracy``, ``dawid_skene_accuracy``, ``per_class``
    [{class, majority_vote_accuracy, dawid_skene_accuracy}]), ``model``
    (labelers, classes, priors, draws, seed), and, with
    ``target_accuracy``, ``labels_needed`` {target_accuracy, class,
    majority_vote, dawid_skene}.
    """
    view = view or ViewFilter()
    ann = store.annotations(dataset, view)
    p = profile(ann)
    if cls is not None:
        _class_index(p, cls)
    try:
        needed = items_needed(p, ci_width, cls, level, n_boot, seed, margin)
    except NotComputable as exc:
        needed = {
            "target": "alpha" if cls is None else f"specific_agreement:{cls}",
            "ci_width_now": None,
            "ci_width_goal": float(ci_width),
            "items_now": p.pairable_items,
            "items_to_add": None,
            "reason": str(exc),
        }
    model = labeler_model(ann)
    ks = [k for k in labels_per_item if k <= len(model.labelers)]
    overlap = expected_accuracy(model, ks, draws, seed)
    entries = []
    for row in overlap.table.to_dict("records"):
        k = row["labels_per_item"]
        sub = overlap.per_class[overlap.per_class["labels_per_item"] == k]
        entries.append(
            {
                **row,
                "per_class": sub.drop(columns="labels_per_item").to_dict("records"),
            }
        )
    out: dict[str, Any] = {
        "dataset": dataset,
        "view": view.describe(),
        "items_needed": needed,
        "overlap": entries,
        "model": {
            "labelers": len(model.labelers),
            "classes": list(model.classes),
            "priors": [float(x) for x in model.priors],
            "draws_per_class": draws,
            "seed": seed,
            "left_out": [k for k in labels_per_item if k > len(model.labelers)],
        },
    }
    if target_accuracy is not None:
        out["labels_needed"] = {
            "target_accuracy": float(target_accuracy),
            "class": cls,
            "majority_vote": labels_needed(overlap, target_accuracy, "majority_vote", cls),
            "dawid_skene": labels_needed(overlap, target_accuracy, "dawid_skene", cls),
        }
    return out


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1%}"


def format_plan(result: Mapping[str, Any]) -> str:
    """A readable rendering of :func:`plan`'s result for the terminal."""
    need = result["items_needed"]
    lines = [f"plan for dataset {result['dataset']} ({result['view']})", ""]
    if need.get("items_to_add") is None:
        lines.append(f"  {need['target']}: {need.get('reason', 'interval undefined')}")
    else:
        lines.append(
            f"  {need['target']} = {need['value']:.3f}, 95% interval {need['ci_low']:.3f} to "
            f"{need['ci_high']:.3f} ({need['ci_width_now']:.3f} wide) on "
            f"{need['items_now']} pairable items"
        )
        if need["items_to_add"] == 0:
            lines.append(f"  already narrower than {need['ci_width_goal']:g}: no items to add")
        else:
            lines.append(
                f"  to narrow it under {need['ci_width_goal']:g}: add about "
                f"{need['items_to_add']} pairable items labeled as now "
                f"({need['items_now'] + need['items_to_add']} in all)"
            )
    model = result["model"]
    lines += [
        "",
        f"  expected consensus accuracy ({model['labelers']} labelers, Dawid-Skene model, "
        f"{model['draws_per_class']} simulated items per class)",
        "  labels per item  majority vote  Dawid-Skene",
    ]
    for row in result["overlap"]:
        lines.append(
            f"  {row['labels_per_item']:>15}  {_pct(row['majority_vote_accuracy']):>13}  "
            f"{_pct(row['dawid_skene_accuracy']):>11}"
        )
    if model["left_out"]:
        lines.append(
            f"  ({', '.join(map(str, model['left_out']))} labels per item left out: "
            f"only {model['labelers']} labelers)"
        )
    target = result.get("labels_needed")
    if target:
        who = f" for class {target['class']}" if target["class"] else ""

        def say(k: int | None) -> str:
            return "not reached" if k is None else f"{k} labels per item"

        lines += [
            "",
            f"  to reach {target['target_accuracy']:.1%} accuracy{who}: "
            f"majority vote {say(target['majority_vote'])}, "
            f"Dawid-Skene {say(target['dawid_skene'])}",
        ]
    return "\n".join(lines)
