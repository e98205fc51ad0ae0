"""Notes beside the figures: each fires on data built to trigger it, none on clean data."""

from __future__ import annotations

import json

import ibis
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consistency.analysis import AnalysisOptions, analyze, clean_json, overall
from consistency.engine import profile_from_rows
from consistency.errors import InvalidArgument
from consistency.io import Source, read_source
from consistency.metrics.classes import per_class
from consistency.metrics.labelers import labelers
from consistency.metrics.slices import alpha_by_column
from consistency.notes import (
    NOTE_CODES,
    NOTE_RULES,
    NoteThresholds,
    add_notes,
    compute_notes,
    labeler_class_use,
    notes_for,
    notes_with_codes,
    parse_note_codes,
)
from consistency.store import Store

CLASSES = ("a", "b", "c")


# ---- generated datasets ------------------------------------------------------------------
def generate(
    items: int = 300,
    labelers: int = 4,
    priors: tuple[float, ...] = (0.4, 0.35, 0.25),
    accuracy: float = 0.9,
    seed: int = 0,
    classes: tuple[str, ...] = CLASSES,
) -> pd.DataFrame:
    """Items with a true class; every labeler labels every item, right with ``accuracy``.

    A wrong answer is another class chosen uniformly. Columns: item_id,
    labeler_id, label, camera (two cameras, "cam_1" and "cam_2").
    """
    rng = np.random.default_rng(seed)
    truth = rng.choice(len(classes), size=items, p=np.asarray(priors) / sum(priors))
    rows = []
    for i, t in enumerate(truth):
        for j in range(labelers):
            lab = t
            if rng.random() > accuracy:
                lab = (t + rng.integers(1, len(classes))) % len(classes)
            rows.append((f"u{i:04d}", f"l{j}", classes[lab], f"cam_{1 + i % 2}"))
    return pd.DataFrame(rows, columns=["item_id", "labeler_id", "label", "camera"])


def figures(df: pd.DataFrame, n_boot: int = 200) -> dict:
    """The figures the notes read, computed with the functions ``analyze`` uses.

    ``round`` rows are the per-camera alphas under another name, so the
    round figures are exercised too.
    """
    df = df.assign(label_value=np.nan)
    p = profile_from_rows(df)
    ann = ibis.memtable(df)
    opts = AnalysisOptions(n_boot=n_boot)
    slices = alpha_by_column(ann, "camera", n_boot=n_boot).assign(field="camera")
    result = {
        "dataset": {
            "items": p.items,
            "pairable_items": p.pairable_items,
            "unpairable_items": p.items - p.pairable_items,
        },
        **overall(p, opts),
        "per_class": per_class(p).to_dict("records"),
        "labelers": labelers(ann).to_dict("records"),
        "slices": slices.to_dict("records"),
        "rounds": slices.drop(columns="field")
        .rename(columns={"value": "round"})
        .to_dict("records"),
    }
    return clean_json(add_notes(result, ann=ann))


def clean() -> pd.DataFrame:
    return generate()


def few_items() -> pd.DataFrame:
    return generate(items=20)


def small_slice() -> pd.DataFrame:
    df = generate(items=200)
    tiny = df["item_id"].isin(df["item_id"].unique()[:20])
    return df.assign(camera=np.where(tiny, "cam_tiny", "cam_1"))


def rare_class() -> pd.DataFrame:
    df = generate()
    rare = df["item_id"].isin(df["item_id"].unique()[:2])
    return df.assign(label=np.where(rare, "rare", df["label"]))


def skewed_data() -> pd.DataFrame:
    return generate(priors=(0.94, 0.03, 0.03), accuracy=0.97)


def paradox() -> pd.DataFrame:
    """Nine items in ten 'ok' for all; on the rest, one labeler of three says 'defect'."""
    rows = []
    for i in range(300):
        for j in range(3):
            lab = "defect" if i % 10 == 0 and j == i % 3 else "ok"
            rows.append((f"u{i:04d}", f"l{j}", lab, f"cam_{1 + i % 2}"))
    return pd.DataFrame(rows, columns=["item_id", "labeler_id", "label", "camera"])


def habit() -> pd.DataFrame:
    """Labeler l0 turns most of its 'b' into 'a'."""
    df = generate(accuracy=0.95)
    rng = np.random.default_rng(5)
    flip = (df["labeler_id"] == "l0") & (df["label"] == "b") & (rng.random(len(df)) < 0.7)
    return df.assign(label=np.where(flip, "a", df["label"]))


