"""Per-labeler figures and pairwise Cohen's kappa: published tables, statsmodels as oracle, properties."""

from __future__ import annotations

import math
from collections import Counter, defaultdict

import ibis
import numpy as np
import pandas as pd
import pytest
from conftest import MIXED_LABELS, long_tables
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.inter_rater import cohens_kappa
from statsmodels.stats.proportion import proportion_confint

from consistency.errors import InvalidArgument
from consistency.metrics.consensus import majority_vote
from consistency.metrics.labelers import (
    LABELER_COLUMNS,
    PAIR_COLUMNS,
    cohen_kappa_from_cells,
    cohen_kappa_pairs,
    labelers,
)

Row = tuple[str, str, str, float | None]


@st.composite
def timed_rows(draw: st.DrawFn) -> list[Row]:
    """The shared long tables (missing labels, repeats, a single class, unicode and
    numeric-looking labels), each annotation with a duration or none."""
    df = draw(long_tables())
    durations = draw(
        st.lists(st.one_of(st.none(), st.floats(0.0, 10.0)), min_size=len(df), max_size=len(df))
    )
    return [(*r, d) for r, d in zip(df.itertuples(index=False, name=None), durations, strict=True)]


rows_strategy = timed_rows()
FAST = settings(max_examples=40, deadline=None)
# labelers() compiles two sizeable engine queries per call (about 0.25 s): fewer examples.
SLOW = settings(max_examples=20, deadline=None)
pytestmark = pytest.mark.filterwarnings(
    "ignore:invalid value encountered:RuntimeWarning:statsmodels.*"
)


def table(rows: list[Row]) -> ibis.Table:
    df = pd.DataFrame(rows, columns=["item_id", "labeler_id", "label", "duration_s"])
    return ibis.memtable(df.astype({"duration_s": float}))


def dense(cells: dict[tuple[str, str], float]) -> np.ndarray:
    """A square table over the labels that occur, for statsmodels."""
    labels = sorted({x for pair in cells for x in pair})
    index = {lab: i for i, lab in enumerate(labels)}
    out = np.zeros((len(labels), len(labels)))
    for (a, b), n in cells.items():
        out[index[a], index[b]] += n
    return out


def chance_agreement(tab: np.ndarray) -> float:
    """p_e = sum_i p_i. p_.i of a table."""
    return float(tab.sum(axis=1) @ tab.sum(axis=0) / tab.sum() ** 2)


def labels_of(rows: list[Row]) -> dict[tuple[str, str], list[str]]:
    """(item, labeler) -> the labels that labeler gave the item."""
    out: dict[tuple[str, str], list[str]] = defaultdict(list)
    for item, labeler, label, _ in rows:
        out[(item, labeler)].append(label)
    return out


def expected_pair_tables(rows: list[Row]) -> dict[tuple[str, str], dict[tuple[str, str], float]]:
    """Per labeler pair: each shared item adds the outer product of the two label shares."""
    given_ = labels_of(rows)
    by_item: dict[str, list[str]] = defaultdict(list)
    for item, labeler in given_:
        by_item[item].append(labeler)
    tables: dict = defaultdict(lambda: defaultdict(float))
    for item, names in by_item.items():
        for a in names:
            for b in names:
                if a < b:
                    la, lb = given_[(item, a)], given_[(item, b)]
                    for x in la:
                        for y in lb:
                            tables[(a, b)][(x, y)] += 1 / (len(la) * len(lb))
    return tables


def expected_loo_tables(rows: list[Row]) -> dict[str, dict[tuple[str, str], float]]:
    """Per labeler: own label x majority label of the others on the item (ties split)."""
    tables: dict = defaultdict(lambda: defaultdict(float))
    for item, labeler, label, _ in rows:
        others = Counter(c for u, w, c, _ in rows if u == item and w != labeler)
        if not others:
            continue
        top = max(others.values())
        tied = [c for c, n in others.items() if n == top]
        for c in tied:
            tables[labeler][(label, c)] += 1 / len(tied)
    return tables


# ------------------------------------------------------------ published tables


