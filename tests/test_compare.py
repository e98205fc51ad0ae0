"""Round comparison: the same figures as the metrics, paired intervals that behave, flips, messages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consistency.cli import main
from consistency.compare import (
    NO_CLEAR_CHANGE,
    VERDICTS,
    compare_rounds,
    latest_round_change,
    paired_comparison,
    paired_counts,
)
from consistency.engine import profile_from_rows
from consistency.errors import InvalidArgument, NotComputable
from consistency.metrics.agreement import percent_agreement
from consistency.metrics.alpha import LEVELS, alpha
from consistency.metrics.classes import per_class
from consistency.schema import ImportResult
from consistency.store import Store

LABELS = ("1", "2", "3", "5")


def counts_of(rows: list[tuple[str, str]], items: list[str], labels: tuple[str, ...]) -> np.ndarray:
    return np.array(
        [[sum(1 for i, lab in rows if i == it and lab == c) for c in labels] for it in items]
    )


@st.composite
def two_rounds(draw: st.DrawFn) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(item, label) rows of the same items in two rounds; every item has a label in each."""
    n = draw(st.integers(2, 8))

    def round_rows() -> list[tuple[str, str]]:
        return [
            (f"i{i}", draw(st.sampled_from(LABELS)))
            for i in range(n)
            for _ in range(draw(st.integers(1, 4)))
        ]

    return round_rows(), round_rows()


@settings(max_examples=60, deadline=None)
@given(two_rounds(), st.sampled_from(LEVELS))
def test_each_round_gets_the_figures_of_the_metrics(
    rounds: tuple[list[tuple[str, str]], list[tuple[str, str]]], level: str
) -> None:
    rows_a, rows_b = rounds
    items = sorted({i for i, _ in rows_a})
    pc = paired_counts(LABELS, counts_of(rows_a, items, LABELS), counts_of(rows_b, items, LABELS))
    result = paired_comparison(pc, level, n_boot=5)  # type: ignore[arg-type]
    assert result["items_common"] == len(items)
    for key, rows in (("from", rows_a), ("to", rows_b)):
        p = profile_from_rows(rows)
        expected = alpha(p, level)  # type: ignore[arg-type]
        got = result["alpha"][key]
        assert (np.isnan(got) and np.isnan(expected)) or got == pytest.approx(expected, abs=1e-12)
        pa = percent_agreement(p)
        assert (np.isnan(pa) and np.isnan(result["percent_agreement"][key])) or result[
            "percent_agreement"
        ][key] == pytest.approx(pa, abs=1e-12)
        specific = per_class(p).set_index("class")["specific_agreement"]
        for row in result["per_class"]:
            if row["class"] in specific.index and np.isfinite(specific[row["class"]]):
                assert row[key] == pytest.approx(specific[row["class"]], abs=1e-12)


def test_identical_rounds_change_nothing() -> None:
    rng = np.random.default_rng(3)
    counts = rng.multinomial(4, [0.5, 0.2, 0.2, 0.1], size=150)
    result = paired_comparison(paired_counts(LABELS, counts, counts), n_boot=400, seed=1)
    for figure in [result["alpha"], result["percent_agreement"], *result["per_class"]]:
        assert figure["delta"] == 0.0
        assert figure["ci_low"] <= 0.0 <= figure["ci_high"]
        assert figure["verdict"] == NO_CLEAR_CHANGE
    assert VERDICTS == ("improved", "worse", "no clear change")


def population_alpha(error: float, k: int) -> float:
    """Nominal alpha of many items whose labels are right with probability 1 - error.

    The true class is uniform over k classes; a wrong label is uniform over the
    other k - 1. Two labels of one item agree with probability
    (1 - e)^2 + e^2 / (k - 1); labels of two items with probability 1 / k.
    """
    agree = (1 - error) ** 2 + error**2 / (k - 1)
    return (agree - 1 / k) / (1 - 1 / k)


def simulated_rounds(
    seed: int, errors: tuple[float, float], n_items: int = 200, k: int = 3
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = rng.integers(k, size=n_items)
    out = []
    for error in errors:
        labels = np.repeat(truth[:, None], 3, axis=1)
        wrong = rng.random(labels.shape) < error
        shift = rng.integers(1, k, size=labels.shape)
        labels = np.where(wrong, (labels + shift) % k, labels)
        out.append(np.stack([(labels == c).sum(axis=1) for c in range(k)], axis=1))
    return out[0], out[1]


def test_a_planted_change_is_recovered_within_its_interval() -> None:
    errors = (0.45, 0.25)
    planted = population_alpha(errors[1], 3) - population_alpha(errors[0], 3)
    covered, improved = 0, 0
    seeds = range(100)
    for seed in seeds:
        a, b = simulated_rounds(seed, errors)
        result = paired_comparison(paired_counts(("x", "y", "z"), a, b), n_boot=200, seed=seed)
        change = result["alpha"]
        covered += change["ci_low"] <= planted <= change["ci_high"]
        improved += change["verdict"] == "improved"
    assert covered >= 0.9 * len(seeds)
    assert improved >= 0.9 * len(seeds)


def test_a_worse_round_is_called_worse() -> None:
    a, b = simulated_rounds(7, (0.1, 0.5))
    result = paired_comparison(paired_counts(("x", "y", "z"), a, b), n_boot=300)
    assert result["alpha"]["verdict"] == "worse" and result["alpha"]["ci_high"] < 0
    assert {r["verdict"] for r in result["per_class"]} == {"worse"}


# ---- on a store -------------------------------------------------------------------------
def add_round(
    store: Store, dataset: str, rows: list[tuple[str, str, str]], round_: str, name: str
) -> None:
    ann = pd.DataFrame(rows, columns=["item_id", "labeler_id", "label"])
    store.import_result(
        ImportResult("long", ann), file_name=name, data=name.encode(), dataset=dataset, round=round_
    )


def first_round(n: int = 60) -> list[tuple[str, str, str]]:
    labels = ["cat", "dog", "bird"]
    return [
        (f"i{i:02d}", f"w{w}", labels[i % 3] if (i + w) % 4 else labels[(i + 1) % 3])
        for i in range(n)
        for w in range(3)
    ]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "c.duckdb")
    add_round(s, "pets", first_round(), "1", "round1.csv")
    yield s
    s.close()


