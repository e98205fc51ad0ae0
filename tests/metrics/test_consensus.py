"""Majority vote, Dawid–Skene and gold accuracy: published data, crowd-kit as oracle, properties."""

from __future__ import annotations

from collections import Counter

import ibis
import numpy as np
import pandas as pd
import pytest
from conftest import MIXED_LABELS, long_tables
from crowdkit.aggregation import DawidSkene, MajorityVote
from hypothesis import given, settings
from hypothesis import strategies as st

from consistency.engine import profile
from consistency.errors import InvalidArgument
from consistency.metrics.consensus import (
    dawid_skene,
    gold_accuracy,
    majority_vote,
    profile_and_majority,
    wilson_interval,
)

#: Long tables with missing labels, single-label items, a single class, repeated labels
#: by one labeler, unicode and numeric-looking labels, as (item, labeler, label) rows.
rows_strategy = long_tables().map(lambda df: list(df.itertuples(index=False, name=None)))
FAST = settings(max_examples=40, deadline=None)
# crowd-kit itself raises pandas deprecation warnings; they are not ours.
pytestmark = pytest.mark.filterwarnings("ignore::Warning:crowdkit.*")


def table(rows: list[tuple[str, str, str]]) -> ibis.Table:
    return ibis.memtable(pd.DataFrame(rows, columns=["item_id", "labeler_id", "label"]))


def crowd(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["task", "worker", "label"])


# Dawid & Skene (1979), Table 1: 45 patients, 5 observers; observer 1 assessed each
# patient three times. One string per patient: observer 1's three answers, then
# observers 2 to 5.
DS_1979 = (
    "111 1111",
    "333 4334",
    "112 2122",
    "222 3121",
    "222 3222",
    "222 3322",
    "122 2111",
    "333 3433",
    "222 2223",
    "232 2223",
    "444 4444",
    "222 3343",
    "111 1111",
    "222 3212",
    "121 1111",
    "111 2111",
    "111 1111",
    "111 1111",
    "222 2221",
    "222 1322",
    "222 2222",
    "222 2221",
    "222 3222",
    "221 2222",
    "111 1111",
    "111 1111",
    "232 2222",
    "111 1111",
    "111 1111",
    "112 1121",
    "111 1111",
    "333 3233",
    "111 1111",
    "222 2222",
    "222 3232",
    "433 4343",
    "221 2232",
    "232 3233",
    "333 3432",
    "111 1111",
    "111 1111",
    "121 2111",
    "232 2222",
    "121 1111",
    "222 2222",
)


def ds_1979_rows() -> list[tuple[str, str, str]]:
    rows = []
    for patient, answers in enumerate(DS_1979, start=1):
        first, others = answers.split()
        rows += [(f"p{patient}", "obs1", c) for c in first]
        rows += [(f"p{patient}", f"obs{k}", c) for k, c in enumerate(others, start=2)]
    return rows


def separated_rows(seed: int, items: int = 150) -> list[tuple[str, str, str]]:
    """Well-separated synthetic data: 3 classes, 6 labelers of accuracy 0.65-0.95."""
    rng = np.random.default_rng(seed)
    accuracy = [0.95, 0.9, 0.85, 0.8, 0.7, 0.65]
    rows = []
    for u in range(items):
        true = int(rng.integers(3))
        for w, acc in enumerate(accuracy):
            if rng.random() < 0.75:
                y = true if rng.random() < acc else int(rng.integers(3))
                rows.append((f"item{u}", f"w{w}", "xyz"[y]))
    return rows


# ---------------------------------------------------------------- majority vote


def test_majority_vote_on_dawid_skene_1979_patients() -> None:
    mv = majority_vote(table(ds_1979_rows())).set_index("item_id")
    # Patient 2: 3,3,3 / 4,3,3,4 -> five votes for 3 of seven.
    assert mv.loc["p2", "label"] == "3"
    assert mv.loc["p2", "confidence"] == pytest.approx(5 / 7)
    assert mv.loc["p2", "votes"] == 7
    # Patient 3: 1,1,2 / 2,1,2,2 -> 2 wins 4 to 3, no tie.
    assert (mv.loc["p3", "label"], bool(mv.loc["p3", "tie"])) == ("2", False)
    # Patient 12: 2,2,2 / 3,3,4,3 -> three votes each for 2 and 3: a tie, reported.
    assert bool(mv.loc["p12", "tie"]) is True
    assert mv.loc["p12", "tied_labels"] == ("2", "3")