# Wikipedia, "Cohen's kappa": 50 grant proposals (kappa 0.4), then the two tables with the
# same 60% agreement but different marginals (kappa 0.1304 and 0.2593).
WIKIPEDIA = [
    ([[20, 5], [10, 15]], 0.4),
    ([[45, 15], [25, 15]], 0.1304),
    ([[25, 35], [5, 35]], 0.2593),
]


def annotations_from_table(counts: list[list[int]]) -> list[Row]:
    rows: list[Row] = []
    item = 0
    for i, row in enumerate(counts):
        for j, n in enumerate(row):
            for _ in range(n):
                rows += [(f"p{item}", "A", "yn"[i], None), (f"p{item}", "B", "yn"[j], None)]
                item += 1
    return rows


@pytest.mark.parametrize(("counts", "kappa"), WIKIPEDIA)
def test_cohen_kappa_pairs_reproduces_the_wikipedia_examples(counts, kappa) -> None:
    out = cohen_kappa_pairs(table(annotations_from_table(counts)))
    assert out[["labeler_a", "labeler_b"]].values.tolist() == [["A", "B"]]
    assert out["shared_items"].iat[0] == np.sum(counts)
    assert out["kappa"].iat[0] == pytest.approx(kappa, abs=5e-5)
    assert out["percent_agreement"].iat[0] == pytest.approx(np.trace(counts) / np.sum(counts))
    reference = cohens_kappa(np.array(counts))
    assert out["se"].iat[0] == pytest.approx(reference.std_kappa, abs=1e-12)


def test_cohen_kappa_from_cells_handles_several_tables_and_a_single_class() -> None:
    cells = pd.DataFrame(
        {
            "t": ["a", "a", "a", "a", "b"],
            "row": ["y", "y", "n", "n", "y"],
            "col": ["y", "n", "y", "n", "y"],
            "n": [20, 5, 10, 15, 7],
        }
    )
    out = cohen_kappa_from_cells(cells, "t").set_index("t")
    assert out.loc["a", "kappa"] == pytest.approx(0.4)
    assert out.loc["a", "n"] == 50
    # Both sides always said "y": p_e = 1, kappa undefined, agreement perfect.
    assert math.isnan(out.loc["b", "kappa"]) and math.isnan(out.loc["b", "se"])
    assert out.loc["b", "agreement"] == 1.0


# ------------------------------------------------------------ pairs vs oracle


@FAST
@given(rows_strategy, st.integers(1, 3))
def test_cohen_kappa_pairs_match_statsmodels(rows: list[Row], min_shared: int) -> None:
    out = cohen_kappa_pairs(table(rows), min_shared=min_shared)
    expected = {
        pair: cells
        for pair, cells in expected_pair_tables(rows).items()
        if round(sum(cells.values())) >= min_shared
    }
    assert [tuple(p) for p in out[["labeler_a", "labeler_b"]].values] == sorted(expected)
    for _, row in out.iterrows():
        tab = dense(expected[(row["labeler_a"], row["labeler_b"])])
        assert row["shared_items"] == round(tab.sum())
        assert row["percent_agreement"] == pytest.approx(np.trace(tab) / tab.sum(), abs=1e-12)
        if np.isclose(chance_agreement(tab), 1.0):
            assert math.isnan(row["kappa"]) and math.isnan(row["se"])
            continue
        ref = cohens_kappa(tab)
        assert row["kappa"] == pytest.approx(ref.kappa, abs=1e-9)
        # statsmodels takes sqrt of var_kappa as is: a rounding error of -3e-16 on a
        # zero variance gives it NaN; the oracle is the variance, clipped at 0.
        assert row["se"] == pytest.approx(math.sqrt(max(ref.var_kappa, 0.0)), abs=1e-9)
        assert -1 - 1e-12 <= row["kappa"] <= 1 + 1e-12


def test_cohen_kappa_pairs_filters_on_shared_items_and_checks_the_threshold() -> None:
    rows = annotations_from_table([[3, 1], [1, 3]])  # 8 shared items
    assert len(cohen_kappa_pairs(table(rows), min_shared=8)) == 1
    empty = cohen_kappa_pairs(table(rows), min_shared=9)
    assert list(empty.columns) == list(PAIR_COLUMNS) and empty.empty
    with pytest.raises(
        InvalidArgument, match="^min_shared must be a whole number of at least 1; found 0$"
    ):
        cohen_kappa_pairs(table(rows), min_shared=0)