def test_compare_uses_the_common_items_and_lists_the_flips(store: Store) -> None:
    labels = ["cat", "dog", "bird"]
    again = [(f"i{i:02d}", f"v{w}", labels[i % 3]) for i in range(30) for w in range(3)]
    again += [(f"new{i}", f"v{w}", "cat") for i in range(5) for w in range(3)]
    again = [(i, w, "bird" if i == "i00" else lab) for i, w, lab in again]  # i00: cat -> bird
    add_round(store, "pets", again, "2", "round2.csv")
    c = compare_rounds(store, "pets", "1", "2", n_boot=200)
    assert (c["items_common"], c["items_from"], c["items_to"]) == (30, 60, 35)
    common = [(i, lab) for i, _, lab in first_round() if int(i[1:]) < 30]
    assert c["alpha_from"] == pytest.approx(alpha(profile_from_rows(common)))
    assert c["alpha_to"] == pytest.approx(
        alpha(profile_from_rows([(i, lab) for i, _, lab in again if i.startswith("i")]))
    )
    assert c["verdict"] == "improved"
    assert c["flips"] == [{"item_id": "i00", "from_label": "cat", "to_label": "bird"}]
    assert c["flip_counts"] == [{"from_label": "cat", "to_label": "bird", "items": 1}]
    from consistency.analysis import AnalysisOptions

    assert latest_round_change(store, "pets", options=AnalysisOptions(n_boot=200)) == c


def test_round_change_in_analyze(store: Store) -> None:
    from consistency.analysis import AnalysisOptions, analyze

    options = AnalysisOptions(n_boot=50)
    assert analyze(store, "pets", options=options).get("round_change") is None  # one round
    assert latest_round_change(store, "pets") is None
    add_round(
        store,
        "pets",
        [(i, w.replace("w", "v"), lab) for i, w, lab in first_round(20)],
        "2",
        "r2.csv",
    )
    result = analyze(store, "pets", options=options)
    assert result["round_change"] == compare_rounds(store, "pets", "1", "2", n_boot=50)
    assert result["round_change"]["alpha_delta"] == 0.0  # the same labels by other people
    assert result["round_change"]["verdict"] == "no clear change"


def test_bad_comparisons(store: Store) -> None:
    add_round(store, "pets", [("z1", "a", "cat"), ("z1", "b", "dog")], "3", "other.csv")
    with pytest.raises(NotComputable) as err:
        compare_rounds(store, "pets", "1", "3")
    assert str(err.value) == (
        "rounds 1 and 3 share no items: round 1 has 60 items, round 3 has 1, none labeled in "
        "both. Compare needs the same items labeled again (import the relabeled export with "
        "--round, keeping the item ids)"
    )
    with pytest.raises(
        InvalidArgument, match=r"^round '9' not found in dataset 'pets'. Rounds: 1, 3$"
    ):
        compare_rounds(store, "pets", "1", "9")
    with pytest.raises(
        InvalidArgument, match=r"^compare needs two different rounds; found round '1' twice$"
    ):
        compare_rounds(store, "pets", "1", "1")
    assert latest_round_change(store, "pets") is None  # no common item: no round change


def test_compare_command(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    add_round(store, "pets", [(i, w, "cat") for i, w, _ in first_round(12)], "2", "r2.csv")
    db = store.path
    store.close()
    assert main(["compare", "pets", "--rounds", "1", "2", "--bootstrap", "100", "--db", db]) == 0
    out = capsys.readouterr().out.splitlines()
    assert (
        out[0]
        == "round 1 -> round 2 on 12 items labeled in both (95% paired bootstrap intervals, 100 draws)"
    )
    assert out[1].startswith("  alpha (nominal): ")
    assert any(line.startswith("  cat ") for line in out)
    assert out[-1].startswith("    ") and " -> cat: " in out[-1]
    assert main(["compare", "pets", "--rounds", "1", "4", "--db", db]) == 1
    assert capsys.readouterr().err == "error: round '4' not found in dataset 'pets'. Rounds: 1, 2\n"