def test_majority_vote_reports_ties_and_never_breaks_them_silently() -> None:
    rows = [("a", "w1", "dog"), ("a", "w2", "cat"), ("b", "w1", "x"), ("b", "w2", "x")]
    mv = majority_vote(table(rows)).set_index("item_id")
    assert bool(mv.loc["a", "tie"]) is True
    assert mv.loc["a", "tied_labels"] == ("cat", "dog")
    assert mv.loc["a", "label"] == "cat"
    assert mv.loc["a", "confidence"] == 0.5
    assert mv.loc["b", "tied_labels"] == ()


def test_majority_vote_empty_table_has_the_documented_columns() -> None:
    empty = table([("a", "w", "x")]).limit(0)
    mv = majority_vote(empty)
    assert list(mv.columns) == ["item_id", "label", "confidence", "votes", "tie", "tied_labels"]
    assert mv.empty


def test_majority_vote_names_the_missing_column() -> None:
    t = ibis.memtable(pd.DataFrame({"item_id": ["a"], "answer": ["x"]}))
    with pytest.raises(
        InvalidArgument,
        match=r"^the annotations table lacks column\(s\) label\. Columns found: item_id, answer$",
    ):
        majority_vote(t)


@FAST
@given(rows_strategy)
def test_majority_vote_matches_its_definition(rows: list[tuple[str, str, str]]) -> None:
    mv = majority_vote(table(rows)).set_index("item_id")
    by_item: dict[str, Counter[str]] = {}
    for item, _, label in rows:
        by_item.setdefault(item, Counter())[label] += 1
    assert sorted(mv.index) == sorted(by_item)
    for item, counts in by_item.items():
        top = max(counts.values())
        winners = sorted(lab for lab, n in counts.items() if n == top)
        row = mv.loc[item]
        assert row["label"] in counts
        assert counts[row["label"]] == top
        assert bool(row["tie"]) == (len(winners) > 1)
        assert row["tied_labels"] == (tuple(winners) if len(winners) > 1 else ())
        assert row["votes"] == sum(counts.values())
        assert row["confidence"] == pytest.approx(top / sum(counts.values()), abs=1e-12)


@FAST
@given(rows_strategy, st.randoms(use_true_random=False))
def test_majority_vote_is_invariant_under_permuting_labelers_and_rows(
    rows: list[tuple[str, str, str]], rnd
) -> None:
    names = sorted({w for _, w, _ in rows})
    renamed = dict(zip(names, rnd.sample(names, len(names)), strict=True))
    permuted = [(u, renamed[w], c) for u, w, c in rows]
    rnd.shuffle(permuted)
    pd.testing.assert_frame_equal(majority_vote(table(rows)), majority_vote(table(permuted)))


@FAST
@given(rows_strategy)
def test_majority_vote_matches_crowdkit_when_there_is_no_tie(
    rows: list[tuple[str, str, str]],
) -> None:
    mv = majority_vote(table(rows)).set_index("item_id")
    untied = mv.index[~mv["tie"].to_numpy()]
    expected = MajorityVote().fit(crowd(rows))
    assert mv.loc[untied, "label"].tolist() == expected.labels_.loc[untied].tolist()
    np.testing.assert_allclose(
        mv.loc[untied, "confidence"].to_numpy(dtype=float),
        expected.probas_.loc[untied].max(axis=1).to_numpy(dtype=float),
        atol=1e-12,
    )


# ------------------------------------------------------------------ Dawid–Skene


def compare_with_crowdkit(rows: list[tuple[str, str, str]], iterations: int) -> float:
    """Largest posterior difference after the same number of EM steps, no smoothing."""
    ours = dawid_skene(table(rows), max_iter=iterations, tol=0.0, smoothing=0.0)
    theirs = DawidSkene(n_iter=iterations, tol=-np.inf).fit(crowd(rows)).probas_
    assert ours.iterations == iterations and not ours.converged
    mine = ours.posteriors.loc[theirs.index, theirs.columns.astype(str)]
    return float(np.abs(mine.to_numpy() - theirs.to_numpy()).max())


