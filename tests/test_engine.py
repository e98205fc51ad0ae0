"""The engine's profile equals the in-memory one, and disputed items are ranked exactly."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from consistency.engine import (
    disputed_by_class,
    disputed_by_labeler,
    disputed_by_pair,
    disputed_items,
    label_value_or_nan,
    profile,
    profile_from_rows,
)

LABELS = st.sampled_from(["a", "b", "ç", "10", "2", "x y", "é👍", "-1.5"])


@st.composite
def tables(draw):
    n = draw(st.integers(1, 40))
    rows = [
        (f"i{draw(st.integers(0, 12))}", f"w{draw(st.integers(0, 4))}", draw(LABELS))
        for _ in range(n)
    ]
    return pd.DataFrame(rows, columns=["item_id", "labeler_id", "label"])


def _engine_profile(df):
    df = df.assign(label_value=[label_value_or_nan(x) for x in df["label"]])
    return profile(ibis.memtable(df))


@settings(max_examples=25, deadline=None)
@given(tables())
def test_engine_profile_equals_in_memory_profile(df):
    a, b = _engine_profile(df), profile_from_rows(df)
    assert a.labels == b.labels
    order_a = np.lexsort(a.counts.T[::-1])
    order_b = np.lexsort(b.counts.T[::-1])
    assert (a.counts[order_a] == b.counts[order_b]).all()
    assert (a.weight[order_a] == b.weight[order_b]).all()
    assert (a.annotations, a.repeats, a.labelers) == (b.annotations, b.repeats, b.labelers)
    assert (a.label_totals == b.label_totals).all()


def test_numeric_labels_sort_by_value_then_names():
    p = profile_from_rows([("i", "10"), ("i", "2"), ("j", "b"), ("j", "-1.5")])
    assert p.labels == ("-1.5", "2", "10", "b")


def test_disputed_items_order_and_class_filter():
    df = pd.DataFrame(
        {
            "item_id": list("aaabbbcccdd"),
            "labeler_id": list("xyzxyzxyzxy"),
            "label": list("11211112311"),
        }
    )
    df["label_value"] = 0.0
    got = disputed_items(ibis.memtable(df))
    assert got["item_id"].tolist() == ["c", "a", "b", "d"]
    assert got["disagreement"].round(6).tolist() == [1.0, round(2 / 3, 6), 0.0, 0.0]
    assert disputed_items(ibis.memtable(df), classes=["3"])["item_id"].tolist() == ["c"]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 6), st.sampled_from("xyz"), st.sampled_from(["p", "q", "r", "é"])),
        min_size=1,
        max_size=30,
    ),
    st.integers(1, 4),
)
def test_disputed_items_of_every_class_pair_and_labeler_in_one_query(rows, limit) -> None:
    df = pd.DataFrame(rows, columns=["item_id", "labeler_id", "label"]).astype({"item_id": str})
    t = ibis.memtable(df)
    by_class = disputed_by_class(t, limit)
    by_pair = disputed_by_pair(t, limit)
    classes = sorted(df["label"].unique())
    for c in classes:
        want = disputed_items(t, limit, [c])
        want = want[want["disagreement"] > 0]
        got = by_class[by_class["class"] == c]
        assert got["item_id"].tolist() == want["item_id"].astype(str).tolist()
        assert got["rank"].tolist() == list(range(1, len(got) + 1))
        np.testing.assert_allclose(got["disagreement"], want["disagreement"], atol=1e-12)
    for a in classes:
        for b in classes:
            if a >= b:
                continue
            both = df.groupby("item_id")["label"].agg(set)
            items = [i for i, s in both.items() if {a, b} <= s]
            want = disputed_items(t.filter(t.item_id.isin(items)), limit) if items else None
            got = by_pair[(by_pair["class_a"] == a) & (by_pair["class_b"] == b)]
            expected = [] if want is None else want["item_id"].astype(str).tolist()
            assert got["item_id"].tolist() == expected
    by_labeler = disputed_by_labeler(t, limit)
    for who in sorted(df["labeler_id"].unique()):
        mine = t.filter(t.labeler_id == who).select("item_id").distinct()
        want = disputed_items(t.semi_join(mine, "item_id"), limit)
        want = want[want["disagreement"] > 0]
        got = by_labeler[by_labeler["labeler_id"] == who]
        assert got["item_id"].tolist() == want["item_id"].astype(str).tolist()
        assert got["m"].tolist() == want["m"].tolist()
