"""Fleiss' kappa, percent agreement and Gwet's AC1: published examples, oracles, properties."""

from __future__ import annotations

import warnings
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from conftest import long_tables
from hypothesis import given, settings
from hypothesis import strategies as st
from nltk.metrics import AnnotationTask
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

from consistency.engine import profile_from_rows
from consistency.metrics.agreement import (
    FleissResult,
    fleiss_kappa,
    gwet_ac1,
    percent_agreement,
)

SETTINGS = settings(max_examples=40, deadline=None)


def long_from_counts(table: list[list[int]], classes: list[str]) -> pd.DataFrame:
    """Long table from an items x classes table of label counts."""
    rows = [
        (f"s{i + 1}", f"r{r}", classes[j])
        for i, counts in enumerate(table)
        for j, n in enumerate(counts)
        for r in range(n)
    ]
    return pd.DataFrame(rows, columns=["item_id", "labeler_id", "label"])


def long_from_strings(items: list[str]) -> pd.DataFrame:
    """Long table from one string per item, one character per label."""
    rows = [(f"s{i + 1}", f"r{r}", ch) for i, s in enumerate(items) for r, ch in enumerate(s)]
    return pd.DataFrame(rows, columns=["item_id", "labeler_id", "label"])


def counts_table(df: pd.DataFrame) -> np.ndarray:
    """Items x classes counts, straight from the long table (the oracles' input)."""
    return pd.crosstab(df["item_id"], df["label"]).to_numpy()


def nan_if_none(x: float | None) -> float:
    return float("nan") if x is None else x


# --- Fleiss' kappa -----------------------------------------------------------------------

# Wikipedia, "Fleiss' kappa", worked example: 10 subjects, 14 raters, 5 categories;
# P-bar = 0.378, P_e = 0.213, kappa = 0.210.
WIKIPEDIA = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]


def test_fleiss_wikipedia_worked_example() -> None:
    p = profile_from_rows(long_from_counts(WIKIPEDIA, ["1", "2", "3", "4", "5"]))
    result = fleiss_kappa(p)
    assert result.note is None
    assert round(result.value, 3) == 0.210
    assert round(percent_agreement(p), 3) == 0.378  # P-bar


# Fleiss (1971), Table 1: 30 patients, 6 psychiatrists each, 5 diagnoses
# (1 depression, 2 personality disorder, 3 schizophrenia, 4 neurosis, 5 other),
# one string of six diagnoses per patient. Fleiss reports kappa = .430 and, per
# category, .245 .245 .520 .471 .566.
FLEISS_1971 = [
    "444444", "222555", "233335", "555555", "222444", "113333", "333355", "113334",
    "114444", "555555", "144444", "124444", "222333", "144444", "224445", "333335",
    "111455", "111112", "224444", "133555", "555555", "244444", "224555", "114444",
    "144445", "222224", "111155", "224444", "133333", "555555",
]  # fmt: skip


def test_fleiss_1971_table_and_per_category_kappas() -> None:
    result = fleiss_kappa(profile_from_rows(long_from_strings(FLEISS_1971)))
    assert round(result.value, 3) == 0.430
    per = {k: round(v, 3) for k, v in result.per_category.items()}
    assert per == {"1": 0.245, "2": 0.245, "3": 0.520, "4": 0.471, "5": 0.566}


def sm_kappa(table: np.ndarray) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # 0/0 when one class only
        return float(sm_fleiss_kappa(table, method="fleiss"))


