"""The dashboard pages under Streamlit's AppTest: smoke runs and the main interactions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from consistency.ui import data
from consistency.ui.page import CONTROLS, get_store
from consistency.ui.state import PAGES, PageInfo

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60
SENTENCE = "Overview of dataset 'defects': each item's latest round, all items, all labelers."


def app(**params: str | list[str]) -> AppTest:
    """The dashboard's first page with these query parameters, run once."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    for name, value in params.items():
        at.query_params[name] = value
    return at.run()


def page(script: str, **params: str | list[str]) -> AppTest:
    """Another page of the dashboard, reached from the first one."""
    at = app()
    for name in list(at.query_params):
        del at.query_params[name]
    for name, value in params.items():
        at.query_params[name] = value
    at.switch_page(script)
    return at.run()


def sentence(at: AppTest) -> str:
    """The view sentence: the main area's first caption."""
    return at.main.caption[0].value


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


# ---- smoke -----------------------------------------------------------------------------
def test_overview_opens_on_the_default_dataset(db_path: Path) -> None:
    at = app()
    assert not at.exception
    assert at.title[0].value == "Overview"
    assert sentence(at) == SENTENCE
    shown = metrics(at)
    assert {k: shown[k] for k in ("Items", "Annotations", "Labelers", "Classes")} == {
        "Items": "3",
        "Annotations": "8",
        "Labelers": "3",
        "Classes": "3",
    }
    # the agreement cards are drawn once, after the quick figures gave way to the analysis
    assert [m.label for m in at.metric].count("Gwet's AC1") == 1
    assert not [c.value for c in at.caption if "being worked out" in c.value]
    assert at.subheader.values.count("Agreement") == 1
    # the URL names the dataset, so a copied link survives a new default
    assert at.query_params == {"dataset": "defects"}
    assert at.sidebar.code[0].value == "/?dataset=defects"
    links = {link.value: link.proto.query_string for link in at.main.get("page_link")}
    assert links["Import data or see provenance"] == "dataset=defects"


@pytest.mark.parametrize(
    "info", [p for p in PAGES if (ROOT / p.script).is_file()], ids=lambda p: p.id
)
def test_every_page_runs(db_path: Path, info: PageInfo) -> None:
    at = page(info.script, dataset="defects")
    assert not at.exception
    assert at.title[0].value == info.title
    assert not at.error


def test_navigation_links_carry_dataset_and_filters(db_path: Path) -> None:
    at = app(dataset="defects", round="2", **{"meta.camera": "cam_B"})
    links = {link.value: link.proto.query_string for link in at.sidebar.get("page_link")}
    assert links["Data"] == "dataset=defects&round=2&meta.camera=cam_B"
    assert links["Overview"] == "dataset=defects&round=2&meta.camera=cam_B"