@pytest.mark.parametrize("iterations", [1, 2, 10, 50])
def test_dawid_skene_matches_crowdkit_on_the_1979_patients(iterations: int) -> None:
    # crowd-kit floors posteriors at 1e-10 when it computes its stopping criterion;
    # apart from that the two EM runs are the same computation.
    assert compare_with_crowdkit(ds_1979_rows(), iterations) < 1e-9


def test_dawid_skene_1979_patients_converges_to_crowdkits_fixed_point() -> None:
    rows = ds_1979_rows()
    ours = dawid_skene(table(rows), smoothing=0.0, tol=1e-12, max_iter=500)
    # crowd-kit's own stopping rule (an ELBO that counts the prior once per annotation)
    # can stop after a few steps on these data; run it long enough to reach the fixed point.
    theirs = DawidSkene(n_iter=60, tol=-np.inf).fit(crowd(rows))
    assert ours.converged and ours.iterations < 100
    labels = ours.labels.set_index("item_id")["label"]
    assert labels.loc[theirs.labels_.index].tolist() == theirs.labels_.astype(str).tolist()
    priors = ours.priors.loc[theirs.priors_.index.astype(str)].to_numpy()
    np.testing.assert_allclose(priors, theirs.priors_.to_numpy(), atol=1e-6)
    for (observer, observed), row in theirs.errors_.iterrows():
        mine = ours.confusions[observer].loc[[str(c) for c in row.index], str(observed)]
        np.testing.assert_allclose(mine.to_numpy(), row.to_numpy(), atol=1e-6)
    # Patients every observer put in class 1 stay there with near certainty.
    assert ours.posteriors.loc["p1", "1"] > 0.999


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dawid_skene_agrees_with_crowdkit_on_well_separated_data(seed: int) -> None:
    rows = separated_rows(seed)
    assert compare_with_crowdkit(rows, 20) < 1e-9
    ours = dawid_skene(table(rows)).labels.set_index("item_id")["label"]
    theirs = DawidSkene(n_iter=100).fit_predict(crowd(rows))
    assert (ours.loc[theirs.index] == theirs).all()


def test_dawid_skene_recovers_a_labeler_who_swaps_two_classes() -> None:
    rng = np.random.default_rng(5)
    rows = []
    for u in range(200):
        true = int(rng.integers(2))
        rows += [(f"i{u}", f"good{w}", "ab"[true]) for w in range(3) if rng.random() < 0.9]
        rows.append((f"i{u}", "swapper", "ba"[true]))
    res = dawid_skene(table(rows))
    swap = res.confusions["swapper"]
    assert swap.loc["a", "b"] > 0.95 and swap.loc["b", "a"] > 0.95
    assert list(swap.index.names) == ["true"] and list(swap.columns.names) == ["observed"]


def test_dawid_skene_log_likelihood_never_decreases_without_smoothing() -> None:
    t = table(ds_1979_rows())
    lls = [dawid_skene(t, max_iter=n, tol=0.0, smoothing=0.0).log_likelihood for n in range(1, 12)]
    assert all(b >= a - 1e-9 for a, b in zip(lls, lls[1:], strict=False))
    assert lls[-1] > lls[0]


def test_dawid_skene_classes_follow_the_canonical_label_order() -> None:
    rows = [("a", "w", "10"), ("a", "v", "9"), ("b", "w", "9"), ("b", "v", "10")]
    res = dawid_skene(table(rows))
    assert list(res.posteriors.columns) == ["9", "10"]
    assert list(res.priors.index) == ["9", "10"]


def test_dawid_skene_on_no_annotations_returns_empty_results() -> None:
    res = dawid_skene(table([("a", "w", "x")]).limit(0))
    assert res.labels.empty and res.posteriors.empty and res.confusions == {}
    assert (res.iterations, res.converged) == (0, False)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_iter": 0}, "max_iter must be a whole number of at least 1; found 0"),
        ({"tol": -1.0}, "tol must be 0 or more; found -1.0"),
        (
            {"init": "random"},
            "unknown initialisation 'random'. Initialisations: majority, majority_hard",
        ),
        ({"smoothing": -0.5}, "smoothing must be 0 or more; found -0.5"),
    ],
)
def test_dawid_skene_rejects_bad_arguments_in_words(kwargs: dict, message: str) -> None:
    with pytest.raises(InvalidArgument, match=f"^{message}$"):
        dawid_skene(table([("a", "w", "x")]), **kwargs)


