"""Human-level performance (HLP) per class, the model against it, and what to work on first.

For each class c the table of :func:`hlp_per_class` sets how often people
agree on c beside how often the model agrees with people on c. Where people
agree far more than the model, and the class is common, work on the model
pays off; where people disagree as much as the model, better labels (clearer
instructions) come first. This follows the error analysis of Ng, "Machine
Learning Engineering for Production (MLOps)", DeepLearning.AI (2021), lectures
on human-level performance and on prioritizing what to work on:
priority = (HLP - model accuracy) x share of the data.

Peer mode (no gold needed). For an ordered pair (i, j) of annotations of the
same item by two *different* labelers, where i said c:

* HLP_c = #{pairs where j also said c} / #{pairs where i said c}. This is the
  proportion of specific agreement on c (Fleiss 1975, "Measuring agreement
  between two judges on the presence or absence of a trait", Biometrics 31;
  for two labelers it is 2a / (2a + b + d), a the both-c count).
* model_accuracy_c = #{annotations saying c whose item the model labeled c}
  / #{annotations saying c on items with a prediction}: the model plays
  labeler j.

Gold mode (items with a gold label):

* hlp_gold_c = share of the annotations of items whose gold is c that say c.
* model_accuracy_gold_c = share of the items whose gold is c that the model
  labeled c.

Where people agree: model_accuracy_agreed_c = share of the items with at
least two labels, all c, that the model labeled c (with ``agreed_min_conf``
below 1: items whose majority label c holds at least that share of the
item's labels, and no other label ties with it).

Intervals are Wilson score intervals at 95% (Wilson 1927, "Probable
inference, the law of succession, and statistical inference", JASA 22).
Pairs of annotations are not independent (each annotation takes part in
several pairs, and labels of one item go together), so the HLP intervals are
too narrow: read them as a lower bound on the uncertainty.

Every figure is computed in the query engine from the long tables (group-bys
and joins on ``item_id``); only per-class counts come back.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

from consistency.engine import label_value_or_nan
from consistency.errors import InvalidArgument, NotComputable

#: How many offending item ids a message lists.
_LISTED = 5

#: The rates of the table (each has _n, _ci_low and _ci_high columns).
RATES: tuple[str, ...] = (
    "hlp",
    "model_accuracy",
    "hlp_gold",
    "model_accuracy_gold",
    "model_accuracy_agreed",
)


def _rate_names(rate: str) -> tuple[str, ...]:
    return (rate, f"{rate}_n", f"{rate}_ci_low", f"{rate}_ci_high")


#: The columns of :func:`hlp_per_class`, in order.
COLUMNS: tuple[str, ...] = (
    "class",
    "share",
    *_rate_names("hlp"),
    *_rate_names("model_accuracy"),
    "gap",
    "priority",
    *_rate_names("hlp_gold"),
    *_rate_names("model_accuracy_gold"),
    "gap_gold",
    "priority_gold",
    *_rate_names("model_accuracy_agreed"),
)

TableLike = ir.Table | pd.DataFrame


def wilson_interval(
    k: Sequence[float] | np.ndarray, n: Sequence[float] | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson 95% score interval of k successes in n trials, elementwise; NaN where n = 0.

    (p + z^2/2n -/+ z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n), p = k/n, z = 1.96
    (Wilson 1927). Computed by statsmodels' ``proportion_confint``; the bounds
    are clipped so that they hold k/n despite rounding.

    >>> low, high = wilson_interval([8, 0], [10, 0])
    >>> [round(float(low[0]), 4), round(float(high[0]), 4)], bool(np.isnan(low[1]))
    ([0.4902, 0.9433], True)
    """
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    low = np.full(k.shape, np.nan)
    high = np.full(k.shape, np.nan)
    ok = n > 0
    if ok.any():
        lo, hi = proportion_confint(k[ok], n[ok], alpha=0.05, method="wilson")
        p = k[ok] / n[ok]
        low[ok] = np.clip(np.minimum(lo, p), 0.0, 1.0)
        high[ok] = np.clip(np.maximum(hi, p), 0.0, 1.0)
    return low, high