def noisy_few() -> pd.DataFrame:
    return generate(items=40, labelers=3, accuracy=0.7, seed=3)


def single_labels() -> pd.DataFrame:
    df = generate()
    lone = df["item_id"].isin(df["item_id"].unique()[:100]) & (df["labeler_id"] != "l0")
    return df[~lone]


CASES = [
    ("few_units", few_items, "alpha"),
    ("few_units", small_slice, "slices:camera=cam_tiny"),
    ("few_units", small_slice, "rounds:cam_tiny"),
    ("sparse_class", rare_class, "per_class:rare"),
    ("skewed", skewed_data, "alpha"),
    ("kappa_paradox", paradox, "alpha"),
    ("unequal_use", habit, "labelers:l0"),
    ("unequal_use", habit, "alpha"),
    ("wide_interval", noisy_few, "alpha"),
    ("single_labeler_items", single_labels, "alpha"),
]


@pytest.fixture(scope="module")
def results() -> dict[str, dict]:
    makers = {fn.__name__: fn for _, fn, _ in CASES} | {"clean": clean}
    return {name: figures(make()) for name, make in makers.items()}


@pytest.mark.parametrize(("code", "make", "where"), CASES, ids=[f"{c[0]}-{c[2]}" for c in CASES])
def test_each_note_fires_on_data_built_for_it(results, code, make, where) -> None:
    result = results[make.__name__]
    assert code in [n["code"] for n in notes_for(result, where)]
    assert code in [n["code"] for n in result["notes"] if n["where"] == where]


@pytest.mark.parametrize("code", NOTE_CODES)
def test_each_note_stays_silent_on_clean_large_data(results, code) -> None:
    result = results["clean"]
    assert result["dataset"]["items"] == 300
    assert [n for n in result["notes"] if n["code"] == code] == []


def test_every_code_has_a_case_and_a_rule() -> None:
    assert {c[0] for c in CASES} == set(NOTE_CODES)
    assert [rule.__name__ for rule in NOTE_RULES] == list(NOTE_CODES)


def test_notes_beside_figures_are_the_top_level_notes(results) -> None:
    for result in results.values():
        beside = [{**n, "where": "alpha"} for n in result["alpha"]["notes"]]
        for figure, key in (
            ("per_class", "class"),
            ("labelers", "labeler_id"),
            ("rounds", "round"),
        ):
            for row in result[figure]:
                beside += [{**n, "where": f"{figure}:{row[key]}"} for n in row["notes"]]
        for row in result["slices"]:
            beside += [{**n, "where": f"slices:camera={row['value']}"} for n in row["notes"]]
        key = lambda n: (n["where"], n["code"], n["message"])  # noqa: E731
        assert sorted(beside, key=key) == sorted(result["notes"], key=key)
        json.dumps(result, allow_nan=False)


def test_the_paradox_data_has_high_agreement_and_low_alpha(results) -> None:
    r = results["paradox"]
    assert r["percent_agreement"] >= 0.8 > 0.4 > r["alpha"]["value"]


# ---- the words -------------------------------------------------------------------------
BASE = {
    "dataset": {"items": 400, "pairable_items": 400, "unpairable_items": 0},
    "alpha": {"value": 0.7, "ci_low": 0.65, "ci_high": 0.75},
    "percent_agreement": 0.85,
    "gwet_ac1": 0.8,
}


def _only(result: dict, code: str) -> list[dict]:
    return [n.to_dict() for n in compute_notes(result) if n.code == code]


def test_few_units_message() -> None:
    r = {**BASE, "dataset": {"items": 12, "pairable_items": 12, "unpairable_items": 0}}
    assert _only(r, "few_units") == [
        {
            "code": "few_units",
            "severity": "warning",
            "message": "alpha rests on 12 pairable items (fewer than 30): read it as a rough "
            "indication; label more items with two labels or more",
            "where": "alpha",
        }
    ]


def test_few_units_on_a_labeler_and_a_class() -> None:
    r = {
        **BASE,
        "labelers": [{"labeler_id": "ann", "agreement_n": 1}],
        "per_class": [
            {"class": "dent", "n": 40, "items": 20},
            {"class": "pit", "n": 3, "items": 2},
        ],
    }
    notes = _only(r, "few_units")
    assert [(n["where"], n["message"].split(":")[0]) for n in notes] == [
        ("labelers:ann", "this labeler's agreement rests on 1 pairable item (fewer than 30)"),
        ("per_class:dent", "this class's agreement rests on 20 pairable items (fewer than 30)"),
    ]