@FAST
@given(
    rows_strategy, st.sampled_from(["majority", "majority_hard"]), st.sampled_from([0.0, 0.01, 1.0])
)
def test_dawid_skene_outputs_are_distributions(
    rows: list[tuple[str, str, str]], init: str, smoothing: float
) -> None:
    res = dawid_skene(table(rows), max_iter=30, init=init, smoothing=smoothing)
    post = res.posteriors.to_numpy()
    np.testing.assert_allclose(post.sum(axis=1), 1.0, atol=1e-9)
    assert (post >= 0).all() and (post <= 1).all()
    assert res.priors.sum() == pytest.approx(1.0, abs=1e-9)
    for conf in res.confusions.values():
        np.testing.assert_allclose(conf.to_numpy().sum(axis=1), 1.0, atol=1e-9)
    assert set(res.confusions) == {w for _, w, _ in rows}
    assert sorted(res.labels["item_id"]) == sorted({u for u, _, _ in rows})
    labels = res.labels.set_index("item_id")
    for item in labels.index:
        assert labels.loc[item, "confidence"] == pytest.approx(res.posteriors.loc[item].max())
    assert np.isfinite(res.log_likelihood) and res.log_likelihood <= 1e-9
    assert 1 <= res.iterations <= 30
    # support: each labeler's labels spread over the true classes by the posteriors
    for who in res.confusions:
        mine = [u for u, w, _ in rows if w == who]
        want = res.posteriors.loc[mine].sum(axis=0)
        np.testing.assert_allclose(res.support[who].to_numpy(), want.to_numpy(), atol=1e-9)
        assert res.support[who].sum() == pytest.approx(len(mine), abs=1e-9)


# ---------------------------------------------------------------- gold accuracy


def test_wilson_interval_matches_newcombe_1998() -> None:
    # Newcombe (1998), Statistics in Medicine 17:857-872, Table I, method 3 (score).
    low, high = wilson_interval(np.array([81, 15, 0, 1]), np.array([263, 148, 20, 29]))
    np.testing.assert_allclose(low, [0.2553, 0.0624, 0.0, 0.0061], atol=5e-5)
    np.testing.assert_allclose(high, [0.3662, 0.1605, 0.1611, 0.1718], atol=5e-5)


def test_wilson_interval_is_nan_without_observations() -> None:
    low, high = wilson_interval(0, 0)
    assert np.isnan(low) and np.isnan(high)


def test_gold_accuracy_gives_ties_partial_credit() -> None:
    rows = [
        ("a", "w1", "x"),
        ("a", "w2", "x"),
        ("b", "w1", "x"),
        ("b", "w2", "y"),
        ("c", "w1", "y"),
        ("d", "w1", "y"),
    ]
    items = ibis.memtable(
        pd.DataFrame({"item_id": ["a", "b", "c", "e"], "gold_label": ["x", "y", "x", "x"]})
    )
    g = gold_accuracy(majority_vote(table(rows)), items)
    # a right, b a two-way tie containing gold (1/2), c wrong; d has no gold, e no labels.
    assert (g.n, g.correct, g.ties) == (3, 1.5, 1)
    assert g.accuracy == pytest.approx(0.5)
    assert g.reason is None


def test_gold_accuracy_without_gold_is_nan_with_a_reason() -> None:
    items = pd.DataFrame({"item_id": ["a"], "gold_label": [None]})
    g = gold_accuracy(majority_vote(table([("a", "w", "x")])), items)
    assert g.n == 0 and np.isnan(g.accuracy) and np.isnan(g.ci_low)
    assert g.reason == "no item has both a gold label and a consensus label"


def test_gold_accuracy_names_the_missing_gold_column() -> None:
    items = pd.DataFrame({"item_id": ["a"], "truth": ["x"]})
    with pytest.raises(
        InvalidArgument,
        match=r"^the items table lacks column\(s\) gold_label\. Columns found: item_id, truth$",
    ):
        gold_accuracy(majority_vote(table([("a", "w", "x")])), items)


