"""The dashboard's library side, without Streamlit: uploads, catalog, sample, formatting."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from consistency.errors import ConsistencyError
from consistency.sample import SAMPLE_DATASET, ensure_sample, import_sample
from consistency.store import Store
from consistency.ui import data, fmt
from consistency.ui.catalog import build_catalog, data_version, item_exists
from consistency.ui.overview import (
    glance_agreement,
    labels_per_item,
    view_analysis,
    view_counts,
    view_glance,
)
from consistency.ui.state import Catalog, View


def labelstudio_export() -> bytes:
    """A Label Studio JSON export: two tasks, two annotators (one as int id, one as dict)."""
    tasks = []
    for task_id, (first, second) in enumerate((("cat", "cat"), ("cat", "dog")), start=1):
        tasks.append(
            {
                "id": task_id,
                "data": {"image": f"https://example.com/{task_id}.jpg"},
                "annotations": [
                    {
                        "id": 10 * task_id + n,
                        "completed_by": who,
                        "result": [
                            {
                                "id": f"r{task_id}{n}",
                                "type": "choices",
                                "from_name": "animal",
                                "to_name": "image",
                                "value": {"choices": [label]},
                            }
                        ],
                        "was_cancelled": False,
                        "ground_truth": False,
                        "lead_time": 3.5,
                        "created_at": "2025-03-03T10:00:00Z",
                    }
                    for n, (who, label) in enumerate(
                        ((7, first), ({"id": 8, "email": "b@example.com"}, second))
                    )
                ],
            }
        )
    return json.dumps(tasks).encode()


def state_of(store: Store) -> tuple[object, ...]:
    """Everything an import could change, to check that a failed one changed nothing."""
    return (
        data_version(store),
        store.datasets()[["id", "files", "annotations", "items", "labelers"]].to_dict("records"),
        store.provenance("defects").to_dict("records"),
    )


# ---- importing an upload --------------------------------------------------------------
def test_import_upload_creates_a_dataset(store: Store) -> None:
    outcome = data.import_upload(store, "pets.json", labelstudio_export(), dataset="Pets 1")
    assert outcome.ok
    assert (
        outcome.message
        == "pets.json: imported 4 rows (labelstudio-json) into dataset 'pets-1', round 1."
    )
    assert outcome.dataset == "pets-1"
    assert outcome.problems.empty
    assert store.dataset_ids() == ["defects", "pets-1"]
    assert build_catalog(store, "pets-1").labelers == ("7", "b@example.com")


def test_import_upload_options(store: Store) -> None:
    csv = b"item,worker,label\n1,ann,cat\n1,bob,dog\n"
    outcome = data.import_upload(
        store, "votes.csv", csv, dataset=" ", round=" 3 ", field="", format="long"
    )
    assert outcome.ok, outcome.message
    assert outcome.dataset == "votes"
    assert build_catalog(store, "votes").rounds == ("3",)
    again = data.import_upload(store, "votes.csv", csv)
    assert again.ok
    assert again.message == (
        "votes.csv: already imported into dataset 'votes' (same sha256); nothing to do"
    )


def test_broken_upload_shows_problems_and_writes_nothing(store: Store) -> None:
    before = state_of(store)
    outcome = data.import_upload(store, "broken.json", b'[{"id": 1, "annotations": [')
    assert not outcome.ok
    assert outcome.message == "1 problem in broken.json; nothing was imported"
    assert list(outcome.problems.columns) == list(data.PROBLEM_COLUMNS)
    row = outcome.problems.iloc[0]
    assert (row["file"], row["line"], row["code"]) == ("broken.json", 1, "invalid_json")
    assert outcome.report is None and outcome.dataset is None
    assert state_of(store) == before


def test_unknown_format_lists_each_format_tried(store: Store) -> None:
    before = state_of(store)
    outcome = data.import_upload(store, "notes.txt", b"hello world\n")
    assert not outcome.ok
    assert outcome.message.startswith("notes.txt is a CSV table with columns hello world")
    assert len(outcome.problems) == 8
    assert state_of(store) == before


def test_unknown_format_name_is_an_error_without_a_table(store: Store) -> None:
    outcome = data.import_upload(store, "a.csv", b"x", format="excel")
    assert not outcome.ok
    assert outcome.message.startswith("unknown format 'excel'")
    assert outcome.problems.empty


def test_upload_size_limit(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    before = state_of(store)
    big = b"item,worker,label\n" + b"1,ann,cat\n" * 120_000
    outcome = data.import_upload(store, "big.csv", big, limit_mb=1)
    assert not outcome.ok
    assert outcome.problems["message"].tolist() == [
        "big.csv: expected a file of at most 1 MB (set CONSISTENCY_MAX_UPLOAD_MB to change it); "
        "found 1.2 MB"
    ]
    assert state_of(store) == before
    monkeypatch.setenv("CONSISTENCY_MAX_UPLOAD_MB", "1")
    assert data.max_upload_mb() == 1
    assert not data.import_upload(store, "big.csv", big).ok


@pytest.mark.parametrize(("raw", "expected"), [("", 200), ("50", 50), ("0", 200), ("lots", 200)])
def test_max_upload_mb(monkeypatch: pytest.MonkeyPatch, raw: str, expected: int) -> None:
    monkeypatch.setenv("CONSISTENCY_MAX_UPLOAD_MB", raw)
    assert data.max_upload_mb() == expected
    assert data.max_upload_mb(default=500) == (expected if raw == "50" else 500)


# ---- attaching gold and predictions ----------------------------------------------------
def test_attach_predictions(store: Store) -> None:
    outcome = data.attach_upload(
        store, "defects", "predictions", "preds.csv", b"item_id,predicted_label\na,dent\nb,ok\n"
    )
    assert outcome.ok, outcome.message
    kinds = store.provenance("defects")[["kind", "file_name", "format"]].values.tolist()
    assert kinds[-1] == ["predictions", "preds.csv", "csv"]


def test_attach_gold(store: Store) -> None:
    outcome = data.attach_upload(
        store, "defects", "gold", "gold.csv", b"item_id,gold_label\nb,ok\n"
    )
    assert outcome.ok, outcome.message
    gold = store.items("defects").execute().set_index("item_id")["gold_label"]
    assert gold["b"] == "ok"


def test_attach_unknown_items_writes_nothing(store: Store) -> None:
    before = state_of(store)
    outcome = data.attach_upload(
        store, "defects", "predictions", "p.csv", b"item_id,predicted_label\nzz,dent\n"
    )
    assert not outcome.ok
    assert outcome.problems["code"].tolist() == ["unknown_items"]
    assert state_of(store) == before


def test_attach_unknown_kind(store: Store) -> None:
    outcome = data.attach_upload(store, "defects", "labels", "p.csv", b"item_id\na\n")
    assert not outcome.ok
    assert outcome.message == "cannot attach 'labels'; expected one of: gold, predictions"


# ---- catalog and data version -----------------------------------------------------------
def test_build_catalog(store: Store) -> None:
    assert build_catalog(store, "defects") == Catalog(
        datasets=("defects",),
        dataset="defects",
        classes=("crack", "dent", "ok"),
        labelers=("ann", "bob", "cy"),
        rounds=("1", "2"),
        metadata=(("camera", ("cam_A", "cam_B")),),
        time_range=(date(2025, 3, 3), date(2025, 3, 5)),
    )
    assert build_catalog(store, None) == Catalog(datasets=("defects",))
    assert build_catalog(store, "nope") == Catalog(datasets=("defects",))


def test_data_version_changes_with_each_import(tmp_path: Path, store: Store) -> None:
    assert data_version(Store(tmp_path / "empty.duckdb")) == 0
    first = data_version(store)
    data.import_upload(store, "v.csv", b"item,worker,label\n1,a,x\n1,b,y\n")
    assert data_version(store) == first + 1


def test_item_exists(store: Store) -> None:
    assert item_exists(store, "defects", "a")
    assert not item_exists(store, "defects", "zz")


# ---- overview figures --------------------------------------------------------------------
VIEW_COUNTS = [
    ("", {"annotations": 8, "items": 3, "labelers": 3, "classes": 3}),
    ("round=all", {"annotations": 11, "items": 3, "labelers": 3, "classes": 3}),
    ("round=1", {"annotations": 9, "items": 3, "labelers": 3, "classes": 3}),
    ("meta.camera=cam_A", {"annotations": 3, "items": 1, "labelers": 3, "classes": 2}),
    ("labelers=ann", {"annotations": 3, "items": 3, "labelers": 1, "classes": 3}),
    ("round=all&to=2025-03-03", {"annotations": 6, "items": 2, "labelers": 3, "classes": 3}),
]


@pytest.mark.parametrize(
    ("query", "expected"), VIEW_COUNTS, ids=[q or "default" for q, _ in VIEW_COUNTS]
)
def test_view_counts(store: Store, query: str, expected: dict[str, int]) -> None:
    assert view_counts(store, "defects", View.from_query(query).view_filter()) == expected
    glance = view_glance(store, "defects", View.from_query(query).view_filter())
    assert glance["counts"] == expected


def test_the_glance_shows_the_figures_the_analysis_will_show(tmp_path: Path) -> None:
    level = "nominal"
    store = Store(tmp_path / "s.duckdb")
    try:
        import_sample(store)
        view = View.from_query("round=all").view_filter()
        glance = view_glance(store, SAMPLE_DATASET, view)
        result = view_analysis(store, SAMPLE_DATASET, view, level)
        assert glance["labels_per_item"] == labels_per_item(store, SAMPLE_DATASET, view)
        assert glance["counts"] == view_counts(store, SAMPLE_DATASET, view)
        quick = glance_agreement(store, SAMPLE_DATASET, view, level, glance["profile"])
        assert quick["dataset"]["pairable_items"] == result["dataset"]["pairable_items"]
        for key in ("fleiss_kappa", "fleiss_kappa_note", "gwet_ac1", "percent_agreement"):
            assert quick[key] == result[key], key
        figures = ("level", "value", "ci_low", "ci_high", "confidence", "draws")
        assert {k: quick["alpha"][k] for k in figures} == {k: result["alpha"][k] for k in figures}
        assert quick["alpha"]["draws"] == 1000
        assert quick["alpha"]["ci_low"] < quick["alpha"]["value"]
        # words as labels have no order: no figures at a glance, the analysis says why
        assert glance_agreement(store, SAMPLE_DATASET, view, "ordinal", glance["profile"]) == {}
    finally:
        store.close()


def test_a_glance_at_an_empty_view_has_counts_and_no_figures(store: Store) -> None:
    view = View.from_query("labelers=nobody-at-all").view_filter()
    glance = view_glance(store, "defects", view)
    assert glance["counts"] == {"annotations": 0, "items": 0, "labelers": 0, "classes": 0}
    assert glance["labels_per_item"] == {}
    assert glance_agreement(store, "defects", view, "nominal", glance["profile"]) == {}


# ---- the sample dataset -------------------------------------------------------------------
def write_sample(folder: Path) -> Path:
    folder.mkdir()
    (folder / "inspection_long.csv").write_text(
        "item_id,labeler_id,label,round,camera\n"
        "img_1,insp_01,ok,1,cam_A\nimg_1,insp_02,dent,1,cam_A\n"
        "img_2,insp_01,ok,1,cam_B\nimg_2,insp_02,ok,1,cam_B\n"
    )
    (folder / "inspection_predictions.csv").write_text(
        "item_id,model,predicted_label,confidence\nimg_1,net,ok,0.9\nimg_2,net,ok,0.8\n"
    )
    return folder


def test_ensure_sample_imports_into_an_empty_store_once(tmp_path: Path) -> None:
    folder = write_sample(tmp_path / "sample")
    store = Store(tmp_path / "s.duckdb")
    assert ensure_sample(store, folder) == SAMPLE_DATASET
    assert ensure_sample(store, folder) == SAMPLE_DATASET
    prov = store.provenance(SAMPLE_DATASET)
    assert prov[["kind", "file_name"]].values.tolist() == [
        ["annotations", "inspection_long.csv"],
        ["predictions", "inspection_predictions.csv"],
    ]
    assert store.predictions(SAMPLE_DATASET).count().execute() == 2


def test_ensure_sample_leaves_a_store_with_data_alone(store: Store, tmp_path: Path) -> None:
    assert ensure_sample(store, tmp_path / "no-such-folder") == "defects"
    assert store.dataset_ids() == ["defects"]


def test_import_sample_names_the_missing_files(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConsistencyError) as info:
        import_sample(Store(tmp_path / "s.duckdb"), tmp_path / "empty")
    assert str(info.value) == (
        "sample data not found: inspection_long.csv, inspection_predictions.csv missing in "
        "folder 'empty'. Write it with: python sample_data/generate.py"
    )


def test_the_bundled_sample(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    assert ensure_sample(store) == "inspection"
    catalog = build_catalog(store, "inspection")
    assert catalog.rounds == ("1", "2")
    assert len(catalog.labelers) == 8
    assert "camera" in catalog.metadata_fields
    assert store.predictions("inspection").count().execute() == 2000


# ---- formatting and colours ------------------------------------------------------------------
FORMAT_CASES = [
    (fmt.number(0.74123), "0.74"),
    (fmt.number(0.5, 1), "0.5"),
    (fmt.number(7690), "7,690"),
    (fmt.number(2.0), "2.00"),
    (fmt.number(None), "—"),
    (fmt.percent(0.905), "90%"),
    (fmt.percent(0.905, 1), "90.5%"),
    (fmt.percent(float("nan")), "—"),
    (fmt.interval(0.74, 0.70, 0.78), "0.74 [0.70, 0.78]"),
    (fmt.interval(0.74, 0.7, None), "0.74"),
    (fmt.interval(None, 0.1, 0.2), "— [0.10, 0.20]"),
    (fmt.interval(0.7412, 0.7013, 0.7791, 3), "0.741 [0.701, 0.779]"),
    (fmt.count(0, "item"), "0 items"),
    (fmt.count(1, "labeler"), "1 labeler"),
]


@pytest.mark.parametrize(("got", "expected"), FORMAT_CASES, ids=[e for _, e in FORMAT_CASES])
def test_formatting(got: str, expected: str) -> None:
    assert got == expected


def test_palette_is_okabe_ito() -> None:
    assert len(fmt.OKABE_ITO) == len(set(fmt.OKABE_ITO)) == 8
    assert fmt.OKABE_ITO[0] == "#E69F00"
    assert {fmt.GOOD, fmt.BAD} <= set(fmt.OKABE_ITO)
