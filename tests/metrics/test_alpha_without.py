"""Alpha without each labeler, in one pass, equals alpha recomputed without that labeler."""

from __future__ import annotations

import math

import ibis
import numpy as np
import pandas as pd
from conftest import NUMERIC_LABELS, long_tables
from hypothesis import given, settings

from consistency.engine import profile
from consistency.metrics.alpha import alpha, alphas_without_labelers


def _one_by_one(df: pd.DataFrame, level: str) -> dict[str, float]:
    t = ibis.memtable(df)
    return {
        who: alpha(profile(t.filter(t.labeler_id != who)), level)  # type: ignore[arg-type]
        for who in sorted(df["labeler_id"].unique())
    }


def _same(got: dict[str, float], want: dict[str, float]) -> None:
    assert list(got) == list(want)
    for who, w in want.items():
        if math.isnan(w):
            assert math.isnan(got[who]), (who, got[who])
        else:
            assert abs(got[who] - w) <= 1e-9, (who, got[who], w)


@settings(max_examples=40, deadline=None)
@given(long_tables(max_items=8, max_labelers=5))
def test_nominal_alpha_without_each_labeler_equals_recomputing_it(df: pd.DataFrame) -> None:
    _same(alphas_without_labelers(ibis.memtable(df)), _one_by_one(df, "nominal"))


@settings(max_examples=25, deadline=None)
@given(long_tables(labels=NUMERIC_LABELS, max_items=8, max_labelers=5, min_classes=2))
def test_every_level_without_each_labeler_equals_recomputing_it(df: pd.DataFrame) -> None:
    t = ibis.memtable(df)
    for level in ("ordinal", "interval", "ratio"):
        _same(alphas_without_labelers(t, level), _one_by_one(df, level))  # type: ignore[arg-type]


def test_a_labeler_on_many_items_with_wide_counts_and_a_chosen_few() -> None:
    rng = np.random.default_rng(7)
    rows = []
    for item in range(60):
        truth = rng.integers(4)
        # item 0 has 20 labels: the count fields must widen past 15
        for j in range(20 if item == 0 else int(rng.integers(1, 6))):
            label = truth if rng.random() < 0.7 else rng.integers(4)
            rows.append((f"i{item}", f"l{j % 7}", f"c{label}"))
    df = pd.DataFrame(rows, columns=["item_id", "labeler_id", "label"])
    want = _one_by_one(df, "nominal")
    _same(alphas_without_labelers(ibis.memtable(df)), want)
    chosen = alphas_without_labelers(ibis.memtable(df), labelers=["l3", "l1", "nobody"])
    _same(chosen, {k: want[k] for k in ("l1", "l3")})


def test_a_labeler_alone_on_every_item_leaves_nothing_pairable() -> None:
    df = pd.DataFrame(
        {"item_id": ["a", "a", "b", "b"], "labeler_id": ["x", "y", "x", "y"], "label": list("ppqp")}
    )
    got = alphas_without_labelers(ibis.memtable(df))
    assert list(got) == ["x", "y"] and all(math.isnan(v) for v in got.values())