def test_sparse_class_message() -> None:
    r = {**BASE, "per_class": [{"class": "pit", "n": 6, "items": 3}]}
    assert _only(r, "sparse_class")[0]["message"] == (
        "class 'pit' has 3 items and 6 pairable values (fewer than 5): its per-class figures "
        "rest on too little to compare with other classes"
    )


def test_skewed_message() -> None:
    r = {**BASE, "per_class": [{"class": "ok", "share": 0.91}, {"class": "dent", "share": 0.09}]}
    assert _only(r, "skewed") == [
        {
            "code": "skewed",
            "severity": "info",
            "message": "class 'ok' holds 91% of the pairable values (more than 85%): "
            "chance-corrected figures (alpha, kappa) are unstable at this skew; read percent "
            "agreement (85.0%) and Gwet's AC1 (0.800) beside them",
            "where": "alpha",
        }
    ]


def test_kappa_paradox_message_overall_and_for_a_labeler() -> None:
    r = {
        **BASE,
        "alpha": {"value": 0.35},
        "percent_agreement": 0.92,
        "labelers": [
            {"labeler_id": "ann", "kappa_vs_consensus": 0.2, "agreement": 0.9},
            {"labeler_id": "bob", "kappa_vs_consensus": 0.2, "agreement": 0.5},
        ],
    }
    notes = _only(r, "kappa_paradox")
    assert [n["where"] for n in notes] == ["alpha", "labelers:ann"]
    assert notes[0]["message"] == (
        "alpha is 0.350 while percent agreement is 92.0%: when one class dominates, chance "
        "agreement is high and chance-corrected figures are low even with few disagreements "
        "(the kappa paradox); look at the per-class figures"
    )
    assert notes[1]["message"].startswith("kappa is 0.200 while agreement is 90.0%")


def test_kappa_paradox_thresholds_are_parameters() -> None:
    r = {**BASE, "alpha": {"value": 0.5}, "percent_agreement": 0.9}
    assert _only(r, "kappa_paradox") == []
    th = NoteThresholds(paradox_max_alpha=0.6)
    assert [n.code for n in compute_notes(r, th)] == ["kappa_paradox"]


def test_wide_interval_message_on_slices_and_rounds() -> None:
    r = {
        **BASE,
        "slices": [{"field": "camera", "value": "c1", "ci_low": 0.2, "ci_high": 0.5}],
        "rounds": [{"round": "2", "ci_low": 0.5, "ci_high": 0.6}],
    }
    notes = _only(r, "wide_interval")
    assert [n["where"] for n in notes] == ["slices:camera=c1"]
    assert notes[0]["message"] == (
        "the interval of alpha is 0.300 wide (0.200 to 0.500; wider than 0.2): differences "
        "smaller than that are not established; `consistency plan` says how many items would "
        "narrow it"
    )


def test_single_labeler_items_message() -> None:
    r = {**BASE, "dataset": {"items": 400, "pairable_items": 300, "unpairable_items": 100}}
    assert _only(r, "single_labeler_items")[0]["message"] == (
        "100 items of 400 (25%) have a single label and cannot be paired: the figure "
        "describes the other 300 only, which may not be like the rest"
    )


def test_unequal_use_message(results) -> None:
    notes = [n for n in results["habit"]["notes"] if n["code"] == "unequal_use"]
    assert [n["where"] for n in notes] == ["labelers:l0", "alpha"]
    assert notes[0]["message"] == (
        "labeler l0 gives 'b' to 13% of its labels where the other labelers of the same items "
        "give it 35%: check the guideline for 'b' with them"
    )
    assert notes[1]["message"] == (
        "labelers use the classes at clearly different rates (l0): alpha takes labelers as "
        "interchangeable, so part of the disagreement is a difference of habit, not of items; "
        "see those labelers"
    )


def test_missing_figures_give_no_notes_and_no_errors() -> None:
    r = {
        "dataset": {"items": 0, "pairable_items": 0},
        "alpha": {"value": None, "ci_low": float("nan"), "ci_high": None},
        "per_class": [{"class": "x", "share": None, "n": None, "items": None}],
        "labelers": [{"labeler_id": "a", "agreement": float("nan")}],
    }
    assert {n.code for n in compute_notes(r)} == {"few_units", "sparse_class"}