@FAST
@given(rows_strategy, st.data())
def test_gold_accuracy_lies_in_its_wilson_interval(
    rows: list[tuple[str, str, str]], data: st.DataObject
) -> None:
    items = sorted({u for u, _, _ in rows})
    gold = data.draw(
        st.lists(st.sampled_from([*MIXED_LABELS, None]), min_size=len(items), max_size=len(items))
    )
    g = gold_accuracy(
        majority_vote(table(rows)), pd.DataFrame({"item_id": items, "gold_label": gold})
    )
    assert g.n == sum(x is not None for x in gold)
    if g.n:
        assert 0 <= g.ci_low <= g.accuracy <= g.ci_high <= 1
    else:
        assert np.isnan(g.accuracy) and g.reason is not None


def test_dawid_skene_handles_items_with_hundreds_of_labels() -> None:
    # 400 labels on one item put its log-scores thousands apart: the softmax must
    # fall back to the row maximum there (a mean shift would overflow exp).
    rows = separated_rows(3, items=60)
    rows += [("crowded", f"w{j % 8}", "ab"[j % 9 == 0]) for j in range(400)]
    assert compare_with_crowdkit(rows, 10) < 1e-9
    res = dawid_skene(table(rows), max_iter=10)
    post = res.posteriors.to_numpy()
    assert np.isfinite(post).all() and np.allclose(post.sum(axis=1), 1.0)
    assert res.labels.set_index("item_id").loc["crowded", "label"] == "a"
    assert np.isfinite(res.log_likelihood)


def test_dawid_skene_by_blocks_on_threads_equals_one_block(monkeypatch: pytest.MonkeyPatch) -> None:
    import consistency.metrics.consensus as consensus

    rows = separated_rows(4, items=100)
    whole = dawid_skene(table(rows), max_iter=30)
    monkeypatch.setattr(consensus, "BLOCK_ITEMS", 7)  # 15 blocks, on a pool of threads
    blocks = dawid_skene(table(rows), max_iter=30)
    assert blocks.iterations == whole.iterations
    np.testing.assert_allclose(blocks.posteriors, whole.posteriors, rtol=0, atol=1e-12)
    assert blocks.log_likelihood == pytest.approx(whole.log_likelihood, rel=1e-12)
    assert compare_with_crowdkit(rows, 30) < 1e-9  # with 7 items a block, still crowd-kit's EM


def assert_same_profile(a, b) -> None:  # noqa: ANN001
    assert a.labels == b.labels and a.repeats == b.repeats and a.labelers == b.labelers
    assert (a.annotations, a.items) == (b.annotations, b.items)
    np.testing.assert_array_equal(a.counts, b.counts)
    np.testing.assert_array_equal(a.weight, b.weight)
    np.testing.assert_array_equal(a.label_totals, b.label_totals)


@FAST
@given(rows_strategy)
def test_profile_and_majority_in_one_pass_equal_the_two_functions(
    rows: list[tuple[str, str, str]],
) -> None:
    t = table(rows)
    p, mv = profile_and_majority(t)
    assert_same_profile(p, profile(t))
    pd.testing.assert_frame_equal(mv, majority_vote(t))


def test_profile_and_majority_widen_the_counts_for_crowded_items() -> None:
    rows = [("big", f"w{j}", "ab"[j % 3 == 0]) for j in range(40)]  # 40 labels: 6-bit fields
    rows += [("small", "w1", "a"), ("small", "w2", "b"), ("small", "w2", "b")]
    t = table(rows)
    p, mv = profile_and_majority(t)
    assert_same_profile(p, profile(t))
    assert p.repeats == 1 and sorted(p.m.tolist()) == [3, 40]
    big = mv.set_index("item_id").loc["big"]
    assert (big["label"], big["votes"], big["confidence"]) == ("a", 40, 26 / 40)


def test_profiles_can_skip_counting_repeats() -> None:
    rows = [("i", "w1", "a"), ("i", "w1", "a"), ("i", "w2", "b"), ("j", "w1", "b")]
    t = table(rows)
    counted, skipped = profile(t), profile(t, repeats=False)
    assert counted.repeats == 1 and skipped.repeats is None
    np.testing.assert_array_equal(counted.counts, skipped.counts)
    assert profile_and_majority(t, repeats=False)[0].repeats is None