def test_cohen_kappa_pairs_counts_a_repeated_item_once() -> None:
    rows: list[Row] = [
        ("i1", "A", "x", None),
        ("i1", "A", "y", None),  # A labeled i1 twice: half a vote each
        ("i1", "B", "x", None),
        ("i2", "A", "y", None),
        ("i2", "B", "y", None),
    ]
    out = cohen_kappa_pairs(table(rows), min_shared=1)
    assert out["shared_items"].tolist() == [2]
    assert out["percent_agreement"].iat[0] == pytest.approx(0.75)


# ------------------------------------------------------------ per-labeler table


def test_labelers_on_a_small_hand_computed_example() -> None:
    rows: list[Row] = [
        ("a", "x", "p", 1.0),
        ("a", "y", "p", 5.0),
        ("a", "z", "q", 2.0),
        ("b", "x", "q", 2.0),
        ("b", "y", "q", None),
        ("b", "x", "q", 8.0),  # x labels b twice
        ("c", "z", "p", 4.0),  # nobody else on c
    ]
    items = pd.DataFrame({"item_id": ["a", "b", "c"], "gold_label": ["p", "p", None]})
    out = labelers(table(rows), items, fast_threshold_s=3.0).set_index("labeler_id")
    assert list(out.columns) == list(LABELER_COLUMNS[1:])
    x = out.loc["x"]
    assert (x["n"], x["items"], x["repeats"]) == (3, 2, 1)
    # x on a (p): others p, q -> 1/2; x on b (q, twice): others q -> 1 each.
    assert x["agreement"] == pytest.approx((0.5 + 1 + 1) / 3)
    assert x["agreement_n"] == 3
    # gold: a=p (x said p), b=p (x said q twice).
    assert (x["gold_n"], x["gold_accuracy"]) == (3, pytest.approx(1 / 3))
    low, high = proportion_confint(1, 3, method="wilson")
    assert (x["gold_ci_low"], x["gold_ci_high"]) == (pytest.approx(low), pytest.approx(high))
    assert x["median_duration_s"] == 2.0
    assert x["fast_share"] == pytest.approx(2 / 3)
    # y: one timed answer of 5 s, not fast; z on c has no one to agree with.
    assert out.loc["y", "fast_share"] == 0.0
    assert out.loc["z", "agreement_n"] == 1 and out.loc["z", "agreement"] == 0.0
    assert out.loc["z", "consensus_n"] == 1


def test_labelers_without_durations_or_gold_reports_nan() -> None:
    t = ibis.memtable(pd.DataFrame({"item_id": ["a"], "labeler_id": ["x"], "label": ["p"]}))
    out = labelers(t)
    row = out.iloc[0]
    for col in (
        "agreement",
        "gold_accuracy",
        "gold_ci_low",
        "kappa_vs_consensus",
        "median_duration_s",
        "fast_share",
    ):
        assert math.isnan(row[col]), col
    assert (row["gold_n"], row["agreement_n"], row["consensus_n"]) == (0, 0, 0)


def test_labelers_kappa_against_a_given_consensus_uses_it_as_is() -> None:
    rows = annotations_from_table([[20, 5], [10, 15]])
    consensus = pd.DataFrame(
        {"item_id": [f"p{i}" for i in range(50)], "label": [r[2] for r in rows[1::2]]}
    )  # B's labels as the consensus: A's kappa is the pair's kappa, B's is 1
    out = labelers(table(rows), consensus=consensus).set_index("labeler_id")
    assert out.loc["A", "kappa_vs_consensus"] == pytest.approx(0.4)
    assert out.loc["B", "kappa_vs_consensus"] == pytest.approx(1.0)