def as_table(data: TableLike, what: str, required: Sequence[str]) -> ir.Table:
    """An Ibis table with ``required`` columns cast to text; pandas frames become memtables.

    Raises:
        InvalidArgument: when a required column is missing (the message lists
            the expected and the found columns).
    """
    t = ibis.memtable(data) if isinstance(data, pd.DataFrame) else data
    missing = [c for c in required if c not in t.columns]
    if missing:
        raise InvalidArgument(
            f"the {what} table has no column {', '.join(repr(c) for c in missing)}. "
            f"Expected columns: {', '.join(required)}; found: {', '.join(t.columns)}"
        )
    return t.mutate(**{c: t[c].cast("string") for c in required})


def _one_per_item(t: ir.Table, value: str) -> tuple[ir.Table, ir.Table]:
    """``(item_id, value)`` without repeats, and the ``item_id`` of items with several values."""
    d = t.select("item_id", value).distinct()
    many = d.group_by("item_id").agg(distinct_n=d.count())
    return d, many.filter(many.distinct_n > 1).select("item_id")


def _conflict_count(many: ir.Table, tag: str) -> ir.Table:
    """The number of items with several values, shaped as a row of :func:`_counts`."""
    out = many.aggregate(n=many.count().cast("int64"))
    return out.mutate(
        cls_=ibis.null("string"), k=ibis.literal(0).cast("int64"), rate=ibis.literal(tag)
    ).select("cls_", "n", "k", "rate")


def _check_conflicts(many: ir.Table, total: int, what: str, kind: str) -> None:
    """NotComputable naming the first items with several values, when there are any."""
    if not total:
        return
    bad = many.order_by("item_id").limit(_LISTED).execute()["item_id"].astype(str).tolist()
    shown = ", ".join(f"'{x}'" for x in bad)
    more = f" and {total - _LISTED} more" if total > _LISTED else ""
    raise NotComputable(
        f"{what} gives more than one {kind} to {total} item{'s' if total != 1 else ''}: "
        f"{shown}{more}. Keep one {kind} per item"
    )


def _counts(
    rate: str, t: ir.Table, cls: str, hit: ir.BooleanValue, weight: ir.IntegerValue | int = 1
) -> ir.Table:
    """Per class of ``cls``: n = the (weighted) rows, k = those where ``hit`` holds; tagged ``rate``."""
    t = t.mutate(cls_=t[cls], w_=weight, hit_=ibis.ifelse(hit, weight, 0))
    out = t.group_by("cls_").agg(n=t["w_"].sum().cast("int64"), k=t["hit_"].sum().cast("int64"))
    return out.mutate(rate=ibis.literal(rate))


def _peer_counts(ann: ir.Table) -> ir.Table:
    """Ordered pairs of annotations by different labelers of one item, by the first one's class."""
    per = ann.group_by(["item_id", "labeler_id", "label"]).agg(n=ann.count())
    a = per.select(item_id=per.item_id, li=per.labeler_id, ci=per.label, ni=per.n)
    other = per.view()
    b = other.select(item_j=other.item_id, lj=other.labeler_id, cj=other.label, nj=other.n)
    j = a.join(b, [a.item_id == b.item_j, a.li != b.lj])
    return _counts("hlp", j, "ci", j.ci == j.cj, j.ni * j.nj)


def _agreed_items(ann: ir.Table, min_conf: float) -> ir.Table:
    """``(item_id, agreed)`` for items with >= 2 labels whose unique top label has share >= min_conf."""
    vc = ann.group_by(["item_id", "label"]).agg(n=ann.count())
    per_item = vc.group_by("item_id").agg(m=vc.n.sum(), top=vc.n.max())
    ok = per_item.filter(
        (per_item.m >= 2) & (per_item.top.cast("float64") / per_item.m >= min_conf - 1e-12)
    )
    ok = ok.select(ok_item=ok.item_id, top=ok.top)
    tops = vc.join(ok, vc.item_id == ok.ok_item).filter(lambda x: x.n == x.top)
    win = tops.group_by("item_id").agg(labels=tops.count(), agreed=tops.label.min())
    return win.filter(win.labels == 1).select("item_id", "agreed")


