"""The planner: items to add for a narrower interval, labels per item for a target accuracy."""

from __future__ import annotations

import json
import math

import ibis
import numpy as np
import pandas as pd
import pytest

from consistency.cli import main
from consistency.engine import profile_from_rows
from consistency.errors import InvalidArgument, NotComputable
from consistency.metrics.consensus import majority_vote
from consistency.planner import (
    OVERLAP_COLUMNS,
    PER_CLASS_COLUMNS,
    LabelerModel,
    expected_accuracy,
    items_needed,
    items_to_reach,
    labeler_model,
    labels_needed,
    parse_overlap,
    simulate,
    specific_agreement_draws,
    specific_agreement_draws_all,
)


def symmetric(accuracy: float, k: int = 3) -> np.ndarray:
    """A confusion matrix: right with ``accuracy``, wrong classes equally likely."""
    m = np.full((k, k), (1 - accuracy) / (k - 1))
    np.fill_diagonal(m, accuracy)
    return m


#: Five labelers of different quality, one with a biased confusion matrix, unequal volumes.
TRUE = LabelerModel(
    classes=("a", "b", "c"),
    priors=np.array([0.6, 0.3, 0.1]),
    confusions=np.stack(
        [
            symmetric(0.9),
            symmetric(0.8),
            symmetric(0.7),
            symmetric(0.6),
            np.array([[0.6, 0.4, 0.0], [0.1, 0.8, 0.1], [0.1, 0.3, 0.6]]),
        ]
    ),
    labelers=("w0", "w1", "w2", "w3", "w4"),
    weights=np.array([0.3, 0.25, 0.2, 0.15, 0.1]),
)

#: Four labelers, equal volumes (for the interval simulations).
EVEN = LabelerModel(
    classes=("a", "b", "c"),
    priors=np.array([0.5, 0.3, 0.2]),
    confusions=np.stack([symmetric(a) for a in (0.9, 0.8, 0.7, 0.6)]),
    labelers=("w0", "w1", "w2", "w3"),
    weights=np.full(4, 0.25),
)


def observed_majority_accuracy(sim: pd.DataFrame) -> float:
    """Accuracy of the library's majority vote against the true labels, 1/t for a t-way tie."""
    mv = majority_vote(ibis.memtable(sim[["item_id", "labeler_id", "label"]]))
    truth = sim.groupby("item_id")["true_label"].first()
    credit = [
        (truth[item] in tied) / len(tied) if tied else float(label == truth[item])
        for item, label, tied in zip(mv["item_id"], mv["label"], mv["tied_labels"], strict=True)
    ]
    return float(np.mean(credit))


# ---- labels per item ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def train() -> pd.DataFrame:
    return simulate(TRUE, 4000, 4, seed=1)


@pytest.fixture(scope="module")
def fitted(train) -> LabelerModel:
    return labeler_model(ibis.memtable(train[["item_id", "labeler_id", "label"]]))


@pytest.fixture(scope="module")
def predicted(fitted):
    return expected_accuracy(fitted, range(1, 6), draws=20_000, seed=0)


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
def test_predicted_majority_accuracy_matches_a_simulation_of_k_labels(train, predicted, k) -> None:
    # the planner draws labelers in proportion to the labels each gave: so does the check
    share = train["labeler_id"].value_counts(normalize=True).reindex(TRUE.labelers)
    world = LabelerModel(
        TRUE.classes, TRUE.priors, TRUE.confusions, TRUE.labelers, share.to_numpy(dtype=float)
    )
    want = observed_majority_accuracy(simulate(world, 40_000, k, seed=100 + k))
    got = predicted.table.set_index("labels_per_item").at[k, "majority_vote_accuracy"]
    assert abs(got - want) <= 0.02


def test_the_fitted_model_recovers_priors_and_volumes(fitted) -> None:
    assert fitted.labelers == TRUE.labelers
    np.testing.assert_allclose(fitted.priors, TRUE.priors, atol=0.03)
    # four distinct labelers per item flatten the volumes towards equal shares
    assert list(np.argsort(-fitted.weights)) == [0, 1, 2, 3, 4]


def test_overlap_tables_have_the_documented_columns(predicted) -> None:
    assert tuple(predicted.table.columns) == OVERLAP_COLUMNS
    assert tuple(predicted.per_class.columns) == PER_CLASS_COLUMNS
    assert predicted.table["labels_per_item"].tolist() == [1, 2, 3, 4, 5]
    assert len(predicted.per_class) == 5 * 3