# ---- helpers for other parts --------------------------------------------------------------
def test_notes_for_computes_when_the_result_has_none() -> None:
    r = {**BASE, "dataset": {"items": 10, "pairable_items": 10, "unpairable_items": 0}}
    assert [n["code"] for n in notes_for(r, "alpha")] == ["few_units"]
    assert notes_for(r, "per_class:none") == []
    assert set(notes_for(r, "alpha")[0]) == {"code", "severity", "message"}


def test_parse_note_codes() -> None:
    assert parse_note_codes("few_units,skewed,few_units") == ("few_units", "skewed")
    assert parse_note_codes("all") == NOTE_CODES
    with pytest.raises(InvalidArgument, match="^unknown note code 'few'. Codes: few_units, "):
        parse_note_codes("few,skewed")
    with pytest.raises(InvalidArgument, match="unknown note code none"):
        parse_note_codes(" , ")


def test_notes_with_codes(results) -> None:
    got = notes_with_codes(results["few_items"], ["few_units"])
    assert got and {n["code"] for n in got} == {"few_units"}
    assert notes_with_codes(results["clean"], ["few_units", "skewed"]) == []


def test_add_notes_does_not_change_its_input() -> None:
    r = {**BASE, "per_class": [{"class": "pit", "n": 1, "items": 1}]}
    before = json.dumps(r)
    out = add_notes(r)
    assert json.dumps(r) == before
    assert out["per_class"][0]["notes"][0]["code"] == "sparse_class"


# ---- the class use behind unequal_use ---------------------------------------------------
def _use_by_hand(df: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for who, mine in df.groupby("labeler_id"):
        n, labels, expected = 0, {}, {}
        for item, own in mine.groupby("item_id"):
            all_ = df[df["item_id"] == item]
            others = all_[all_["labeler_id"] != who]
            if others.empty:
                continue
            n += len(own)
            for c in all_["label"].unique():
                labels[c] = labels.get(c, 0) + int((own["label"] == c).sum())
                share = (others["label"] == c).mean()
                expected[c] = expected.get(c, 0.0) + len(own) * share
        rows += [(who, c, n, labels[c] / n, expected[c] / n) for c in labels]
    out = pd.DataFrame(rows, columns=["labeler_id", "class", "n", "rate", "others_rate"])
    out = out.astype({"rate": float, "others_rate": float})
    return out.sort_values(["labeler_id", "class"]).reset_index(drop=True)


@settings(max_examples=20, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 5), st.sampled_from("xyz"), st.sampled_from("pqr")),
        min_size=1,
        max_size=25,
    )
)
def test_labeler_class_use_matches_a_direct_count(rows) -> None:
    df = pd.DataFrame(rows, columns=["item_id", "labeler_id", "label"]).astype({"item_id": str})
    got = labeler_class_use(ibis.memtable(df))
    want = _use_by_hand(df)
    assert (
        got[["labeler_id", "class", "n"]].values.tolist()
        == want[["labeler_id", "class", "n"]].values.tolist()
    )
    np.testing.assert_allclose(got["rate"].astype(float), want["rate"])
    np.testing.assert_allclose(got["others_rate"].astype(float), want["others_rate"])
    np.testing.assert_allclose(
        got["gap"].astype(float), want["rate"] - want["others_rate"], atol=1e-12
    )


# ---- wiring into analyze ---------------------------------------------------------------------
def test_analyze_carries_notes(tmp_path) -> None:
    df = few_items()[["item_id", "labeler_id", "label"]]
    store = Store(tmp_path / "s.duckdb")
    data = df.to_csv(index=False).encode()
    store.import_result(
        read_source(Source("few.csv", data)), file_name="few.csv", data=data, dataset="few"
    )
    result = analyze(store, "few", options=AnalysisOptions(n_boot=100))
    assert [n["code"] for n in result["alpha"]["notes"]][:1] == ["few_units"]
    assert all("notes" in row for row in result["per_class"] + result["labelers"])
    assert {n["where"] for n in result["notes"]} >= {"alpha"}
    quiet = analyze(
        store,
        "few",
        options=AnalysisOptions(n_boot=100),
        note_thresholds=NoteThresholds(min_units=1, max_ci_width=2.0),
    )
    assert "few_units" not in [n["code"] for n in quiet["alpha"]["notes"]]