@SETTINGS
@given(long_tables(complete=True))
def test_fleiss_matches_statsmodels(df: pd.DataFrame) -> None:
    result = fleiss_kappa(profile_from_rows(df))
    table = counts_table(df)
    expected = sm_kappa(table)
    if np.isnan(expected):
        assert result.value is None and result.note is not None
    else:
        assert result.value == pytest.approx(expected, abs=1e-9)
        assert result.note is None
    # kappa_j is the kappa of the table collapsed to "j" against the rest.
    labels = sorted(df["label"].unique())
    for j, lab in enumerate(labels):
        binary = np.column_stack([table[:, j], table.sum(axis=1) - table[:, j]])
        assert nan_if_none(result.per_category[lab]) == pytest.approx(
            sm_kappa(binary), abs=1e-9, nan_ok=True
        )
    # Fleiss (1971): kappa = sum_j p_j q_j kappa_j / sum_j p_j q_j.
    if result.value is not None:
        p = table.sum(axis=0) / table.sum()
        pq = p * (1 - p)
        kj = np.array([nan_if_none(result.per_category[lab]) for lab in labels])
        assert result.value == pytest.approx(float(np.nansum(pq * kj) / pq.sum()), abs=1e-9)


def test_fleiss_needs_the_same_number_of_labels_per_item() -> None:
    p = profile_from_rows(
        [("a", "x"), ("a", "y"), ("b", "x"), ("b", "x"), ("b", "y"), ("b", "y"), ("b", "x")]
    )
    result = fleiss_kappa(p)
    assert result == FleissResult(
        None,
        "Fleiss' kappa needs the same number of labels on every item; found 2 to 5 labels "
        "per item. Krippendorff's alpha allows unequal numbers of labels",
        {"x": None, "y": None},
    )


def test_fleiss_needs_two_labels_per_item() -> None:
    result = fleiss_kappa(profile_from_rows([("a", "x"), ("b", "y")]))
    assert result.value is None
    assert result.note == "Fleiss' kappa needs at least two labels per item; found 1 label per item"


def test_fleiss_is_undefined_with_one_class() -> None:
    result = fleiss_kappa(profile_from_rows([("a", "猫"), ("a", "猫"), ("b", "猫"), ("b", "猫")]))
    assert result.value is None
    assert result.note == (
        "Fleiss' kappa is undefined when only one class is used (chance agreement is 1); "
        "found only '猫'"
    )
    assert result.per_category == {"猫": None}


def test_fleiss_without_items() -> None:
    p = profile_from_rows([("a", "x"), ("a", "y")])
    empty = p.select(np.zeros(len(p.weight), dtype=bool))
    assert fleiss_kappa(empty).note == "Fleiss' kappa needs labeled items; found none"


# --- percent agreement -------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(long_tables(complete=True))
def test_percent_agreement_matches_nltk_on_complete_data(df: pd.DataFrame) -> None:
    # nltk averages, over pairs of coders, the share of items they agree on. With
    # every coder on every item once, that is our mean over items of the share of
    # agreeing pairs. (nltk raises on missing labels and reads only the first of
    # a coder's repeated labels on an item; we accept both.)
    task = AnnotationTask(data=list(df[["labeler_id", "item_id", "label"]].itertuples(index=False)))
    assert percent_agreement(profile_from_rows(df)) == pytest.approx(task.avg_Ao(), abs=1e-9)


def test_percent_agreement_by_hand_with_missing_and_repeated_labels() -> None:
    # a: x x x (labeler l1 twice) -> 1; b: x y -> 0; c: y y y z -> 1/2; d: single label, left out.
    rows = [
        ("a", "l1", "x"), ("a", "l1", "x"), ("a", "l2", "x"),
        ("b", "l1", "x"), ("b", "l2", "y"),
        ("c", "l1", "y"), ("c", "l2", "y"), ("c", "l3", "y"), ("c", "l4", "z"),
        ("d", "l1", "z"),
    ]  # fmt: skip
    p = profile_from_rows(pd.DataFrame(rows, columns=["item_id", "labeler_id", "label"]))
    assert percent_agreement(p) == pytest.approx((1 + 0 + 0.5) / 3, abs=1e-12)


def test_percent_agreement_without_pairable_items_is_nan() -> None:
    assert np.isnan(percent_agreement(profile_from_rows([("a", "x"), ("b", "y")])))