def test_dawid_skene_with_known_parameters_is_never_worse_than_the_vote(predicted) -> None:
    t = predicted.table
    assert (t["dawid_skene_accuracy"] >= t["majority_vote_accuracy"] - 0.005).all()
    assert t["majority_vote_accuracy"].between(0, 1).all()


def test_overall_accuracy_is_the_prior_weighted_class_accuracy(fitted, predicted) -> None:
    per = predicted.per_class.pivot(
        index="labels_per_item", columns="class", values="majority_vote_accuracy"
    )
    np.testing.assert_allclose(
        per[list(fitted.classes)].to_numpy() @ fitted.priors,
        predicted.table["majority_vote_accuracy"],
    )


def _binary(accuracies: list[float], weights: list[float], prior: float = 0.5) -> LabelerModel:
    return LabelerModel(
        ("x", "y"),
        np.array([prior, 1 - prior]),
        np.stack([symmetric(a, 2) for a in accuracies]),
        tuple(f"l{i}" for i in range(len(accuracies))),
        np.array(weights, dtype=float),
    )


def test_majority_accuracy_of_equal_labelers_matches_the_binomial_formula() -> None:
    p = 0.8
    plan = expected_accuracy(_binary([p] * 5, [1] * 5), range(1, 6), draws=40_000, seed=3)
    mv = plan.table["majority_vote_accuracy"].to_numpy()
    exact = [p, p, p**3 + 3 * p**2 * (1 - p), p**3 + 3 * p**2 * (1 - p)]
    exact.append(sum(math.comb(5, j) * p**j * (1 - p) ** (5 - j) for j in (3, 4, 5)))
    np.testing.assert_allclose(mv, exact, atol=0.01)


def test_labelers_are_drawn_by_volume_and_distinct() -> None:
    model = _binary([1.0, 0.0], [0.7, 0.3])
    plan = expected_accuracy(model, [1, 2], draws=40_000, seed=0)
    mv = plan.table.set_index("labels_per_item")["majority_vote_accuracy"]
    assert mv[1] == pytest.approx(0.7, abs=0.01)  # the right labeler 70% of the time
    assert mv[2] == 0.5  # always both: a tie, half credit


def test_the_bayes_decision_reads_a_biased_labeler() -> None:
    # a labeler who always answers the wrong class is as good as a perfect one to Dawid-Skene
    plan = expected_accuracy(_binary([0.0], [1]), [1], draws=1000)
    assert plan.table.at[0, "majority_vote_accuracy"] == 0.0
    assert plan.table.at[0, "dawid_skene_accuracy"] == 1.0


def test_expected_accuracy_is_reproducible() -> None:
    a = expected_accuracy(EVEN, [2, 3], draws=2000, seed=7).table
    b = expected_accuracy(EVEN, [2, 3], draws=2000, seed=7).table
    pd.testing.assert_frame_equal(a, b)


def test_labels_needed(predicted) -> None:
    t = predicted.table.set_index("labels_per_item")["majority_vote_accuracy"]
    target = float(t[3]) - 1e-9
    assert labels_needed(predicted, target) == min(k for k in t.index if t[k] >= target)
    assert labels_needed(predicted, 1.0) is None
    assert labels_needed(predicted, 0.01, "dawid_skene", cls="c") == 1
    with pytest.raises(InvalidArgument, match=r"^class 'z' not found. Classes: a, b, c$"):
        labels_needed(predicted, 0.9, cls="z")
    with pytest.raises(
        InvalidArgument, match=r"^the target accuracy must be above 0 and at most 1; found 90$"
    ):
        labels_needed(predicted, 90)
    with pytest.raises(
        InvalidArgument, match=r"^unknown method 'em'. Methods: majority_vote, dawid_skene$"
    ):
        labels_needed(predicted, 0.9, "em")


def test_more_labels_than_labelers_is_refused() -> None:
    with pytest.raises(
        InvalidArgument, match=r"^5 labels per item need 5 distinct labelers; the data has 4$"
    ):
        expected_accuracy(EVEN, [5])
    with pytest.raises(
        InvalidArgument, match=r"^labels per item must be a whole number of at least 1; found 0$"
    ):
        simulate(EVEN, 10, 0)


