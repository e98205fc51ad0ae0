"""The Labelers page: its figures without Streamlit, then the page under AppTest."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from consistency.analysis import AnalysisOptions
from consistency.store import Store, ViewFilter
from consistency.ui import labelers as lab

from .planted import (  # noqa: F401 (fixtures)
    DATASET,
    open_page,
    plain,
    planted_db_fixture,
    planted_store_fixture,
    texts,
)

LABELERS = "pages/5_Labelers.py"
OPTIONS = AnalysisOptions(n_boot=50)
LATEST = ViewFilter()


# ---- figures ----------------------------------------------------------------------------
def test_summary_has_every_labeler_and_the_notes(planted_store: Store) -> None:
    table = lab.labeler_summary(planted_store, DATASET, LATEST, OPTIONS)
    assert table["labeler_id"].tolist() == ["a", "b", "c", "d"]
    # d labeled only the cam_C items in their latest round (round 1)
    assert table["n"].tolist() == [60, 60, 60, 30]
    notes = dict(zip(table["labeler_id"], table["notes"], strict=True))
    assert [n["code"] for n in notes["d"]] == ["unequal_use"]
    assert notes["d"][0]["message"].startswith("labeler d gives 'ok' to 100% of its labels")
    assert notes["a"] == notes["b"] == []


def test_highlights_name_the_careless_labeler(planted_store: Store) -> None:
    table = lab.labeler_summary(planted_store, DATASET, LATEST, OPTIONS)
    assert lab.labeler_highlights(table) == [
        "d agrees with the other labelers on 33% of its labels; the median of the others is 81%.",
        "a is right on 50% [24%, 76%] of the gold items; the median of the others is 100%.",
        "d is right on 40% [17%, 69%] of the gold items; the median of the others is 100%.",
        "d gives 100% of its timed answers in less than 3 s.",
    ]


def test_highlights_stay_quiet_when_labelers_are_alike() -> None:
    table = pd.DataFrame(
        {
            "labeler_id": ["a", "b", "c"],
            "agreement": [0.80, 0.75, 0.72],
            "gold_accuracy": [np.nan] * 3,
            "gold_ci_low": [np.nan] * 3,
            "gold_ci_high": [np.nan] * 3,
            "fast_share": [np.nan, 0.1, 0.2],
        }
    )
    assert lab.labeler_highlights(table) == []


def test_display_table_formats_gold_with_its_interval(planted_store: Store) -> None:
    shown = lab.labeler_display(lab.labeler_summary(planted_store, DATASET, LATEST, OPTIONS))
    assert shown["gold accuracy"].tolist() == [
        "50% [24%, 76%]",
        "100% [72%, 100%]",
        "100% [72%, 100%]",
        "40% [17%, 69%]",
    ]
    assert shown["fast answers"].tolist() == [0.0, 0.0, 0.0, 100.0]
    assert shown["notes"].tolist() == ["", "", "", "unequal class use"]


def test_kappa_matrix_is_symmetric_with_blank_missing_pairs(planted_store: Store) -> None:
    pairs = lab.pair_table(planted_store, DATASET, LATEST, OPTIONS)
    matrix = lab.kappa_matrix(pairs, ["a", "b", "c", "d", "e"])
    assert matrix.loc["a", "b"] == matrix.loc["b", "a"] == pytest.approx(0.625)
    assert matrix.loc["b", "c"] == 1.0
    assert np.isnan(matrix.loc["a", "a"]) and matrix.loc["e"].isna().all()
    shared = lab.kappa_matrix(pairs, ["a", "d"], "shared_items")
    assert shared.loc["a", "d"] == 30


def test_heatmap_writes_values_in_cells_and_leaves_gaps() -> None:
    matrix = pd.DataFrame([[np.nan, 0.5], [0.5, np.nan]], index=["a", "b"], columns=["a", "b"])
    fig = lab.heatmap(matrix, x_title="x", y_title="y", hover="%{z}")
    trace = fig.data[0]
    assert [list(row) for row in trace.text] == [["", "0.50"], ["0.50", ""]]
    assert (trace.zmin, trace.zmax) == (0.0, 1.0)
    big = pd.DataFrame(np.zeros((25, 25)))
    assert lab.heatmap(big, x_title="", y_title="", hover="").data[0].text is None


def test_confusions_rows_sum_to_one_and_support_counts_labels(planted_store: Store) -> None:
    fit = lab.labeler_confusions(planted_store, DATASET, LATEST)
    assert sorted(fit.confusions) == ["a", "b", "c", "d"]
    for matrix in fit.confusions.values():
        assert np.allclose(matrix.sum(axis=1), 1.0)
    assert fit.support["d"].sum() == pytest.approx(30)
    assert fit.support["a"].sum() == pytest.approx(60)
    # d says ok whatever the item is
    assert fit.confusions["d"]["ok"].min() > 0.99


def test_confusion_highlights_of_the_careless_labeler(planted_store: Store) -> None:
    fit = lab.labeler_confusions(planted_store, DATASET, LATEST)
    assert lab.confusion_highlights(fit.confusions["d"], fit.support["d"]) == [
        "labels 'ok' 100% of the items whose true class is 'dent' (about 10 items)",
        "labels 'ok' 100% of the items whose true class is 'crack' (about 10 items)",
    ]
    assert lab.confusion_highlights(fit.confusions["b"], fit.support["b"]) == []


def test_confusion_highlights_skip_rows_with_few_items() -> None:
    conf = pd.DataFrame([[0.5, 0.5], [0.5, 0.5]], index=["x", "y"], columns=["x", "y"])
    support = pd.Series({"x": 4.0, "y": 6.0})
    assert lab.confusion_highlights(conf, support) == [
        "labels 'x' 50% of the items whose true class is 'y' (about 6 items)"
    ]


def test_disputes_are_items_of_the_labeler_worst_first(planted_store: Store) -> None:
    disputes = lab.labeler_disputes(planted_store, DATASET, LATEST, "a", limit=5)
    assert disputes.columns.tolist() == ["item_id", "labels", "disagreement", "given", "majority"]
    assert disputes["disagreement"].is_monotonic_decreasing
    first = disputes.iloc[0]
    assert (first["item_id"], first["given"], first["majority"]) == ("p34", "crack", "dent")
    none = lab.labeler_disputes(planted_store, DATASET, ViewFilter(rounds=("2",)), "b")
    assert none.empty and none.columns.tolist() == disputes.columns.tolist()


# ---- the page ---------------------------------------------------------------------------
def test_page_runs_on_a_dataset_without_pairs(db_path: Path) -> None:
    at = open_page(LABELERS, dataset="defects")
    assert not at.exception and not at.error
    assert at.dataframe[0].value["labeler"].tolist() == ["ann", "bob", "cy"]
    assert "No two labelers share 10 items or more in this view" in at.info[0].value
    assert at.info[1].value.startswith("Choose a labeler in the sidebar")


def test_page_with_a_labeler_in_the_url(planted_db: Path) -> None:
    at = open_page(LABELERS, dataset=DATASET, labeler="d")
    assert not at.exception and not at.error
    assert at.selectbox(key="_v_labeler").value == "d"
    assert at.subheader[-1].value == "Labeler d"
    assert {m.label: m.value for m in at.metric} == {
        "Agreement with the others": "33%",
        "Gold accuracy": "40% [17%, 69%]",
        "Kappa vs consensus": "0.00",
        "Answers under 3 s": "100%",
    }
    captions = [plain(c) for c in texts(at.caption)]
    assert any(c.startswith(":material/info: Labeler d gives 'ok' to 100%") for c in captions)
    markdown = [plain(m) for m in texts(at.markdown)]
    assert ":material/arrow_right: d gives 100% of its timed answers in less than 3 s." in markdown
    assert (
        ":material/arrow_right: labels 'ok' 100% of the items whose true class is 'dent' "
        "(about 10 items)" in markdown
    )
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    kappa, confusion = charts
    assert kappa["data"][0]["x"] == ["a", "b", "c", "d"]
    assert confusion["data"][0]["y"] == ["crack", "dent", "ok"]
    disputes = at.dataframe[1].value
    assert disputes.columns.tolist() == [
        "item_id",
        "votes",
        "labels",
        "disagreement",
        "d said",
        "majority",
        "open",
    ]
    assert disputes.iloc[0].tolist() == [
        "p34",
        "dent: 2, crack: 1, ok: 1",
        4,
        "83%",
        "ok",
        "dent",
        f"/Items?dataset={DATASET}&item=p34",
    ]


def test_choosing_a_labeler_writes_the_url(planted_db: Path) -> None:
    at = open_page(LABELERS, dataset=DATASET)
    at.selectbox(key="_v_labeler").select("a").run()
    assert not at.exception
    assert at.query_params["labeler"] == "a"
    assert at.subheader[-1].value == "Labeler a"


def test_the_table_shows_the_labeler_of_the_url_selected(planted_db: Path) -> None:
    at = open_page(LABELERS, dataset=DATASET, labeler="b")
    # the table shows the labeler of the URL selected
    table = at.dataframe[0]
    assert json.loads(table.proto.selection_default)["selection"]["rows"] == [1]


def test_unknown_labeler_in_the_url_is_a_clear_error(planted_db: Path) -> None:
    at = open_page(LABELERS, dataset=DATASET, labeler="zed")
    assert not at.exception
    assert [plain(e) for e in texts(at.error)] == [
        "Labeler 'zed' not found in dataset 'planted'. Labelers: a, b, c, d. Left out of this view."
    ]
    assert at.info[-1].value.startswith("Choose a labeler")


def test_an_empty_view_is_a_warning(planted_db: Path) -> None:
    at = open_page(LABELERS, dataset=DATASET, round="2", labelers="d")
    assert not at.exception and not at.error
    assert [plain(w) for w in texts(at.warning)] == [
        "No annotations in this view of dataset 'planted' (round 2, labelers d); loosen the filters."
    ]
    assert len(at.dataframe) == 0


def test_labeler_without_labels_in_the_view(planted_db: Path) -> None:
    at = open_page(LABELERS, dataset=DATASET, labeler="d", round="2")
    assert not at.exception and not at.error
    assert at.info[-1].value == "Labeler d has no labels in this view. Widen the filters."
