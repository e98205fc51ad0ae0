"""The store: atomic imports, no-op re-imports, rounds, gold conflicts, provenance, views."""

from __future__ import annotations

import pandas as pd
import pytest

from consistency.errors import DatasetNotFound, ImportFailed, InvalidArgument
from consistency.schema import ImportResult
from consistency.store import Store, ViewFilter


def _result(rows, items=None):
    ann = pd.DataFrame(rows, columns=["item_id", "labeler_id", "label"])
    return ImportResult("long", ann, items)


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "s.duckdb")
    yield s
    s.close()


def _rows(store, dataset, view=None):
    df = store.annotations(dataset, view).execute()
    return sorted(zip(df.item_id, df.labeler_id, df.label, df["round"], strict=True))


def test_import_creates_dataset_with_provenance_and_lineage(store):
    items = pd.DataFrame({"item_id": ["a", "b"], "camera": ["c1", "c2"], "gold_label": ["x", None]})
    rep = store.import_result(
        _result([("a", "u", "x"), ("a", "v", "x"), ("b", "u", "y")], items),
        file_name="first.csv",
        data=b"1",
        dataset="My Data",
    )
    assert rep.dataset == "my-data"
    assert rep.summary() == "first.csv: imported 3 rows (long) into dataset 'my-data', round 1."
    prov = store.provenance("my-data")
    assert prov["file_name"].tolist() == ["first.csv"]
    assert len(prov["sha256"].iat[0]) == 64
    assert store.lineage("my-data")["action"].tolist() == ["create", "import"]
    assert store.metadata_values("my-data", "camera") == ["c1", "c2"]
    gold = store.items("my-data").execute().set_index("item_id")["gold_label"]
    assert gold["a"] == "x" and pd.isna(gold["b"])


def test_reimport_same_bytes_is_a_noop(store):
    r = _result([("a", "u", "x")])
    store.import_result(r, file_name="f.csv", data=b"same", dataset="d")
    rep = store.import_result(r, file_name="f.csv", data=b"same", dataset="d")
    assert rep.noop
    assert rep.summary() == "f.csv: already imported into dataset 'd' (same sha256); nothing to do"
    assert store.datasets()["annotations"].tolist() == [1]


def test_rounds_latest_per_item_by_default(store):
    store.import_result(
        _result([("a", "u", "x"), ("a", "v", "y"), ("b", "u", "z")]),
        file_name="r1.csv",
        data=b"1",
        dataset="d",
    )
    store.import_result(
        _result([("a", "u", "y"), ("a", "w", "y")]),
        file_name="r2.csv",
        data=b"2",
        dataset="d",
        round="2",
    )
    assert store.rounds("d") == ["1", "2"]
    assert _rows(store, "d") == [("a", "u", "y", "2"), ("a", "w", "y", "2"), ("b", "u", "z", "1")]
    assert len(_rows(store, "d", ViewFilter(rounds=("*",)))) == 5
    assert _rows(store, "d", ViewFilter(rounds=("1",)))[0] == ("a", "u", "x", "1")


def test_conflicting_gold_is_refused_and_nothing_written(store):
    items = pd.DataFrame({"item_id": ["a"], "gold_label": ["x"]})
    store.import_result(
        _result([("a", "u", "x")], items), file_name="f.csv", data=b"1", dataset="d"
    )
    bad = pd.DataFrame({"item_id": ["a"], "gold_label": ["y"]})
    with pytest.raises(ImportFailed) as exc:
        store.import_result(
            _result([("a", "v", "x")], bad), file_name="g.csv", data=b"2", dataset="d"
        )
    assert str(exc.value) == (
        "1 problem in g.csv; nothing was imported:\n"
        "  - g.csv, field 'gold_label': expected the gold label already stored for item 'a' ('x'); "
        "found 'y'"
    )
    assert store.datasets()["annotations"].tolist() == [1]
    assert len(store.provenance("d")) == 1


def test_failed_write_rolls_back(store, monkeypatch):
    store.import_result(_result([("a", "u", "x")]), file_name="f.csv", data=b"1", dataset="d")
    import consistency.store as st

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(st.Store, "_upsert_items", boom)
    with pytest.raises(RuntimeError):
        store.import_result(_result([("b", "u", "x")]), file_name="g.csv", data=b"2", dataset="d")
    assert store.datasets()["annotations"].tolist() == [1]
    assert len(store.provenance("d")) == 1


def test_unknown_dataset_lists_known_ones(store):
    store.import_result(_result([("a", "u", "x")]), file_name="f.csv", data=b"1", dataset="d")
    with pytest.raises(
        DatasetNotFound, match=r"^dataset 'nope' not found in the store. Datasets: d$"
    ):
        store.annotations("nope")


def test_metadata_filter_and_labeler_filter(store):
    items = pd.DataFrame({"item_id": ["a", "b"], "camera": ["c1", "c2"]})
    store.import_result(
        _result([("a", "u", "x"), ("b", "u", "y"), ("b", "v", "y")], items),
        file_name="f.csv",
        data=b"1",
        dataset="d",
    )
    view = ViewFilter(metadata=(("camera", ("c2",)),))
    assert [r[0] for r in _rows(store, "d", view)] == ["b", "b"]
    assert view.describe() == "each item's latest round, camera = c2"
    assert [r[1] for r in _rows(store, "d", ViewFilter(labelers=("v",)))] == ["v"]


def test_attach_predictions_and_unknown_items(store):
    store.import_result(_result([("a", "u", "x")]), file_name="f.csv", data=b"1", dataset="d")
    preds = pd.DataFrame(
        {"item_id": ["a"], "model": ["m"], "predicted_label": ["x"], "confidence": [0.9]}
    )
    store.attach("d", "predictions", preds, file_name="p.csv", data=b"p", format="csv")
    assert store.predictions("d").execute()["predicted_label"].tolist() == ["x"]
    bad = pd.DataFrame({"item_id": ["zz"], "gold_label": ["x"]})
    with pytest.raises(ImportFailed, match="found 1 unknown: 'zz'"):
        store.attach("d", "gold", bad, file_name="g.csv", data=b"g", format="csv")


def test_export_round_trip(store, tmp_path):
    items = pd.DataFrame({"item_id": ["a"], "camera": ["c1"]})
    store.import_result(
        _result([("a", "u", "x"), ("a", "v", "y")], items),
        file_name="f.csv",
        data=b"1",
        dataset="d",
    )
    out = tmp_path / "out.csv"
    assert store.export("d", out) == 2
    df = pd.read_csv(out)
    assert df.columns.tolist()[:4] == ["item_id", "labeler_id", "label", "round"]
    assert df["camera"].tolist() == ["c1", "c1"]
    with pytest.raises(
        InvalidArgument, match=r"expected a file name ending in \.csv, \.tsv or \.parquet"
    ):
        store.export("d", tmp_path / "out.xlsx")
