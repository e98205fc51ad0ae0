"""Krippendorff's alpha per slice: per value of an item metadata field, or per labeling round.

Each slice's figures are those of the slice's annotations alone: its
:class:`consistency.engine.Profile` is exactly the one
:func:`consistency.engine.profile` builds on the filtered table, so alpha and
its bootstrap interval (:func:`consistency.metrics.alpha.alpha_with_ci`, same
seed) are the same too. All slices are built in one pass of the engine: the
per-item value counts are grouped by (slice value, item), then by (slice
value, count pattern), so the cost does not grow with the number of slices.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from consistency.engine import (
    Profile,
    distinct_pairs,
    label_labeler_counts,
    label_table,
    pattern_counts,
)
from consistency.errors import InvalidArgument
from consistency.metrics.alpha import Level, alpha_with_ci, check_level
from consistency.store import Store, ViewFilter, round_sort_key

#: The columns of the slice tables.
COLUMNS: tuple[str, ...] = (
    "value",
    "items",
    "pairable_items",
    "annotations",
    "alpha",
    "ci_low",
    "ci_high",
)

SliceValue = str | None


def _key(value: object) -> SliceValue:
    return None if value is None or pd.isna(value) else str(value)


def _empty_profile() -> Profile:
    return Profile((), np.zeros(0), np.zeros((0, 0), dtype=np.int64), np.zeros(0, dtype=np.int64))


def profiles_by(ann: ir.Table, column: str) -> dict[SliceValue, Profile]:
    """One :class:`Profile` per value of ``column`` (None for a null value), in one pass.

    Two grouped queries whatever the number of slices, as
    :func:`consistency.engine.profile` does for one: the annotations per
    (slice, label, labeler), and the count patterns per (slice, pattern) with
    their repeated labels. Each profile keeps only the labels present in its
    slice, in the engine's order.

    >>> import ibis
    >>> t = ibis.memtable(pd.DataFrame({"item_id": list("aabb"), "labeler_id": list("xyxy"),
    ...     "label": list("ppqr"), "label_value": [np.nan] * 4, "cam": ["c1"] * 2 + ["c2"] * 2}))
    >>> {k: p.labels for k, p in profiles_by(t, "cam").items()}
    {'c1': ('p',), 'c2': ('q', 'r')}
    """
    t = ann.mutate(slice_=ann[column].cast("string"))
    ll = label_labeler_counts(t, ["slice_"])
    if ll.empty:
        return {}
    labels = label_table(ll["label"], ll["n"])
    labelers = sorted(ll["labeler_id"].astype(str).unique().tolist())
    patterns, counts = pattern_counts(t, labels["label"].tolist(), ["slice_"], labelers)
    keys = [_key(s) for s in patterns["slice_"]]
    ll["key"] = [_key(s) for s in ll["slice_"]]
    if "repeats" not in patterns.columns:
        pairs = distinct_pairs(t, ["slice_"])
        distinct = {
            _key(s): int(n) for s, n in zip(pairs["slice_"], pairs["distinct"], strict=True)
        }

    names = np.array(labels["label"].tolist(), dtype=object)
    values = labels["value"].to_numpy(dtype=float)
    rows_of: dict[SliceValue, list[int]] = {}
    for i, k in enumerate(keys):
        rows_of.setdefault(k, []).append(i)
    out: dict[SliceValue, Profile] = {}
    for key, part in ll.groupby("key", dropna=False, sort=False):
        key = _key(key)
        rows = np.array(rows_of.get(key, []), dtype=np.int64)
        c = counts[rows]
        weight = patterns["items"].to_numpy(dtype=np.int64)[rows]
        present = c.sum(axis=0) > 0
        n_ann = int(part["n"].sum())
        out[key] = Profile(
            tuple(names[present].tolist()),
            values[present],
            c[:, present],
            weight,
            annotations=n_ann,
            repeats=int(patterns["repeats"].to_numpy()[rows].sum())
            if "repeats" in patterns.columns
            else n_ann - distinct.get(key, 0),
            labelers=int(part["labeler_id"].nunique()),
            label_totals=(c[:, present] * weight[:, None]).sum(axis=0),
        ).relabel({})  # the engine's canonical order of labels and patterns
    return out


def alpha_by_column(
    ann: ir.Table,
    column: str,
    values: Sequence[str] | None = None,
    level: Level = "nominal",
    n_boot: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Alpha with a bootstrap interval per value of a column of an annotation table.

    Args:
        ann: annotations (``item_id``, ``labeler_id``, ``label``,
            ``label_value``) with the slicing ``column``.
        column: the column whose values define the slices.
        values: the slice values to list, in order; values without
            annotations get a row with zero counts and NaN alpha. Values found
            in the data but not listed (a null value: ``None``) come after.
            Default: the values found, numbers first.
        level, n_boot, seed: as in :func:`consistency.metrics.alpha.alpha_with_ci`
            (every slice uses the same seed).

    Returns:
        One row per slice: value, items, pairable_items, annotations, alpha,
        ci_low, ci_high (alpha NaN where undefined, e.g. one class only).
    """
    level = check_level(level)
    profiles = profiles_by(ann, column)
    listed: list[SliceValue] = list(values) if values is not None else []
    found = [v for v in profiles if v not in listed]
    order = listed + sorted(
        found, key=lambda v: (v is None, round_sort_key(v) if v is not None else (0, 0.0, ""))
    )
    rows = []
    for value in order:
        p = profiles.get(value, _empty_profile())
        est = alpha_with_ci(p, level, n_boot=n_boot, seed=seed) if p.items else None
        rows.append(
            {
                "value": value,
                "items": p.items,
                "pairable_items": p.pairable_items,
                "annotations": p.annotations,
                "alpha": est.value if est else float("nan"),
                "ci_low": est.ci_low if est else float("nan"),
                "ci_high": est.ci_high if est else float("nan"),
            }
        )
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    table["value"] = pd.Series(order, dtype=object)  # keeps None as None
    return table.astype({"items": "int64", "pairable_items": "int64", "annotations": "int64"})


