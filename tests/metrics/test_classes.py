"""Per-class agreement, the coincidence matrix, confused pairs, merges and setting items aside."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from conftest import NUMERIC_LABELS, long_tables
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from consistency.engine import Profile, profile_from_rows
from consistency.errors import InvalidArgument, NotComputable
from consistency.metrics.agreement import fleiss_kappa
from consistency.metrics.alpha import alpha, coincidence
from consistency.metrics.classes import (
    CONFUSED_PAIRS_COLUMNS,
    PER_CLASS_COLUMNS,
    alpha_after_merge,
    alpha_setting_aside,
    confused_pairs,
    confusion,
    per_class,
)

SETTINGS = settings(max_examples=30, deadline=None)

# Krippendorff (2011), section C: the 12 units of 4 observers, one string per unit.
K2011_UNITS = [
    "111",
    "2232",
    "3333",
    "3333",
    "2222",
    "1234",
    "4444",
    "1121",
    "2222",
    "555",
    "11",
    "3",
]


def long_from_strings(items: list[str]) -> pd.DataFrame:
    rows = [(f"u{i + 1}", f"r{r}", ch) for i, s in enumerate(items) for r, ch in enumerate(s)]
    return pd.DataFrame(rows, columns=["item_id", "labeler_id", "label"])


def one_vs_rest(p: Profile, c: str) -> Profile:
    rest = "\x00rest"  # a name no data label has
    return p.relabel({lab: (lab if lab == c else rest) for lab in p.labels})


def naive_coincidences(df: pd.DataFrame, labels: tuple[str, ...]) -> np.ndarray:
    """o_ck by enumerating, in every item, the ordered pairs of distinct label positions."""
    index = {lab: i for i, lab in enumerate(labels)}
    o = np.zeros((len(labels), len(labels)))
    for _, group in df.groupby("item_id"):
        values = group["label"].tolist()
        if len(values) < 2:
            continue
        for x, y in itertools.permutations(range(len(values)), 2):
            o[index[values[x]], index[values[y]]] += 1 / (len(values) - 1)
    return o


def same_partners(actual: list[tuple[str, float]], expected: list[tuple[str, float]]) -> bool:
    return [k for k, _ in actual] == [k for k, _ in expected] and [
        s for _, s in actual
    ] == pytest.approx([s for _, s in expected])


# --- per_class ---------------------------------------------------------------------------


def test_per_class_on_krippendorff_2011() -> None:
    t = per_class(profile_from_rows(long_from_strings(K2011_UNITS)))
    assert tuple(t.columns) == PER_CLASS_COLUMNS
    assert t["class"].tolist() == ["1", "2", "3", "4", "5"]
    assert t["n"].tolist() == [9, 13, 10, 5, 3]  # pairable values, n = 40
    assert t["items"].tolist() == [4, 5, 5, 2, 1]  # class 3 includes the single-label unit 12
    np.testing.assert_allclose(t["share"], np.array([9, 13, 10, 5, 3]) / 40)
    np.testing.assert_allclose(t["specific_agreement"], [7 / 9, 10 / 13, 8 / 10, 4 / 5, 1.0])
    # Off-diagonal coincidences per class: 2, 3, 2, 1, 0; 4 disagreeing pairs in all.
    np.testing.assert_allclose(t["disagreement_share"], [0.5, 0.75, 0.5, 0.25, 0.0])
    assert same_partners(t["main_partners"][1], [("1", 4 / 9), ("3", 4 / 9), ("4", 1 / 9)])
    assert t["main_partners"][4] == []
    assert t["fleiss_kappa"].isna().all()  # unequal numbers of labels per item


def test_per_class_fleiss_column_on_fleiss_1971() -> None:
    # Fleiss (1971), Table 1 (30 patients x 6 psychiatrists): per-category kappas.
    table = [
        "444444", "222555", "233335", "555555", "222444", "113333", "333355", "113334",
        "114444", "555555", "144444", "124444", "222333", "144444", "224445", "333335",
        "111455", "111112", "224444", "133555", "555555", "244444", "224555", "114444",
        "144445", "222224", "111155", "224444", "133333", "555555",
    ]  # fmt: skip
    t = per_class(profile_from_rows(long_from_strings(table)))
    assert t["fleiss_kappa"].round(3).tolist() == [0.245, 0.245, 0.520, 0.471, 0.566]


@SETTINGS
@given(long_tables())
def test_per_class_properties(df: pd.DataFrame) -> None:
    p = profile_from_rows(df)
    t = per_class(p)
    assert tuple(t.columns) == PER_CLASS_COLUMNS
    assert t["class"].tolist() == list(p.labels)
    pairable = df.groupby("item_id")["label"].transform("size") >= 2
    assert t["n"].tolist() == [int((df["label"][pairable] == lab).sum()) for lab in p.labels]
    assert t["items"].tolist() == [
        df.loc[df["label"] == lab, "item_id"].nunique() for lab in p.labels
    ]
    if t["n"].sum() > 0:
        assert t["share"].sum() == pytest.approx(1.0)
    sa = t["specific_agreement"].dropna()
    assert ((sa >= 0) & (sa <= 1 + 1e-12)).all()
    share = t["disagreement_share"]
    if share.notna().any():
        assert share.sum() == pytest.approx(2.0)  # every disagreement involves two classes
        assert ((share >= 0) & (share <= 1 + 1e-12)).all()
    for c, partners in zip(p.labels, t["main_partners"], strict=True):
        shares = [s for _, s in partners]
        assert len(partners) <= 3 and sum(shares) <= 1 + 1e-12
        assert shares == sorted(shares, reverse=True)
        assert all(k != c and k in p.labels for k, _ in partners)
    for c, value in zip(p.labels, t["alpha_one_vs_rest"], strict=True):
        assert value == pytest.approx(alpha(one_vs_rest(p, c)), abs=1e-9, nan_ok=True)
    per = fleiss_kappa(p).per_category
    expected = [np.nan if per[c] is None else per[c] for c in p.labels]
    np.testing.assert_allclose(t["fleiss_kappa"], expected)


@settings(max_examples=25, deadline=None)
@given(long_tables(complete=True))
def test_specific_agreement_is_uebersax_with_equal_labels_per_item(df: pd.DataFrame) -> None:
    # Uebersax's proportion of specific agreement: sum_u n_uc (n_uc - 1) / sum_u n_uc (m - 1).
    table = pd.crosstab(df["item_id"], df["label"])
    m = table.sum(axis=1).iloc[0]
    expected = (table * (table - 1)).sum() / (table * (m - 1)).sum()
    t = per_class(profile_from_rows(df)).set_index("class")
    np.testing.assert_allclose(t.loc[expected.index, "specific_agreement"], expected, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(long_tables())
def test_per_class_is_invariant_under_renaming_classes(df: pd.DataFrame) -> None:
    names = sorted(df["label"].unique())
    mapping = {lab: f"class {len(names) - i}" for i, lab in enumerate(names)}
    base = per_class(profile_from_rows(df)).set_index("class")
    renamed = per_class(profile_from_rows(df.assign(label=df["label"].map(mapping))))
    renamed = renamed.set_index("class").loc[[mapping[c] for c in base.index]]
    numeric = [c for c in PER_CLASS_COLUMNS if c not in ("class", "main_partners")]
    np.testing.assert_allclose(renamed[numeric].to_numpy(float), base[numeric].to_numpy(float), atol=1e-12)
    for mine, theirs in zip(base["main_partners"], renamed["main_partners"], strict=True):
        assert sorted(s for _, s in mine) == pytest.approx(sorted(s for _, s in theirs))


def test_per_class_at_the_interval_level_weights_disagreement_by_distance() -> None:
    # Items: (1, 2) and (1, 5). Interval distances 1 and 16: class 5 carries 16/17 of it.
    t = per_class(profile_from_rows([("a", "1"), ("a", "2"), ("b", "1"), ("b", "5")]), "interval")
    np.testing.assert_allclose(t["disagreement_share"], [1.0, 1 / 17, 16 / 17])
    assert same_partners(t["main_partners"][0], [("5", 16 / 17), ("2", 1 / 17)])
    with pytest.raises(NotComputable, match=r"^the interval level needs numeric labels"):
        per_class(profile_from_rows([("a", "x"), ("a", "y")]), "interval")


def test_per_class_of_an_empty_profile() -> None:
    p = profile_from_rows([("a", "x")])
    empty = Profile((), np.zeros(0), np.zeros((0, 0), dtype=np.int64), np.zeros(0, dtype=np.int64))
    assert per_class(empty).empty and tuple(per_class(empty).columns) == PER_CLASS_COLUMNS
    single = per_class(p)
    assert single["n"].tolist() == [0] and np.isnan(single["specific_agreement"][0])


# --- confusion ---------------------------------------------------------------------------


@SETTINGS
@given(long_tables())
def test_confusion_is_the_coincidence_matrix(df: pd.DataFrame) -> None:
    p = profile_from_rows(df)
    c = confusion(p)
    assert c.classes == p.labels
    np.testing.assert_allclose(c.counts, naive_coincidences(df, p.labels), atol=1e-9)
    np.testing.assert_allclose(c.counts, c.counts.T, atol=1e-12)
    rows = c.row_normalized.sum(axis=1)
    has = c.counts.sum(axis=1) > 0
    np.testing.assert_allclose(rows[has], 1.0)
    assert np.isnan(c.row_normalized[~has]).all()


def test_confusion_frame() -> None:
    c = confusion(profile_from_rows(long_from_strings(K2011_UNITS)))
    frame = c.to_frame()
    assert frame.index.name == "class" and list(frame.columns) == ["1", "2", "3", "4", "5"]
    assert frame.loc["1", "2"] == pytest.approx(4 / 3)
    assert c.to_frame(normalized=True).loc["1", "1"] == pytest.approx(7 / 9)


# --- confused pairs and merges -----------------------------------------------------------


def test_confused_pairs_on_krippendorff_2011() -> None:
    p = profile_from_rows(long_from_strings(K2011_UNITS))
    t = confused_pairs(p, top=3)
    assert tuple(t.columns) == CONFUSED_PAIRS_COLUMNS
    assert list(zip(t["class_a"], t["class_b"], strict=True)) == [
        ("1", "2"),
        ("2", "3"),
        ("1", "3"),
    ]
    np.testing.assert_allclose(t["coincidences"], [4 / 3, 4 / 3, 1 / 3])
    np.testing.assert_allclose(t["rate_a_to_b"], [4 / 27, 4 / 39, 1 / 27])
    np.testing.assert_allclose(t["rate_b_to_a"], [4 / 39, 4 / 30, 1 / 30])
    np.testing.assert_allclose(t["alpha_gain"], t["alpha_after_merge"] - alpha(p))
    assert len(confused_pairs(p, top=None)) == 6  # every pair with o_ab > 0


@SETTINGS
@given(long_tables())
def test_confused_pairs_merge_exactly(df: pd.DataFrame) -> None:
    p = profile_from_rows(df)
    t = confused_pairs(p, top=None)
    o = coincidence(p)
    assert len(t) == int((np.triu(o, 1) > 0).sum())
    assert t["coincidences"].is_monotonic_decreasing
    base = alpha(p)
    for row in t.itertuples():
        merged = alpha(p.merge(row.class_a, row.class_b))
        assert row.alpha_after_merge == pytest.approx(merged, abs=1e-9, nan_ok=True)
        assert row.alpha_gain == pytest.approx(merged - base, abs=1e-9, nan_ok=True)
        assert row.rate_a_to_b == pytest.approx(
            row.coincidences / o[p.labels.index(row.class_a)].sum()
        )
    assert confused_pairs(p, top=2).equals(t.head(2))


def test_confused_pairs_top_must_be_positive() -> None:
    p = profile_from_rows([("a", "x"), ("a", "y")])
    with pytest.raises(InvalidArgument, match=r"^top must be at least 1; found 0$"):
        confused_pairs(p, top=0)


@settings(max_examples=30, deadline=None)
@given(long_tables(labels=NUMERIC_LABELS, min_classes=2), st.data())
def test_alpha_after_merge_matches_the_merged_profile(
    df: pd.DataFrame, data: st.DataObject
) -> None:
    p = profile_from_rows(df)
    assume(len(p.labels) >= 2)
    a, b = data.draw(st.lists(st.sampled_from(p.labels), min_size=2, max_size=2, unique=True))
    assert alpha_after_merge(p, a, b) == pytest.approx(alpha(p.merge(a, b)), abs=1e-9, nan_ok=True)
    # Ordinal: neighbours only; the merged class takes their place in the order.
    i = int(data.draw(st.integers(0, len(p.labels) - 2)))
    low, high = p.labels[i], p.labels[i + 1]  # numeric labels sort by value
    assert alpha_after_merge(p, low, high, "ordinal") == pytest.approx(
        alpha(p.relabel({high: low}), "ordinal"), abs=1e-9, nan_ok=True
    )


def test_an_explicit_order_works_like_numeric_labels() -> None:
    words = ["low", "mid", "high"]
    rows = [("a", "low"), ("a", "mid"), ("b", "high"), ("b", "high"), ("c", "mid"), ("c", "low")]
    as_numbers = {"low": "1", "mid": "2", "high": "3"}
    p = profile_from_rows(rows)
    q = profile_from_rows([(i, as_numbers[lab]) for i, lab in rows])
    assert alpha_after_merge(p, "low", "mid", "ordinal", order=words) == pytest.approx(
        alpha_after_merge(q, "1", "2", "ordinal")
    )
    mine = per_class(p, "ordinal", order=words).set_index("class").loc[words]
    theirs = per_class(q, "ordinal").set_index("class").loc[["1", "2", "3"]]
    np.testing.assert_allclose(mine["disagreement_share"], theirs["disagreement_share"])
    assert alpha_setting_aside(p, np.array([False] * len(p.weight)), "ordinal", order=words) == (
        pytest.approx(alpha(q, "ordinal"))
    )


def test_alpha_after_merge_refusals() -> None:
    p = profile_from_rows([("a", "1"), ("a", "2"), ("b", "3"), ("b", "3")])
    with pytest.raises(
        InvalidArgument,
        match=r"^classes '1' and '3' are not next to each other in the order, so merging them "
        r"breaks the ordinal scale\. Merge neighbouring classes, or use the nominal level$",
    ):
        alpha_after_merge(p, "1", "3", "ordinal")
    with pytest.raises(
        InvalidArgument,
        match=r"^alpha after merging classes is computed at the nominal or ordinal level; "
        r"found 'interval': at that level the merged class has no single value$",
    ):
        alpha_after_merge(p, "1", "2", "interval")
    with pytest.raises(InvalidArgument, match=r"^class '9' not found\. Classes: 1, 2, 3$"):
        alpha_after_merge(p, "1", "9")
    with pytest.raises(
        InvalidArgument, match=r"^choose two different classes to merge; found '2' twice$"
    ):
        alpha_after_merge(p, "2", "2")
    with pytest.raises(NotComputable, match=r"^the ordinal level needs numeric labels"):
        alpha_after_merge(profile_from_rows([("a", "x"), ("a", "y")]), "x", "y", "ordinal")


# --- setting items aside -----------------------------------------------------------------


@SETTINGS
@given(long_tables(min_classes=2), st.data())
def test_alpha_setting_aside_equals_alpha_without_those_items(
    df: pd.DataFrame, data: st.DataObject
) -> None:
    p = profile_from_rows(df)
    c = data.draw(st.sampled_from(p.labels))
    k = p.labels.index(c)
    value = alpha_setting_aside(p, lambda counts: counts[:, k] > 0)
    having = df.loc[df["label"] == c, "item_id"].unique()
    rest = df[~df["item_id"].isin(having)]
    expected = alpha(profile_from_rows(rest)) if len(rest) else float("nan")
    assert value == pytest.approx(expected, abs=1e-9, nan_ok=True)
    mask = p.counts[:, k] > 0
    assert alpha_setting_aside(p, mask) == pytest.approx(value, abs=0, nan_ok=True)


def test_alpha_setting_aside_checks_the_mask() -> None:
    p = profile_from_rows([("a", "x"), ("a", "y"), ("b", "x"), ("b", "x")])
    with pytest.raises(
        InvalidArgument,
        match=r"^the items to set aside must be a boolean mask with one entry per pattern "
        r"\(2\); found int64 of shape \(3,\)$",
    ):
        alpha_setting_aside(p, np.array([1, 0, 1]))
