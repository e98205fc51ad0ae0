"""The Slices and rounds page: figures without Streamlit, the ``compare`` view state, the page."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from consistency.analysis import AnalysisOptions
from consistency.errors import NotComputable
from consistency.io import Source, read_source
from consistency.store import Store, ViewFilter
from consistency.ui import slices
from consistency.ui.state import Catalog, View, check_view, parse_query

from .planted import (  # noqa: F401 (fixtures)
    DATASET,
    open_page,
    plain,
    planted_db_fixture,
    planted_store_fixture,
    texts,
)

SLICES = "pages/7_Slices.py"
OPTIONS = AnalysisOptions(n_boot=200)
LATEST = ViewFilter()


# ---- the comparison in the URL -------------------------------------------------------------
def test_compare_round_trips_through_the_url() -> None:
    view = View.from_query("dataset=d&compare=1&compare=2")
    assert view.compare == ("1", "2")
    assert view.query_string() == "dataset=d&compare=1&compare=2"
    assert view.describe_focus() == "round 2 against round 1"
    assert view.for_page("items").compare is None
    assert view.with_dataset("e").compare is None


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("compare=1", "compare needs two different rounds (compare=a&compare=b); found '1'"),
        (
            "compare=1&compare=1",
            "compare needs two different rounds (compare=a&compare=b); found '1'",
        ),
        (
            "compare=1&compare=2&compare=3",
            "compare needs two different rounds (compare=a&compare=b); found '1', '2', '3'",
        ),
    ],
)
def test_compare_needs_two_rounds(query: str, message: str) -> None:
    view, problems = parse_query(query)
    assert view.compare is None
    assert [p.message for p in problems] == [message]


def test_compare_names_rounds_of_the_dataset() -> None:
    catalog = Catalog(datasets=("d",), dataset="d", rounds=("1", "2"))
    view, problems = check_view(View(dataset="d", compare=("1", "3")), catalog)
    assert view.compare is None
    assert [p.message for p in problems] == ["round '3' not found in dataset 'd'. Rounds: 1, 2"]
    kept, none = check_view(View(dataset="d", compare=("2", "1")), catalog)
    assert kept.compare == ("2", "1") and none == []


def test_chosen_comparison_swaps_instead_of_comparing_a_round_with_itself() -> None:
    assert slices.chosen_comparison(("1", "2"), 0, "3") == ("3", "2")
    assert slices.chosen_comparison(("1", "2"), 1, "1") == ("2", "1")
    assert slices.default_comparison(["1", "2", "3"]) == ("2", "3")
    assert slices.default_comparison([]) is None


# ---- slices -------------------------------------------------------------------------------
def test_the_poor_camera_is_lower_than_the_rest(planted_store: Store) -> None:
    table = slices.slice_figures(planted_store, DATASET, LATEST, OPTIONS, "camera")
    assert table["value"].tolist() == ["cam_A", "cam_C"]
    assert table["verdict"].tolist() == [slices.HIGHER, slices.LOWER]
    assert table["alpha"].iat[0] == 1.0 and table["alpha"].iat[1] < 0.5
    story = slices.slice_story(table)
    assert len(story) == 1 and story[0].startswith("camera = cam_C: alpha 0.21 [")
    assert story[0].endswith("lower than the rest of the items, 1.00 [1.00, 1.00]")


def test_every_field_with_few_values_when_none_is_chosen(planted_store: Store) -> None:
    table = slices.slice_figures(planted_store, DATASET, LATEST, OPTIONS)
    # serial has one value per item (60): too many to slice by default
    assert table["field"].unique().tolist() == ["camera"]


def test_a_field_with_too_many_values_is_refused(planted_store: Store) -> None:
    with pytest.raises(NotComputable) as exc:
        slices.slice_figures(planted_store, DATASET, LATEST, OPTIONS, "serial")
    assert str(exc.value) == (
        "field 'serial' has 60 values, more than 50: too many slices to compare; keep some of "
        "its values with the filter meta.serial"
    )
    kept = ViewFilter(metadata=(("serial", ("s000", "s031")),))
    table = slices.slice_figures(planted_store, DATASET, kept, OPTIONS, "serial")
    assert table["value"].tolist() == ["s000", "s031"]


def test_slice_notes_sit_on_their_rows(planted_store: Store) -> None:
    table = slices.slice_figures(planted_store, DATASET, LATEST, OPTIONS, "camera")
    notes = dict(zip(table["value"], table["notes"], strict=True))
    assert [n["code"] for n in notes["cam_C"]] == ["wide_interval"]
    assert notes["cam_A"] == []
    shown = slices.slice_display(table)
    assert shown["alpha [95% interval]"].iat[0] == "1.00 [1.00, 1.00]"
    assert shown["notes"].tolist() == ["", "wide interval"]


def test_slice_verdicts() -> None:
    assert slices.slice_verdict(0.1, 0.2, 0.3, 0.4) == slices.LOWER
    assert slices.slice_verdict(0.5, 0.6, 0.3, 0.4) == slices.HIGHER
    assert slices.slice_verdict(0.3, 0.6, 0.3, 0.4) == slices.LIKE
    assert slices.slice_verdict(float("nan"), 0.2, 0.3, 0.4) == slices.LIKE


def test_slice_chart_has_the_slices_and_the_rest(planted_store: Store) -> None:
    table = slices.slice_figures(planted_store, DATASET, LATEST, OPTIONS, "camera")
    fig = slices.slices_figure(table)
    mine, rest = fig.data
    assert list(mine.y) == ["cam_A", "cam_C"] and list(rest.y) == ["cam_A", "cam_C"]
    assert list(mine.marker.color) == [slices.fmt.GOOD, slices.fmt.BAD]
    assert mine.error_x.arrayminus[1] == pytest.approx(
        table["alpha"].iat[1] - table["ci_low"].iat[1]
    )
    assert fig.layout.xaxis.title.text == "Krippendorff's alpha"


# ---- rounds -------------------------------------------------------------------------------
def test_rounds_use_every_round_whatever_the_view(planted_store: Store) -> None:
    table = slices.round_figures(planted_store, DATASET, ViewFilter(rounds=("2",)), OPTIONS)
    assert table["round"].tolist() == ["1", "2"]
    assert table["items"].tolist() == [60, 30]
    assert table["alpha"].iat[1] == 1.0
    assert slices.round_display(table).columns.tolist() == [
        "round",
        "items",
        "annotations",
        "alpha [95% interval]",
        "notes",
    ]


def test_round_two_improved(planted_store: Store) -> None:
    result = slices.round_comparison(planted_store, DATASET, LATEST, OPTIONS, "1", "2")
    assert (result["from"], result["to"], result["items_common"]) == ("1", "2", 30)
    assert result["verdict"] == "improved" and result["alpha_to"] == 1.0
    classes = slices.comparison_classes(result)
    assert classes["verdict"].tolist() == ["improved"] * 3
    assert classes["delta"].is_monotonic_decreasing
    story = slices.comparison_story(result)
    assert story[0].startswith(
        "Round 2 against round 1 on the 30 items labeled in both: alpha 0.46 → 1.00, +0.54 ["
    )
    assert story[0].endswith("]: improved.")
    assert story[1].startswith("Improved: crack (+0.36), dent (+0.36), ok (+0.")
    counts, flipped = slices.flip_frames(result)
    assert flipped.values.tolist() == [["p01", "ok", "dent"], ["p02", "ok", "crack"]]
    assert counts["items"].tolist() == [1, 1]


def test_comparison_words_for_a_change_for_the_worse() -> None:
    result = {
        "from": "1",
        "to": "2",
        "items_common": 40,
        "alpha_from": 0.6,
        "alpha_to": 0.5,
        "alpha_delta": -0.1,
        "ci_low": -0.2,
        "ci_high": -0.02,
        "verdict": "worse",
        "per_class": [
            {"class": "a", "n_from": 9, "n_to": 9, "from": 0.8, "to": 0.5, "delta": -0.3,
             "ci_low": -0.5, "ci_high": -0.1, "verdict": "worse"},
            {"class": "b", "n_from": 9, "n_to": 9, "from": 0.8, "to": 0.7, "delta": -0.1,
             "ci_low": -0.3, "ci_high": -0.05, "verdict": "worse"},
            {"class": "c", "n_from": 9, "n_to": 9, "from": None, "to": 0.7, "delta": None,
             "ci_low": None, "ci_high": None, "verdict": "no clear change"},
        ],
    }  # fmt: skip
    assert slices.comparison_story(result) == [
        "Round 2 against round 1 on the 40 items labeled in both: alpha 0.60 → 0.50, "
        "-0.10 [-0.20, -0.02]: worse.",
        "Worse: a (-0.30), b (-0.10).",
    ]
    classes = slices.comparison_classes(result)
    assert classes["class"].tolist() == ["b", "a", "c"]
    shown = slices.comparison_display(classes)
    assert shown["change [95% interval]"].tolist() == [
        "-0.10 [-0.30, -0.05]",
        "-0.30 [-0.50, -0.10]",
        "— [—, —]",
    ]
    fig = slices.comparison_figure(classes)
    assert list(fig.data[0].marker.color) == [slices.fmt.BAD, slices.fmt.BAD, slices.fmt.NEUTRAL]


def test_with_notes_names_rows_as_the_notes_do() -> None:
    table = pd.DataFrame(
        {"round": ["1"], "items": [10], "pairable_items": [4], "alpha": [0.5],
         "ci_low": [0.1], "ci_high": [0.9]}
    )  # fmt: skip
    noted = slices.with_notes(table, "rounds")
    codes = [n["code"] for n in noted["notes"].iat[0]]
    assert codes == ["few_units", "wide_interval", "single_labeler_items"]


# ---- the page ---------------------------------------------------------------------------
def charts(at: object) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]  # type: ignore[attr-defined]


def test_page_tells_the_story_of_the_planted_dataset(planted_db: Path) -> None:
    at = open_page(SLICES, dataset=DATASET, by="camera")
    assert not at.exception and not at.error
    markdown = [plain(m) for m in texts(at.main.markdown)]
    assert markdown[0].startswith(":material/arrow_right: camera = cam_C: alpha 0.21 [")
    assert any(m.startswith("Round 2 against round 1 on the 30 items") for m in markdown)
    slice_chart, round_chart, class_chart = charts(at)
    assert slice_chart["data"][0]["y"] == ["cam_A", "cam_C"]
    assert round_chart["data"][0]["y"] == ["Round 1", "Round 2"]
    assert class_chart["data"][0]["y"] == ["crack", "dent", "ok"]
    captions = [plain(c) for c in texts(at.main.caption)]
    assert any(
        c.startswith(":material/warning: camera = cam_C: The interval of alpha is")
        for c in captions
    )
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Items labeled in both"] == "30" and metrics["Alpha"] == "1.00"
    assert (at.selectbox(key="compare_from").value, at.selectbox(key="compare_to").value) == (
        "1",
        "2",
    )
    assert at.dataframe[-1].value["item_id"].tolist() == ["p01", "p02"]


def test_choosing_rounds_writes_the_comparison_to_the_url(planted_db: Path) -> None:
    at = open_page(SLICES, dataset=DATASET)
    at.selectbox(key="compare_to").select("1").run()
    assert not at.exception and not at.error
    assert at.query_params["compare"] == ["2", "1"]
    assert plain(at.main.caption[0].value).endswith("; round 1 against round 2.")
    markdown = [plain(m) for m in texts(at.main.markdown)]
    assert any(m.startswith("Round 1 against round 2 on the 30 items") for m in markdown)
    assert at.selectbox(key="compare_from").value == "2"


def test_a_link_with_a_comparison_reopens_it(planted_db: Path) -> None:
    at = open_page(SLICES, dataset=DATASET, compare=["2", "1"])
    assert not at.exception and not at.error
    assert (at.selectbox(key="compare_from").value, at.selectbox(key="compare_to").value) == (
        "2",
        "1",
    )
    assert {m.label: m.value for m in at.metric}["Alpha"] == "0.46"


#: Ratings 1 to 3 at two sites: at site n the raters differ by one step, at site s by two.
RATINGS = b"""item,worker,label,site
1,a,1,n
1,b,2,n
2,a,2,n
2,b,3,n
3,a,3,n
3,b,3,n
4,a,1,s
4,b,3,s
5,a,2,s
5,b,2,s
6,a,1,s
6,b,1,s
"""


def test_the_level_of_the_url_reaches_the_figures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ratings.duckdb"
    store = Store(path)
    try:
        store.import_result(
            read_source(Source("r.csv", RATINGS)), file_name="r.csv", data=RATINGS, dataset="r"
        )
    finally:
        store.close()
    monkeypatch.setenv("CONSISTENCY_DB", str(path))
    nominal = open_page(SLICES, dataset="r", by="site")
    interval = open_page(SLICES, dataset="r", by="site", level="interval")
    assert not interval.exception and not interval.error
    assert interval.selectbox(key="_v_level").value == "interval"
    # one step apart counts as less disagreement than two at the interval level
    site_n = [charts(at)[0]["data"][0]["x"][0] for at in (nominal, interval)]
    assert site_n[1] > site_n[0]


def test_a_level_the_labels_do_not_allow_is_a_warning(planted_db: Path) -> None:
    at = open_page(SLICES, dataset=DATASET, level="ordinal")
    assert not at.exception and not at.error
    assert plain(at.warning[0].value).startswith("The ordinal level needs numeric labels")


def test_unknown_field_or_round_in_the_url_is_a_clear_error(planted_db: Path) -> None:
    at = open_page(SLICES, dataset=DATASET, by="colour", compare=["1", "7"])
    assert not at.exception
    assert [plain(e) for e in texts(at.error)] == [
        "Metadata field 'colour' not found in dataset 'planted'. Fields: camera, serial. "
        "Left out of this view.",
        "Round '7' not found in dataset 'planted'. Rounds: 1, 2. Left out of this view.",
    ]
    assert at.selectbox(key="compare_to").value == "2"


def test_a_field_with_too_many_values_is_a_warning(planted_db: Path) -> None:
    at = open_page(SLICES, dataset=DATASET, by="serial")
    assert not at.exception and not at.error
    assert plain(at.warning[0].value).startswith("Field 'serial' has 60 values, more than 50")


def test_rounds_without_common_items_are_a_warning(db_path: Path) -> None:
    at = open_page(SLICES, dataset="defects", **{"meta.camera": "cam_A"})
    assert not at.exception and not at.error
    assert plain(at.warning[-1].value).startswith(
        "Rounds 1 and 2 share no items: round 1 has 1 items, round 2 has 0"
    )


def test_one_round_has_nothing_to_compare(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "one.duckdb"
    store = Store(path)
    try:
        data = b"item,worker,label,site\n1,a,x,n\n1,b,x,n\n2,a,x,s\n2,b,y,s\n"
        store.import_result(
            read_source(Source("one.csv", data)), file_name="one.csv", data=data, dataset="one"
        )
    finally:
        store.close()
    monkeypatch.setenv("CONSISTENCY_DB", str(path))
    at = open_page(SLICES, dataset="one")
    assert not at.exception and not at.error
    assert at.info[-1].value == (
        "This dataset has one labeling round; import a relabeled round to compare."
    )
    assert len(charts(at)) == 2