def alpha_by_metadata(
    store: Store,
    dataset: str,
    field: str,
    view: ViewFilter | None = None,
    level: Level = "nominal",
    n_boot: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Alpha per value of an item metadata field (camera, factory, shift, ...), within a view.

    Lists every value of the field (those the view filters on, when it
    filters on this field), then, when some annotated items have no value
    for it, a row with value None. Columns as :func:`alpha_by_column`.

    Raises:
        DatasetNotFound: an unknown dataset.
        InvalidArgument: an unknown field (the message lists the fields) or level.
    """
    level = check_level(level)
    store.require(dataset)
    fields = store.metadata_fields(dataset)["field"].astype(str).tolist()
    if field not in fields:
        raise InvalidArgument(
            f"metadata field '{field}' not found in dataset '{dataset}'. "
            f"Fields: {', '.join(fields) if fields else 'none'}"
        )
    view = view or ViewFilter()
    values = store.metadata_values(dataset, field)
    for name, kept in view.metadata:
        if name == field:
            values = [v for v in values if v in kept]
    ann = store.annotations(dataset, view)
    m = store.table("item_metadata")
    m = m.filter((m.dataset == dataset) & (m.field == field))
    # one value per item and field (the store keeps one; max() guards the join)
    m = m.group_by("item_id").agg(slice_value=m.value.max())
    m = m.select(meta_item=m.item_id, slice_value=m.slice_value)
    t = ann.left_join(m, ann.item_id == m.meta_item)
    t = t.select("item_id", "labeler_id", "label", "label_value", "slice_value")
    return alpha_by_column(t, "slice_value", values, level, n_boot, seed)


def alpha_by_round(
    store: Store,
    dataset: str,
    view: ViewFilter | None = None,
    level: Level = "nominal",
    n_boot: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Alpha per labeling round, within a view; ``value`` is the round.

    Each round's figures are those of ``ViewFilter(rounds=(round,))`` with the
    view's other filters. The rounds listed are the view's when it names
    some, else all the dataset's rounds, in order. Columns as
    :func:`alpha_by_column`.

    Raises:
        DatasetNotFound: an unknown dataset.
        InvalidArgument: an unknown level.
    """
    level = check_level(level)
    store.require(dataset)
    view = view or ViewFilter()
    if view.rounds is None or view.rounds == ("*",):
        rounds = store.rounds(dataset)
        view = replace(view, rounds=("*",))
    else:
        rounds = list(view.rounds)
    ann = store.annotations(dataset, view)
    t = ann.select("item_id", "labeler_id", "label", "label_value", slice_value=ann["round"])
    return alpha_by_column(t, "slice_value", rounds, level, n_boot, seed)