def test_empty_store_opens_on_the_sample(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONSISTENCY_DB", str(tmp_path / "empty.duckdb"))
    at = app()
    assert not at.exception
    assert sentence(at) == (
        "Overview of dataset 'inspection': each item's latest round, all items, all labelers."
    )
    assert metrics(at)["Labelers"] == "8"


# ---- the URL is the view ------------------------------------------------------------------
def test_query_parameters_set_the_view_and_the_widgets(db_path: Path) -> None:
    at = app(
        dataset="defects",
        round="all",
        labelers=["ann", "bob"],
        **{"meta.camera": "cam_B", "from": "2025-03-04"},
    )
    assert not at.exception and not at.error
    assert sentence(at) == (
        "Overview of dataset 'defects': all rounds pooled, items with camera = cam_B, "
        "labelers ann and bob, submitted from 2025-03-04 on."
    )
    assert metrics(at)["Annotations"] == "4"
    assert at.selectbox(key="_v_round").value == "all"
    assert at.multiselect(key="_v_labelers").value == ["ann", "bob"]
    assert at.multiselect(key="_v_meta.camera").value == ["cam_B"]
    assert str(at.date_input(key="_v_from").value) == "2025-03-04"


def test_widgets_write_the_url(db_path: Path) -> None:
    at = app()
    at.selectbox(key="_v_round").select("1").run()
    assert at.query_params == {"dataset": "defects", "round": "1"}
    at.multiselect(key="_v_labelers").select("cy").select("ann").run()
    assert at.query_params["labelers"] == ["ann", "cy"]
    at.multiselect(key="_v_meta.camera").select("cam_A").run()
    at.date_input(key="_v_to").set_value("2025-03-03").run()
    assert at.query_params == {
        "dataset": "defects",
        "round": "1",
        "labelers": ["ann", "cy"],
        "meta.camera": "cam_A",
        "to": "2025-03-03",
    }
    assert sentence(at) == (
        "Overview of dataset 'defects': round 1, items with camera = cam_A, labelers ann and cy, "
        "submitted up to 2025-03-03."
    )
    assert metrics(at)["Annotations"] == "2"
    assert at.sidebar.code[0].value == (
        "/?dataset=defects&round=1&labelers=ann&labelers=cy&meta.camera=cam_A&to=2025-03-03"
    )
    # back to the default: the parameter leaves the URL
    at.selectbox(key="_v_round").select("latest").run()
    assert "round" not in at.query_params


def test_a_reversed_time_window_becomes_one_day(db_path: Path) -> None:
    at = app()
    at.date_input(key="_v_from").set_value("2025-03-05").run()
    at.date_input(key="_v_to").set_value("2025-03-03").run()
    assert at.query_params == {"dataset": "defects", "from": "2025-03-03", "to": "2025-03-03"}
    assert str(at.date_input(key="_v_from").value) == "2025-03-03"


def test_changing_dataset_resets_its_filters(db_path: Path) -> None:
    # the dashboard's process holds the store: add a dataset through its connection
    store = get_store(str(db_path))
    assert data.import_upload(store, "pets.csv", b"item,worker,label\n1,ann,cat\n1,bob,dog\n").ok
    at = app(dataset="defects", round="2", labelers="ann")
    at.selectbox(key="_v_dataset").select("pets").run()
    assert at.query_params == {"dataset": "pets"}
    assert at.selectbox(key="_v_round").value == "latest"
    assert at.multiselect(key="_v_labelers").value == []


def test_unknown_dataset_is_a_clear_error(db_path: Path) -> None:
    at = app(dataset="nope", **{"class": "dent"})
    assert not at.exception
    assert [e.value for e in at.error] == [
        "Dataset 'nope' not found in the store. Datasets: defects. Left out of this view."
    ]
    assert sentence(at) == "Overview: no dataset selected."
    # the link stays as given until a dataset is picked
    assert at.query_params == {"dataset": "nope", "class": "dent"}
    at.selectbox(key="_v_dataset").select("defects").run()
    assert not at.error
    assert at.query_params == {"dataset": "defects"}


def test_unknown_values_are_clear_errors(db_path: Path) -> None:
    at = app(dataset="defects", round="9", level="loud", labelers=["ann", "zed"], item="zz")
    assert not at.exception
    assert [e.value for e in at.error] == [
        "Level 'loud' is not a level of measurement. Expected one of: nominal, ordinal, "
        "interval, ratio. Left out of this view.",
        "Round '9' not found in dataset 'defects'. Rounds: 1, 2. Left out of this view.",
        "Labeler 'zed' not found in dataset 'defects'. Labelers: ann, bob, cy. "
        "Left out of this view.",
        "Item 'zz' not found in dataset 'defects'. Left out of this view.",
    ]
    assert at.query_params == {"dataset": "defects", "labelers": "ann"}


# ---- page controls -------------------------------------------------------------------------
CONTROLS_PAGE = """
from consistency.ui.page import CONTROLS, setup_page

ctx = setup_page("Confusion", controls=CONTROLS)
"""


def controls_page(**params: str | list[str]) -> AppTest:
    at = AppTest.from_string(CONTROLS_PAGE, default_timeout=TIMEOUT)
    for name, value in params.items():
        at.query_params[name] = value
    return at.run()


def test_page_controls_read_the_url(db_path: Path) -> None:
    at = controls_page(
        dataset="defects",
        pair=["dent", "crack"],
        labeler="bob",
        by="camera",
        level="ordinal",
        normalize="row",
        **{"class": "ok"},
    )
    assert not at.exception and not at.error
    assert at.selectbox(key="_v_class").value == "ok"
    assert (at.selectbox(key="_v_pair_a").value, at.selectbox(key="_v_pair_b").value) == (
        "dent",
        "crack",
    )
    assert at.selectbox(key="_v_labeler").value == "bob"
    assert at.selectbox(key="_v_by").value == "camera"
    assert at.selectbox(key="_v_level").value == "ordinal"
    assert at.radio(key="_v_normalize").value == "row"
    assert sentence(at) == (
        "Confusion of dataset 'defects': each item's latest round, all items, all labelers; "
        "class 'ok', classes 'dent' and 'crack', labeler 'bob', sliced by camera, ordinal level, "
        "counts normalized by row."
    )


def test_page_controls_write_the_url(db_path: Path) -> None:
    at = controls_page(dataset="defects")
    assert len(CONTROLS) == 6
    at.selectbox(key="_v_class").select("dent").run()
    at.selectbox(key="_v_pair_a").select("crack").run()
    # half a pair is not a pair yet, and the first choice is kept
    assert "pair" not in at.query_params
    assert at.selectbox(key="_v_pair_a").value == "crack"
    at.selectbox(key="_v_pair_b").select("ok").run()
    at.selectbox(key="_v_level").select("interval").run()
    at.radio(key="_v_normalize").set_value("column").run()
    assert at.query_params == {
        "dataset": "defects",
        "class": "dent",
        "pair": ["crack", "ok"],
        "level": "interval",
        "normalize": "column",
    }


def test_unknown_control_is_refused(db_path: Path) -> None:
    at = AppTest.from_string(
        "from consistency.ui.page import setup_page\nsetup_page('Classes', controls=['colour'])\n",
        default_timeout=TIMEOUT,
    ).run()
    assert at.exception[0].value == (
        "unknown page control(s) colour. Controls: class, pair, labeler, by, level, normalize"
    )


CACHED_PAGE = """
from pathlib import Path

from consistency.ui.page import setup_page

LOG = Path({log!r})


def count_calls(store, dataset, view):
    with LOG.open("a") as f:
        f.write(dataset + "\\n")
    return len(store.dataset_ids())


ctx = setup_page("Overview")
ctx.cached(count_calls, ctx.dataset, ctx.filter)
"""


def test_results_are_cached_until_the_data_changes(db_path: Path, tmp_path: Path) -> None:
    log = tmp_path / "calls.txt"
    at = AppTest.from_string(CACHED_PAGE.format(log=str(log)), default_timeout=TIMEOUT).run()
    at.run()
    assert log.read_text().splitlines() == ["defects"]
    assert data.import_upload(get_store(str(db_path)), "v.csv", b"item,worker,label\n1,a,x\n").ok
    at.run()
    assert log.read_text().splitlines() == ["defects", "defects"]


# ---- the Data page -------------------------------------------------------------------------
DATA = "pages/8_Data.py"


def labelstudio_export() -> bytes:
    task = {
        "id": 1,
        "data": {"text": "x"},
        "annotations": [
            {
                "id": n,
                "completed_by": n,
                "result": [
                    {
                        "type": "choices",
                        "from_name": "sentiment",
                        "to_name": "text",
                        "value": {"choices": [label]},
                    }
                ],
                "was_cancelled": False,
            }
            for n, label in ((1, "good"), (2, "bad"))
        ],
    }
    return json.dumps([task]).encode()


def datasets_listed(at: AppTest) -> list[str]:
    return at.dataframe[0].value["dataset"].tolist()


def test_data_page_upload_good_file(db_path: Path) -> None:
    at = page(DATA, dataset="defects")
    assert datasets_listed(at) == ["defects"]
    at.file_uploader(key="upload_file").upload("reviews.json", labelstudio_export())
    at.text_input(key="upload_dataset").input("Reviews")
    at.run()
    at.button(key="import").click().run()
    assert not at.exception
    summary = at.success[0].value.split("  \n")
    assert summary[0] == (
        "reviews.json: imported 2 rows (labelstudio-json) into dataset 'reviews', round 1."
    )
    assert datasets_listed(at) == ["defects", "reviews"]
    at.button(key="activate_import").click().run()
    assert at.query_params["dataset"] == "reviews"
    assert sentence(at).startswith("Data of dataset 'reviews':")


def test_data_page_upload_broken_file(db_path: Path) -> None:
    at = page(DATA, dataset="defects")
    before = get_store(str(db_path)).provenance("defects")
    at.file_uploader(key="upload_file").upload("broken.json", b'[{"id": 1, "annotations": [')
    at.run()
    at.button(key="import").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == ["1 problem in broken.json; nothing was imported"]
    problems = at.dataframe[0].value
    assert problems[["file", "line", "code"]].values.tolist() == [
        ["broken.json", 1, "invalid_json"]
    ]
    assert datasets_listed_after_problems(at) == ["defects"]
    assert get_store(str(db_path)).dataset_ids() == ["defects"]
    assert get_store(str(db_path)).provenance("defects").equals(before)


def datasets_listed_after_problems(at: AppTest) -> list[str]:
    return at.dataframe[1].value["dataset"].tolist()


def test_data_page_attach_predictions(db_path: Path) -> None:
    at = page(DATA, dataset="defects")
    at.radio(key="attach_kind").set_value("predictions")
    at.file_uploader(key="attach_file").upload("preds.csv", b"item_id,predicted_label\na,dent\n")
    at.run()
    at.button(key="attach").click().run()
    assert not at.exception
    assert at.success[0].value.startswith("preds.csv")
    prov = get_store(str(db_path)).provenance("defects")
    assert prov["kind"].tolist() == ["annotations", "predictions"]
    shown = [df.value for df in at.dataframe if "kind" in df.value.columns]
    assert shown[0]["file_name"].tolist() == ["defects.csv", "preds.csv"]
    lineage = [df.value for df in at.dataframe if "action" in df.value.columns]
    assert lineage[0]["action"].tolist() == ["create", "import", "attach predictions"]


def test_data_page_make_another_dataset_active(db_path: Path) -> None:
    store = get_store(str(db_path))
    assert data.import_upload(store, "pets.csv", b"item,worker,label\n1,a,x\n1,b,y\n").ok
    at = page(DATA, dataset="defects")
    at.button(key="activate_pets").click().run()
    assert at.query_params == {"dataset": "pets"}
    assert (
        sentence(at) == "Data of dataset 'pets': each item's latest round, all items, all labelers."
    )
