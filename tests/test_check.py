"""The quality gate: thresholds on hand-made results, its words, and a pipeline run on two datasets."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consistency.check import (
    THRESHOLDS,
    CheckResult,
    Gate,
    check,
    format_check,
    gate_from,
)
from consistency.cli import main
from consistency.errors import InvalidArgument

DOCS = Path(__file__).resolve().parents[1] / "docs" / "pipelines.md"


def result(**overrides: object) -> dict:
    """A small analysis result with every figure the gate reads."""
    base: dict = {
        "dataset": {"dataset": "toy", "pairable_items": 40},
        "view": "each item's latest round",
        "alpha": {"value": 0.72, "ci_low": 0.61, "ci_high": 0.8},
        "per_class": [
            {"class": "dent", "specific_agreement": 0.81},
            {"class": "scratch", "specific_agreement": 0.55},
        ],
        "labelers": [
            {"labeler_id": "ann", "agreement": 0.9, "fast_share": 0.0},
            {"labeler_id": "bob", "agreement": 0.7, "fast_share": 0.25},
        ],
        "consensus": {"majority_vote": {"items": 40, "ties": 2, "gold_accuracy": 0.95}},
        "notes": [
            {
                "code": "few_units",
                "severity": "warning",
                "message": "alpha rests on 40 pairable items",
                "where": "alpha",
            }
        ],
    }
    base.update(overrides)
    return base


# ---- one threshold at a time ------------------------------------------------------------
def test_every_threshold_met_passes_with_one_ok_line_each() -> None:
    gate = Gate(
        min_alpha=0.7,
        min_alpha_ci_low=0.6,
        min_class_agreement=0.5,
        min_labeler_agreement=0.7,
        max_fast_share=0.25,
        max_tie_share=0.05,
        min_gold_accuracy=0.95,
        min_pairable_items=40,
        fail_on_notes=("skewed",),
    )
    outcome = check(result(), gate)
    assert outcome.passed
    assert outcome.failures == []
    assert format_check(outcome).splitlines() == [
        "check of dataset 'toy' (each item's latest round)",
        "ok: alpha is 0.720, at least --min-alpha 0.700",
        "ok: the low end of alpha's interval is 0.610, at least --min-alpha-ci-low 0.600",
        "ok: all 2 figures meet --min-class-agreement (closest: the specific agreement of "
        "class 'scratch' is 55.0%, at least --min-class-agreement 50.0%)",
        "ok: all 2 figures meet --min-labeler-agreement (closest: the agreement of labeler "
        "'bob' is 70.0%, at least --min-labeler-agreement 70.0%)",
        "ok: all 2 figures meet --max-fast-share (closest: the share of fast answers of "
        "labeler 'bob' is 25.0%, at most --max-fast-share 25.0%)",
        "ok: the share of tied majority votes is 5.0%, at most --max-tie-share 5.0%",
        "ok: the majority vote's accuracy on gold items is 95.0%, at least "
        "--min-gold-accuracy 95.0%",
        "ok: the number of pairable items is 40, at least --min-pairable-items 40",
        "ok: no note skewed on any figure",
        "result: PASSED (9 thresholds met)",
    ]


def test_failing_figures_each_get_a_failed_line_with_figure_and_limit() -> None:
    outcome = check(result(), Gate(min_alpha=0.75, min_class_agreement=0.6, max_fast_share=0.2))
    assert not outcome.passed
    assert outcome.failed_thresholds == [
        "--min-alpha",
        "--min-class-agreement",
        "--max-fast-share",
    ]
    assert format_check(outcome).splitlines() == [
        "check of dataset 'toy' (each item's latest round)",
        "FAILED: alpha is 0.720, below --min-alpha 0.750",
        "FAILED: the specific agreement of class 'scratch' is 55.0%, below "
        "--min-class-agreement 60.0%",
        "FAILED: the share of fast answers of labeler 'bob' is 25.0%, above --max-fast-share 20.0%",
        "result: FAILED (3 of 3 thresholds not met)",
    ]


def test_a_figure_that_cannot_be_computed_fails_its_threshold() -> None:
    r = result(
        consensus={"majority_vote": {"items": 40, "ties": 0, "gold_accuracy": None}},
        labelers=[
            {"labeler_id": "ann", "agreement": 0.9, "fast_share": None},
            {"labeler_id": "bob", "agreement": 0.8, "fast_share": None},
        ],
    )
    outcome = check(r, Gate(min_gold_accuracy=0.9, max_fast_share=0.1))
    assert [f.message for f in outcome.failures] == [
        "the share of fast answers of every labeler cannot be computed (no answer times); "
        "--max-fast-share 10.0% is not verified",
        "the majority vote's accuracy on gold items cannot be computed (no gold labels); "
        "--min-gold-accuracy 90.0% is not verified",
    ]
    assert [f.value for f in outcome.failures] == [None, None]


def test_rounding_never_shows_a_failing_figure_equal_to_its_limit() -> None:
    r = result(alpha={"value": 0.59996, "ci_low": 0.5, "ci_high": 0.7})
    (finding,) = check(r, Gate(min_alpha=0.6)).findings
    assert not finding.passed
    assert finding.message == "alpha is 0.59996, below --min-alpha 0.6"


def test_notes_named_by_fail_on_notes_fail_the_gate_where_they_are() -> None:
    outcome = check(result(), Gate(fail_on_notes=("few_units", "skewed")))
    assert [f.message for f in outcome.failures] == [
        "note few_units on alpha: alpha rests on 40 pairable items"
    ]
    assert outcome.failures[0].target == "alpha"
    assert gate_from({"fail_on_notes": "all"}).fail_on_notes[0] == "few_units"


def test_outcome_as_json_lists_every_finding() -> None:
    outcome = check(result(), Gate(min_alpha=0.8, min_pairable_items=10))
    d = outcome.to_dict()
    assert json.loads(json.dumps(d, allow_nan=False)) == d
    assert d["passed"] is False
    assert d["thresholds"] == ["--min-alpha", "--min-pairable-items"]
    assert d["failed_thresholds"] == ["--min-alpha"]
    assert [
        (f["threshold"], f["target"], f["value"], f["limit"], f["passed"]) for f in d["findings"]
    ] == [
        ("min_alpha", "alpha", 0.72, 0.8, False),
        ("min_pairable_items", "the number of pairable items", 40.0, 10.0, True),
    ]


# ---- the gate's own errors ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"min_class_agreement": 60},
            "--min-class-agreement must be between 0 and 1; found 60 (give shares as "
            "fractions, e.g. 0.6 for 60%)",
        ),
        ({"min_alpha": 1.5}, "--min-alpha must be between -1 and 1; found 1.5"),
        (
            {"max_fast_share": float("nan")},
            "--max-fast-share must be between 0 and 1; found nan (give shares as fractions, "
            "e.g. 0.6 for 60%)",
        ),
        ({"min_pairable_items": -3}, "--min-pairable-items must be at least 0; found -3"),
        (
            {"fail_on_notes": ("few_units", "loud")},
            "unknown note code 'loud'. Codes: few_units, sparse_class, skewed, kappa_paradox, "
            "unequal_use, wide_interval, single_labeler_items (or all)",
        ),
    ],
)
def test_gate_rejects_limits_out_of_range_in_words(kwargs: dict, message: str) -> None:
    with pytest.raises(InvalidArgument, match=f"^{re.escape(message)}$"):
        Gate(**kwargs)


def test_a_gate_without_threshold_is_refused_with_the_options() -> None:
    message = (
        "give at least one threshold: --min-alpha, --min-alpha-ci-low, --min-class-agreement, "
        "--min-labeler-agreement, --max-fast-share, --max-tie-share, --min-gold-accuracy, "
        "--min-pairable-items or --fail-on-notes CODES"
    )
    with pytest.raises(InvalidArgument, match=f"^{re.escape(message)}$"):
        check(result(), Gate())


@settings(max_examples=60, deadline=None)
@given(
    value=st.floats(0, 1),
    limit=st.floats(0, 1),
    name=st.sampled_from([t.name for t in THRESHOLDS if t.name != "min_pairable_items"]),
)
def test_pass_means_at_least_for_min_and_at_most_for_max(
    value: float, limit: float, name: str
) -> None:
    r = result(
        alpha={"value": value, "ci_low": value, "ci_high": 1.0},
        per_class=[{"class": "c", "specific_agreement": value}],
        labelers=[{"labeler_id": "l", "agreement": value, "fast_share": value}],
        consensus={"majority_vote": {"items": 1, "ties": value, "gold_accuracy": value}},
    )
    (finding,) = check(r, Gate(**{name: limit})).findings
    assert finding.passed == (value >= limit if name.startswith("min") else value <= limit)
    word = ("at least" if name.startswith("min") else "at most") if finding.passed else None
    if word:
        assert f", {word} --" in finding.message


def test_every_threshold_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    missing = [t.option for t in THRESHOLDS if f"`{t.option}" not in text]
    assert missing == []
    assert "`--fail-on-notes" in text
    assert "FAILED: " in text and "result: PASSED" in text


# ---- a pipeline step: check a good and a bad dataset -------------------------------------
GOOD = ["dent", "scratch", "ok"]


def _dataset(path: Path, disagree_every: int) -> Path:
    """60 items, 3 labelers; every ``disagree_every``-th item has one dissenting label."""
    lines = ["item_id,labeler_id,label,duration_s"]
    for i in range(60):
        label = GOOD[i % 3]
        for j, labeler in enumerate(("ann", "bob", "cy")):
            given = GOOD[(i + 1) % 3] if j == 2 and i % disagree_every == 0 else label
            lines.append(f"item{i:03d},{labeler},{given},{5 + j}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def pipeline_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pipeline")
    db = folder / "store.duckdb"
    for name, every in (("good", 20), ("bad", 2)):
        source = _dataset(folder / f"{name}.csv", every)
        assert main(["import", str(source), "--dataset", name, "--db", str(db)]) == 0
    return db


GATE = ["--min-alpha", "0.8", "--min-class-agreement", "0.7", "--max-fast-share", "0.1"]


def run(capsys: pytest.CaptureFixture[str], args: list[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_pipeline_check_passes_the_good_dataset(pipeline_db: Path, capsys) -> None:
    code, out, err = run(
        capsys, ["check", "good", "--db", str(pipeline_db), "--bootstrap", "200", *GATE]
    )
    assert (code, err) == (0, "")
    assert "FAILED" not in out
    assert out.splitlines()[-1] == "result: PASSED (3 thresholds met)"


def test_pipeline_check_fails_the_bad_dataset_naming_each_threshold(
    pipeline_db: Path, capsys
) -> None:
    code, out, err = run(
        capsys, ["check", "bad", "--db", str(pipeline_db), "--bootstrap", "200", *GATE]
    )
    assert (code, err) == (1, "")
    failed = [line for line in out.splitlines() if line.startswith("FAILED: ")]
    assert failed[0].startswith("FAILED: alpha is 0.")
    assert failed[0].endswith(", below --min-alpha 0.800")
    assert any("the specific agreement of class 'dent'" in line for line in failed)
    assert "ok: all 3 figures meet --max-fast-share" in out
    assert out.splitlines()[-1] == "result: FAILED (2 of 3 thresholds not met)"


def test_pipeline_check_json_for_machines(pipeline_db: Path, capsys) -> None:
    code, out, _ = run(
        capsys,
        ["check", "bad", "--db", str(pipeline_db), "--bootstrap", "200", "--json", *GATE],
    )
    d = json.loads(out)
    assert code == 1
    assert d["passed"] is False
    assert d["failed_thresholds"] == ["--min-alpha", "--min-class-agreement"]
    assert {f["option"] for f in d["findings"]} == {
        "--min-alpha",
        "--min-class-agreement",
        "--max-fast-share",
    }


def test_pipeline_check_of_a_file_target(pipeline_db: Path, tmp_path: Path, capsys) -> None:
    source = _dataset(tmp_path / "fresh.csv", 20)
    code, out, _ = run(capsys, ["check", str(source), "--bootstrap", "200", "--min-alpha", "0.8"])
    assert code == 0
    assert out.splitlines()[0] == "check of dataset 'fresh' (each item's latest round)"


def test_errors_exit_1_with_nothing_on_stdout(pipeline_db: Path, capsys) -> None:
    code, out, err = run(capsys, ["check", "nope", "--db", str(pipeline_db), "--min-alpha", "0.5"])
    assert (code, out) == (1, "")
    assert err == "error: dataset 'nope' not found in the store. Datasets: good, bad\n"
    code, out, err = run(capsys, ["check", "good", "--db", str(pipeline_db)])
    assert (code, out) == (1, "")
    assert err.startswith("error: give at least one threshold: --min-alpha, ")


def test_outcome_type_is_what_the_library_returns(pipeline_db: Path) -> None:
    from consistency.analysis import AnalysisOptions, analyze
    from consistency.store import Store

    store = Store(pipeline_db, read_only=True)
    try:
        outcome = check(
            analyze(store, "good", options=AnalysisOptions(n_boot=200)), Gate(min_alpha=0.8)
        )
    finally:
        store.close()
    assert isinstance(outcome, CheckResult)
    assert outcome.dataset == "good"
    assert outcome.findings[0].value is not None and outcome.findings[0].value > 0.8