def test_labelers_split_a_tied_consensus() -> None:
    rows: list[Row] = [("a", "x", "p", None), ("a", "y", "q", None)]
    out = labelers(table(rows), consensus=majority_vote(table(rows))).set_index("labeler_id")
    # Each labeler's p or q meets the tie (p, q) half and half: p_o = p_e = 1/2, kappa 0.
    assert out.loc["x", "kappa_vs_consensus"] == pytest.approx(0.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fast_threshold_s": 0}, "fast_threshold_s must be a positive number of seconds; found 0"),
        (
            {"consensus": pd.DataFrame({"item": ["a"]})},
            r"the consensus table lacks column\(s\) item_id, label\. Columns found: item",
        ),
        (
            {"items": pd.DataFrame({"item_id": ["a"]})},
            r"the items table lacks column\(s\) gold_label\. Columns found: item_id",
        ),
    ],
)
def test_labelers_rejects_bad_arguments_in_words(kwargs: dict, message: str) -> None:
    with pytest.raises(InvalidArgument, match=f"^{message}$"):
        labelers(table([("a", "x", "p", None)]), **kwargs)


@SLOW
@given(rows_strategy, st.data())
def test_labelers_match_their_definitions(rows: list[Row], data: st.DataObject) -> None:
    names = sorted({u for u, *_ in rows})
    gold = data.draw(
        st.lists(st.sampled_from([*MIXED_LABELS, None]), min_size=len(names), max_size=len(names))
    )
    items = pd.DataFrame({"item_id": names, "gold_label": gold})
    out = labelers(table(rows), items, fast_threshold_s=2.5).set_index("labeler_id")
    gold_of = dict(zip(names, gold, strict=True))
    given_ = labels_of(rows)
    loo = expected_loo_tables(rows)
    assert sorted(out.index) == sorted({w for _, w, _, _ in rows})
    for labeler, row in out.iterrows():
        mine = [r for r in rows if r[1] == labeler]
        assert row["n"] == len(mine)
        assert row["items"] == len({r[0] for r in mine})
        assert row["repeats"] == sum(
            1 for (u, w), labs in given_.items() if w == labeler and len(labs) > 1
        )
        shares = []
        for item, _, label, _ in mine:
            others = [c for u, w, c, _ in rows if u == item and w != labeler]
            if others:
                shares.append(others.count(label) / len(others))
        assert row["agreement_n"] == len(shares)
        if shares:
            assert row["agreement"] == pytest.approx(np.mean(shares), abs=1e-12)
        graded = [label == gold_of[item] for item, _, label, _ in mine if gold_of[item] is not None]
        assert row["gold_n"] == len(graded)
        if graded:
            assert row["gold_accuracy"] == pytest.approx(np.mean(graded))
            low, high = proportion_confint(sum(graded), len(graded), method="wilson")
            assert row["gold_ci_low"] == pytest.approx(max(0.0, low), abs=1e-12)
            assert row["gold_ci_high"] == pytest.approx(min(1.0, high), abs=1e-12)
            assert row["gold_ci_low"] <= row["gold_accuracy"] <= row["gold_ci_high"]
        timed = [d for *_, d in mine if d is not None]
        if timed:
            assert row["median_duration_s"] == pytest.approx(float(np.median(timed)))
            assert row["fast_share"] == pytest.approx(np.mean([d < 2.5 for d in timed]))
        else:
            assert math.isnan(row["fast_share"]) and math.isnan(row["median_duration_s"])
        cells = loo.get(labeler, {})
        assert row["consensus_n"] == round(sum(cells.values()))
        kappa = row["kappa_vs_consensus"]
        if not cells or np.isclose(chance_agreement(dense(cells)), 1.0):
            assert math.isnan(kappa)
        else:
            assert -1 - 1e-12 <= kappa <= 1 + 1e-12
            assert kappa == pytest.approx(cohens_kappa(dense(cells)).kappa, abs=1e-9)


@SLOW
@given(rows_strategy, st.permutations(MIXED_LABELS), st.randoms(use_true_random=False))
def test_labelers_are_invariant_under_renaming_labels_and_permuting_rows(
    rows: list[Row], new_names: list[str], rnd
) -> None:
    rename = dict(zip(MIXED_LABELS, new_names, strict=True))
    renamed = [(u, w, rename[c], d) for u, w, c, d in rows]
    rnd.shuffle(renamed)
    cols = ["agreement", "kappa_vs_consensus", "fast_share", "median_duration_s", "repeats"]
    before = labelers(table(rows))[cols]
    after = labelers(table(renamed))[cols]
    pd.testing.assert_frame_equal(before, after, check_exact=False, atol=1e-12)