def test_a_malformed_model_is_refused() -> None:
    with pytest.raises(InvalidArgument, match=r"^the labeler model needs 3 priors and 4 confusion"):
        LabelerModel(EVEN.classes, np.ones(2) / 2, EVEN.confusions, EVEN.labelers, EVEN.weights)
    with pytest.raises(
        InvalidArgument, match=r"^the labeler weights must be 4 numbers of 0 or more"
    ):
        LabelerModel(EVEN.classes, EVEN.priors, EVEN.confusions, EVEN.labelers, np.zeros(4))


def test_simulate_gives_k_distinct_labelers_per_item() -> None:
    sim = simulate(EVEN, 50, 3, seed=2)
    assert list(sim.columns) == ["item_id", "labeler_id", "label", "true_label"]
    assert len(sim) == 150
    assert (sim.groupby("item_id")["labeler_id"].nunique() == 3).all()


# ---- how many more items -------------------------------------------------------------------
def _profile(df: pd.DataFrame):
    return profile_from_rows(df[["item_id", "label"]])


def _more_items(add: int, cls: str | None, seed: int) -> pd.DataFrame:
    """``add`` new pairable items labeled like the others (for a class: ``add`` items with it)."""
    if add == 0:
        return pd.DataFrame(columns=["item_id", "labeler_id", "label", "true_label"])
    big = simulate(EVEN, 12 * add + 100, 3, seed=seed)
    big["item_id"] = "new-" + big["item_id"]
    ids = big["item_id"].drop_duplicates()
    if cls is None:
        keep = ids.iloc[:add]
    else:
        has = big["label"].eq(cls).groupby(big["item_id"], sort=False).any()
        keep = has.index[: int(np.searchsorted(has.cumsum().to_numpy(), add)) + 1]
    return big[big["item_id"].isin(set(keep))]


@pytest.mark.parametrize(("cls", "width"), [(None, 0.1), ("c", 0.15)])
def test_items_needed_brings_the_interval_under_the_goal_in_a_resimulation(cls, width) -> None:
    hits, seeds = 0, range(20)
    for seed in seeds:
        now = simulate(EVEN, 150, 3, seed=seed)
        plan = items_needed(_profile(now), width, cls=cls, n_boot=400, seed=seed)
        assert plan["ci_width_now"] > width  # the goal is not met yet
        more = _more_items(plan["items_to_add"], cls, seed=10_000 + seed)
        after = items_needed(
            _profile(pd.concat([now, more])), width, cls=cls, n_boot=400, seed=seed
        )
        assert after["items_now"] == plan["items_now"] + plan["items_to_add"]
        hits += after["ci_width_now"] < width
    assert hits >= 0.8 * len(seeds)


def test_items_needed_reports_the_documented_keys() -> None:
    p = _profile(simulate(EVEN, 200, 3, seed=4))
    plan = items_needed(p, 0.5, n_boot=200)
    assert list(plan) == [
        "target",
        "value",
        "ci_low",
        "ci_high",
        "ci_width_now",
        "ci_width_goal",
        "items_now",
        "items_to_add",
    ]
    assert plan["target"] == "alpha" and plan["items_now"] == 200
    assert plan["items_to_add"] == 0  # already narrower than 0.5
    assert plan["ci_low"] <= plan["value"] <= plan["ci_high"]


def test_class_plan_counts_the_items_with_the_class() -> None:
    df = pd.DataFrame(
        [("i1", "x"), ("i1", "x"), ("i2", "x"), ("i2", "y"), ("i3", "y"), ("i3", "y"), ("i4", "x")],
        columns=["item_id", "label"],
    )
    plan = items_needed(_profile(df), 0.1, cls="x", n_boot=100)
    assert plan["target"] == "specific_agreement:x"
    assert plan["items_now"] == 2  # i4 has one label: not pairable
    assert plan["value"] == pytest.approx(2 / 3)  # o_xx = 2, n_x = 3


def test_specific_agreement_draws_center_on_the_value() -> None:
    p = _profile(simulate(EVEN, 300, 3, seed=5))
    draws = specific_agreement_draws(p, "a", n_boot=400, seed=0)
    value = items_needed(p, 1.0, cls="a", n_boot=10)["value"]
    assert abs(np.nanmedian(draws) - value) < 0.02


def test_every_class_drawn_at_once_is_each_class_drawn_alone() -> None:
    p = _profile(simulate(EVEN, 200, 3, seed=2))
    every = specific_agreement_draws_all(p, n_boot=300, seed=4)
    assert every.shape == (300, len(p.labels))
    for c, cls in enumerate(p.labels):
        alone = specific_agreement_draws(p, cls, n_boot=300, seed=4)
        np.testing.assert_array_equal(every[:, c], alone)
        given = items_needed(p, 0.05, cls=cls, n_boot=300, seed=4, draws=every[:, c])
        assert given == items_needed(p, 0.05, cls=cls, n_boot=300, seed=4)