# --- Gwet's AC1 --------------------------------------------------------------------------


def naive_ac1(df: pd.DataFrame) -> float:
    """AC1 straight from the formulas of Gwet (2014), ch. 2, on the items x classes table."""
    r = counts_table(df).astype(float)
    q = r.shape[1]
    ri = r.sum(axis=1)
    two = ri >= 2
    if q < 2 or not two.any():
        return float("nan")
    pa = np.mean((r[two] * (r[two] - 1)).sum(axis=1) / (ri[two] * (ri[two] - 1)))
    pi = (r / ri[:, None]).mean(axis=0)
    pe = (pi * (1 - pi)).sum() / (q - 1)
    return float((pa - pe) / (1 - pe))


def test_ac1_irrcac_published_example() -> None:
    # Gwet's irrCAC R package, dataset cac.raw4raters (Krippendorff's 4 raters x
    # 12 units with missing ratings): gwet.ac1.raw gives pa = 0.8181818,
    # pe = 0.1903212, AC1 = 0.77544.
    units = [
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
    value = gwet_ac1(profile_from_rows(long_from_strings(units)))
    assert round(value, 5) == 0.77544
    assert value == pytest.approx((0.8181818 - 0.1903212) / (1 - 0.1903212), abs=1e-7)
    assert percent_agreement(profile_from_rows(long_from_strings(units))) == pytest.approx(
        0.8181818, abs=1e-7
    )


def test_ac1_by_hand() -> None:
    # u1: a a b, u2: b b, u3: c (one label), u4: a c c c.
    # p_a = (1/3 + 1 + 1/2) / 3 = 11/18 over the three items with two labels or more;
    # pi = (11/48, 16/48, 21/48) over all four items; p_e = sum pi (1 - pi) / 2 = 743/2304.
    p = profile_from_rows(long_from_strings(["aab", "bb", "c", "accc"]))
    pa, pe = Fraction(11, 18), Fraction(743, 2304)
    assert gwet_ac1(p) == pytest.approx(float((pa - pe) / (1 - pe)), abs=1e-12)


@SETTINGS
@given(long_tables())
def test_ac1_and_percent_agreement_on_generated_data(df: pd.DataFrame) -> None:
    p = profile_from_rows(df)
    value = gwet_ac1(p)
    assert value == pytest.approx(naive_ac1(df), abs=1e-9, nan_ok=True)
    assert np.isnan(value) or value <= 1.0 + 1e-12
    agreement = percent_agreement(p)
    if p.pairable_items == 0:
        assert np.isnan(agreement)
        return
    assert 0.0 <= agreement <= 1.0
    if len(p.labels) >= 2:  # merging two classes never lowers it
        assert percent_agreement(p.merge(p.labels[0], p.labels[-1])) >= agreement - 1e-12


def test_ac1_undefined_cases_are_nan() -> None:
    assert np.isnan(gwet_ac1(profile_from_rows([("a", "x"), ("a", "x")])))  # one class
    assert np.isnan(gwet_ac1(profile_from_rows([("a", "x"), ("b", "y")])))  # nothing pairable


@settings(max_examples=20, deadline=None)
@given(st.lists(st.sampled_from(["0", "A", "β"]), min_size=2, max_size=6), st.integers(2, 4))
def test_ac1_and_percent_agreement_are_one_under_perfect_agreement(
    truths: list[str], m: int
) -> None:
    rows = [(f"i{i}", t) for i, t in enumerate(truths) for _ in range(m)]
    p = profile_from_rows(rows)
    assert percent_agreement(p) == 1.0
    if len(set(truths)) >= 2:
        assert gwet_ac1(p) == pytest.approx(1.0, abs=1e-12)
    else:
        assert np.isnan(gwet_ac1(p))  # one class: p_e has K - 1 = 0 in its denominator