def _choose_model(predictions: ir.Table | None, model: str | None) -> str | None:
    """The model to compare with (see :func:`hlp_per_class`); None when there are no predictions."""
    models: list[str] = []
    if predictions is not None:
        got = predictions.select("model").distinct().execute()["model"]
        models = sorted(str(x) for x in got)
    if model is not None:
        if model not in models:
            listed = ", ".join(models) if models else "none"
            raise InvalidArgument(f"model '{model}' not found in the predictions. Models: {listed}")
        return model
    if len(models) > 1:
        raise InvalidArgument(
            f"the predictions come from {len(models)} models ({', '.join(models)}); "
            "choose one with the model argument"
        )
    return models[0] if models else None


def _text(value: object) -> str:
    return "" if value is None or pd.isna(value) else str(value)


def _class_order(classes: set[str]) -> list[str]:
    """Numeric-looking classes by value first, then the others by name (the engine's order)."""

    def key(c: str) -> tuple[int, float, str]:
        v = label_value_or_nan(c)
        return (1, 0.0, c) if np.isnan(v) else (0, v, c)

    return sorted(classes, key=key)


def _rate_columns(
    name: str, counts: dict[str, tuple[int, int]], classes: list[str]
) -> dict[str, Any]:
    """rate, rate_n, rate_ci_low, rate_ci_high for each class (NaN where n = 0)."""
    n = np.array([counts.get(c, (0, 0))[0] for c in classes], dtype=np.int64)
    k = np.array([counts.get(c, (0, 0))[1] for c in classes], dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(n > 0, k / np.maximum(n, 1), np.nan)
    low, high = wilson_interval(k, n)
    return {name: rate, f"{name}_n": n, f"{name}_ci_low": low, f"{name}_ci_high": high}


def hlp_per_class(
    ann: TableLike,
    items: TableLike | None = None,
    predictions: TableLike | None = None,
    model: str | None = None,
    agreed_min_conf: float = 1.0,
) -> pd.DataFrame:
    """Human-level performance per class against a model, with the priority of each class.

    Args:
        ann: annotations (``item_id``, ``labeler_id``, ``label``), an Ibis
            table or a pandas frame. All figures are over the items of ``ann``
            (filter it to look at a view).
        items: items with ``item_id`` and ``gold_label`` (null where unknown),
            for the gold-mode columns; None for none.
        predictions: ``item_id``, ``model``, ``predicted_label``; None for none.
        model: the model to compare with. Default: the only model of
            ``predictions``; with several models, it must be given
            (InvalidArgument lists them), since comparing with an arbitrary
            one would mislead.
        agreed_min_conf: for ``model_accuracy_agreed``: 1 keeps items whose
            labels (at least two) are all the same; a lower value keeps items
            whose majority label holds at least that share of their labels,
            with no tie for the top.

    Returns:
        One row per class (the classes of ``ann`` and the gold labels of its
        items, numbers by value first, then by name), columns:

        * ``class``; ``share``: the share of the annotations that say c.
        * ``hlp`` (peer mode): over ordered pairs (i, j) of annotations of one
          item by different labelers where i said c, the share where j said c;
          ``hlp_n`` the number of such pairs.
        * ``model_accuracy``: over annotations saying c on items the model
          labeled, the share where the model said c; ``model_accuracy_n``.
        * ``gap`` = hlp - model_accuracy; ``priority`` = max(gap, 0) x share.
        * ``hlp_gold``: over annotations of items whose gold is c, the share
          saying c; ``model_accuracy_gold``: over items whose gold is c and
          that the model labeled, the share it labeled c; ``gap_gold`` and
          ``priority_gold`` likewise.
        * ``model_accuracy_agreed``: over items where people agree on c (see
          ``agreed_min_conf``) and the model labeled, the share it labeled c.
        * every rate has ``_n`` (its denominator) and a Wilson 95% interval
          ``_ci_low``, ``_ci_high``. A rate with n = 0 is NaN, and so are the
          model columns without predictions and the gold columns without gold.

        ``attrs["model"]`` names the model compared with (None without one).

    Raises:
        InvalidArgument: a missing column, an unknown model, several models
            and none chosen, or ``agreed_min_conf`` outside (0, 1].
        NotComputable: an item with two gold labels, or two predictions of
            the chosen model.

    >>> ann = pd.DataFrame({"item_id": ["a", "a", "b", "b"], "labeler_id": ["x", "y"] * 2,
    ...                     "label": ["cat", "cat", "cat", "dog"]})
    >>> preds = pd.DataFrame({"item_id": ["a", "b"], "model": "m", "predicted_label": "cat"})
    >>> t = hlp_per_class(ann, predictions=preds)
    >>> print(t[["class", "share", "hlp", "hlp_n", "model_accuracy", "gap"]].round(3).to_string(index=False))
    class  share   hlp  hlp_n  model_accuracy    gap
      cat   0.75 0.667      3             1.0 -0.333
      dog   0.25 0.000      1             0.0  0.000
    """
    if not 0 < agreed_min_conf <= 1:
        raise InvalidArgument(f"agreed_min_conf must be in (0, 1]; found {agreed_min_conf}")
    ann = as_table(ann, "annotations", ("item_id", "labeler_id", "label"))
    ann = ann.select("item_id", "labeler_id", "label")

    parts = [_counts("share", ann, "label", ibis.literal(True)), _peer_counts(ann)]
    checks: list[tuple[ir.Table, str, str, str]] = []

    gold = None
    if items is not None:
        it = as_table(items, "items", ("item_id", "gold_label"))
        it = it.filter(it.gold_label.notnull()).semi_join(ann, "item_id")
        gold, many = _one_per_item(it, "gold_label")
        gold = gold.select(g_item=gold.item_id, gold=gold.gold_label)
        checks.append((many, "conflicts:gold", "the items table", "gold label"))

    preds = None
    pred_t = (
        as_table(predictions, "predictions", ("item_id", "model", "predicted_label"))
        if predictions is not None
        else None
    )
    chosen = _choose_model(pred_t, model)
    if pred_t is not None and chosen is not None:
        pred_t = pred_t.filter(pred_t.model == chosen).semi_join(ann, "item_id")
        preds, many = _one_per_item(pred_t, "predicted_label")
        preds = preds.select(p_item=preds.item_id, pred=preds.predicted_label)
        checks.append((many, "conflicts:model", f"model '{chosen}'", "predicted label"))
        j = ann.join(preds, ann.item_id == preds.p_item)
        parts.append(_counts("model_accuracy", j, "label", j.label == j.pred))
        agreed = _agreed_items(ann, agreed_min_conf)
        j = agreed.join(preds, agreed.item_id == preds.p_item)
        parts.append(_counts("model_accuracy_agreed", j, "agreed", j.agreed == j.pred))
    if gold is not None:
        j = ann.join(gold, ann.item_id == gold.g_item)
        parts.append(_counts("hlp_gold", j, "gold", j.label == j.gold))
        if preds is not None:
            j = gold.join(preds, gold.g_item == preds.p_item)
            parts.append(_counts("model_accuracy_gold", j, "gold", j.pred == j.gold))
    parts += [_conflict_count(many, tag) for many, tag, _, _ in checks]

    # one query for every count
    df = ibis.union(*parts, distinct=False).execute()
    counts: dict[str, dict[str, tuple[int, int]]] = defaultdict(dict)
    for rate, c, n, k in zip(df["rate"], df["cls_"], df["n"], df["k"], strict=True):
        counts[str(rate)][_text(c)] = (int(n), int(k))
    for many, tag, what, kind in checks:
        _check_conflicts(many, counts[tag].get("", (0, 0))[0], what, kind)
    label_n = counts["share"]
    total = sum(n for n, _ in label_n.values())

    classes = _class_order(set(label_n) | set(counts.get("hlp_gold", {})))
    out: dict[str, Any] = {
        "class": pd.Series(classes, dtype=object),
        "share": np.array([label_n.get(c, (0, 0))[0] / total for c in classes], dtype=float)
        if total
        else np.zeros(0),
    }
    for name in RATES:
        out.update(_rate_columns(name, counts.get(name, {}), classes))
    for suffix, (h, m) in {"": RATES[:2], "_gold": RATES[2:4]}.items():
        gap = out[h] - out[m]
        out[f"gap{suffix}"] = gap
        out[f"priority{suffix}"] = np.maximum(gap, 0.0) * out["share"]
    table = pd.DataFrame(out)[list(COLUMNS)]
    table.attrs["model"] = chosen
    return table