def test_items_to_reach_scales_with_the_square_of_the_width_ratio() -> None:
    assert items_to_reach(100, 0.2, 0.1, margin=0.0) == 300
    assert items_to_reach(100, 0.2, 0.1) == 394  # ceil(100 * (0.2 / 0.09)^2) - 100
    assert items_to_reach(100, 0.05, 0.1) == 0


def test_items_needed_errors() -> None:
    p = _profile(simulate(EVEN, 50, 3, seed=1))
    with pytest.raises(InvalidArgument, match=r"^class 'q' not found. Classes: a, b, c$"):
        items_needed(p, 0.1, cls="q")
    with pytest.raises(
        InvalidArgument,
        match=r"^the interval width must be a number above 0 and at most 2; found 0$",
    ):
        items_needed(p, 0)
    single = profile_from_rows([("i1", "x"), ("i2", "y")])
    with pytest.raises(
        NotComputable,
        match=r"^the interval of alpha is undefined on this data \(0 pairable items\); label items "
        r"with two labels or more first$",
    ):
        items_needed(single, 0.1, n_boot=10)


def test_parse_overlap() -> None:
    assert parse_overlap("3..5") == (3, 4, 5)
    assert parse_overlap("7") == tuple(range(1, 8))
    with pytest.raises(
        InvalidArgument,
        match=r"^--overlap expects N or LOW..HIGH labels per item \(e.g. 1..7\); found 'x'$",
    ):
        parse_overlap("x")
    with pytest.raises(
        InvalidArgument, match=r"^--overlap expects labels per item between 1 and 20"
    ):
        parse_overlap("4..2")


# ---- the command ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def store_path(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("plan")
    data = simulate(EVEN, 300, 3, seed=11)[["item_id", "labeler_id", "label"]]
    csv = folder / "sim.csv"
    data.to_csv(csv, index=False)
    db = str(folder / "store.duckdb")
    assert main(["import", str(csv), "--dataset", "sim", "--db", db]) == 0
    return db


def test_plan_json(store_path, capsys) -> None:
    capsys.readouterr()
    args = ["plan", "sim", "--db", store_path, "--json", "--bootstrap", "200", "--draws", "2000"]
    assert main([*args, "--overlap", "1..6", "--ci-width", "0.05", "--target-accuracy", "0.9"]) == 0
    out = json.loads(capsys.readouterr().out)
    need = out["items_needed"]
    assert set(need) >= {"target", "ci_width_now", "ci_width_goal", "items_now", "items_to_add"}
    assert need["ci_width_goal"] == 0.05 and need["items_now"] == 300 and need["items_to_add"] > 0
    assert [r["labels_per_item"] for r in out["overlap"]] == [1, 2, 3, 4]
    assert out["model"]["left_out"] == [5, 6]
    row = out["overlap"][2]
    assert set(row) == {
        "labels_per_item",
        "majority_vote_accuracy",
        "dawid_skene_accuracy",
        "per_class",
    }
    assert [c["class"] for c in row["per_class"]] == ["a", "b", "c"]
    assert set(out["labels_needed"]) == {"target_accuracy", "class", "majority_vote", "dawid_skene"}


def test_plan_text_for_a_class(store_path, capsys) -> None:
    capsys.readouterr()
    args = ["plan", "sim", "--db", store_path, "--bootstrap", "200", "--draws", "2000"]
    assert main([*args, "--class", "b", "--target-accuracy", "0.5"]) == 0
    text = capsys.readouterr().out
    assert "specific_agreement:b = " in text
    assert "labels per item  majority vote  Dawid-Skene" in text
    assert "to reach 50.0% accuracy for class b: majority vote 1 labels per item" in text
    assert "(5, 6, 7 labels per item left out: only 4 labelers)" in text


def test_plan_errors_are_reported(store_path, capsys) -> None:
    assert main(["plan", "sim", "--db", store_path, "--overlap", "0..3"]) == 1
    assert capsys.readouterr().err == (
        "error: --overlap expects labels per item between 1 and 20, low before high; found '0..3'\n"
    )
    assert main(["plan", "sim", "--db", store_path, "--class", "zz"]) == 1
    assert capsys.readouterr().err == "error: class 'zz' not found. Classes: a, b, c\n"
