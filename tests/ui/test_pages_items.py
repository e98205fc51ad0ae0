"""The Items page: item rows and images without Streamlit, then the page under AppTest."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from consistency.io import Source, read_source
from consistency.sample import SAMPLE_DATASET, import_sample, sample_dir
from consistency.store import Store, ViewFilter
from consistency.ui import items

from .planted import (  # noqa: F401 (fixtures)
    DATASET,
    open_page,
    plain,
    planted_db_fixture,
    planted_store_fixture,
    png_bytes,
    texts,
)

ITEMS = "pages/6_Items.py"
LATEST = ViewFilter()


# ---- images -------------------------------------------------------------------------------
@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A data folder with a PNG, a broken PNG, a text file; a PNG and a link outside it."""
    data = tmp_path / "data"
    (data / "img").mkdir(parents=True)
    (data / "img" / "ok.png").write_bytes(png_bytes())
    (data / "img" / "broken.png").write_bytes(b"not a png")
    (data / "notes.txt").write_text("x")
    (tmp_path / "secret.png").write_bytes(png_bytes())
    (data / "img" / "link.png").symlink_to(tmp_path / "secret.png")
    return data


def test_a_file_inside_the_folder_is_shown(folder: Path) -> None:
    found = items.resolve_image("img/ok.png", folder)
    assert found.kind == "file"
    assert Path(found.location) == (folder / "img" / "ok.png").resolve()
    assert items.resolve_image("./img/../img/ok.png", folder).kind == "file"


@pytest.mark.parametrize(
    ("ref", "reason"),
    [
        ("../secret.png", "'../secret.png' is not a file inside the data folder; it is not shown"),
        (
            "img/../../secret.png",
            "'img/../../secret.png' is not a file inside the data folder; it is not shown",
        ),
        ("img/link.png", "'img/link.png' is not a file inside the data folder; it is not shown"),
        (
            "img/missing.png",
            "'img/missing.png' is not a file inside the data folder; it is not shown",
        ),
        ("img", "'img' is not a file inside the data folder; it is not shown"),
        ("img/broken.png", "'img/broken.png' cannot be read as an image"),
        (
            "notes.txt",
            "'notes.txt' is not an image file; expected one of .png, .jpg, .jpeg, .gif, .webp, .bmp",
        ),
        ("file:///etc/passwd", "only http and https links are shown; 'file:' links are not"),
        ("javascript:alert(1)", "only http and https links are shown; 'javascript:' links are not"),
        (
            "data:image/png;base64,AAAA",
            "only http and https links are shown; 'data:' links are not",
        ),
        ("", "this item names no image"),
        (None, "this item names no image"),
        ("img/a\x00.png", "'img/a\x00.png' is not a file inside the data folder; it is not shown"),
    ],
)
def test_refused_references_say_why(folder: Path, ref: str | None, reason: str) -> None:
    found = items.resolve_image(ref, folder)
    assert (found.kind, found.location, found.reason) == ("none", "", reason)


def test_an_absolute_path_is_refused_even_when_the_file_exists(folder: Path) -> None:
    secret = str(folder.parent / "secret.png")
    assert items.resolve_image(secret, folder).reason == (
        f"'{secret}' is not a file inside the data folder; it is not shown"
    )


def test_links_are_shown_only_for_http_and_https() -> None:
    assert items.resolve_image("https://example.com/a.png", None) == items.ImageRef(
        "url", "https://example.com/a.png"
    )
    assert items.resolve_image("HTTP://example.com/a.png", None).kind == "url"
    assert items.resolve_image("https:///no-host.png", None).kind == "none"


def test_without_a_data_folder_local_paths_say_how_to_set_one() -> None:
    assert items.resolve_image("img/ok.png", None).reason == (
        "'img/ok.png' is a local path: set CONSISTENCY_DATA_DIR to the folder that holds the "
        "images to show it"
    )


def test_too_large_images_are_refused(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(items, "MAX_IMAGE_BYTES", 10)
    assert items.resolve_image("img/ok.png", folder).reason == (
        "image 'img/ok.png' is larger than 0 MB"
    )


def test_data_folder_is_the_sample_folder_or_the_configured_one(tmp_path: Path) -> None:
    assert items.data_folder(True, tmp_path) == sample_dir()
    assert items.data_folder(False, tmp_path) == tmp_path
    assert items.data_folder(False, None) is None


def test_only_the_bundled_sample_counts_as_the_sample(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    try:
        import_sample(store)
        assert items.is_sample(store, SAMPLE_DATASET)
        data = b"item,worker,label\n1,a,x\n"
        store.import_result(
            read_source(Source("mine.csv", data)), file_name="mine.csv", data=data, dataset="other"
        )
        assert not items.is_sample(store, "other")
    finally:
        store.close()
    # a dataset that only takes the sample's name is not the sample
    fake = Store(tmp_path / "fake.duckdb")
    try:
        data = b"item,worker,label\n1,a,x\n"
        fake.import_result(
            read_source(Source("inspection_long.csv", data)),
            file_name="inspection_long.csv",
            data=data,
            dataset=SAMPLE_DATASET,
        )
        assert not items.is_sample(fake, SAMPLE_DATASET)
    finally:
        fake.close()


# ---- item rows ----------------------------------------------------------------------------
def test_item_rows_hold_labels_consensus_gold_model_and_metadata(planted_store: Store) -> None:
    rows = items.item_rows(planted_store, DATASET, LATEST, ("p31", "p00"))
    assert rows.columns.tolist() == [*items.ITEM_COLUMNS, "camera", "serial"]
    first, second = rows.to_dict("records")
    assert first == {
        "item_id": "p31",
        "labels": "a: dent, b: dent, c: dent, d: ok",
        "votes": 4,
        "majority": "dent",
        "tie": False,
        "gold_label": "dent",
        "model": "m1",
        "predicted_label": "dent",
        "model_confidence": 0.9,
        "data_ref": "img/p31.png",
        "camera": "cam_C",
        "serial": "s031",
    }
    assert (second["item_id"], second["labels"], second["predicted_label"]) == (
        "p00",
        "a: ok, b: ok, c: ok",
        "crack",
    )
    assert pd.isna(second["gold_label"])


def test_labels_name_their_round_when_there_are_several(planted_store: Store) -> None:
    rows = items.item_rows(planted_store, DATASET, ViewFilter(rounds=("*",)), ("p01",))
    assert rows["labels"].iat[0] == (
        "a: dent (round 1), b: ok (round 1), c: ok (round 1), d: ok (round 1), "
        "a: dent (round 2), b: dent (round 2), c: dent (round 2)"
    )


def test_a_tie_lists_the_tied_labels(tmp_path: Path) -> None:
    store = Store(tmp_path / "tie.duckdb")
    try:
        data = b"item,worker,label\nt,a,x\nt,b,y\nu,a,x\nu,b,x\n"
        store.import_result(
            read_source(Source("t.csv", data)), file_name="t.csv", data=data, dataset="ties"
        )
        rows = items.item_rows(store, "ties", LATEST, ("t", "u"))
    finally:
        store.close()
    assert rows[["majority", "tie", "votes"]].values.tolist() == [
        ["tie: x | y", True, 2],
        ["x", False, 2],
    ]
    assert rows["model"].isna().all() and rows["data_ref"].isna().all()


def test_item_annotations_keep_the_order_given(planted_store: Store) -> None:
    ann = items.item_annotations(planted_store, DATASET, ViewFilter(rounds=("*",)), ("p02", "p01"))
    assert ann["item_id"].tolist() == ["p02"] * 7 + ["p01"] * 7
    assert ann[["labeler_id", "round"]].head(5).values.tolist() == [
        ["a", "1"],
        ["b", "1"],
        ["c", "1"],
        ["d", "1"],
        ["a", "2"],
    ]


def test_disputed_rows_are_worst_first_and_filtered(planted_store: Store) -> None:
    rows = items.disputed_rows(planted_store, DATASET, LATEST, limit=50)
    assert rows.columns[:3].tolist() == ["item_id", "disagreement", "labels"]
    assert rows["disagreement"].is_monotonic_decreasing and (rows["disagreement"] > 0).all()
    # cam_A items agree in their latest round; cam_C ones disagree unless all say ok
    assert set(rows["camera"]) == {"cam_C"} and len(rows) == 25
    cracks = items.disputed_rows(planted_store, DATASET, LATEST, ("crack",))
    assert all("crack" in labels for labels in cracks["labels"])
    assert len(cracks) < len(rows)
    none = items.disputed_rows(planted_store, DATASET, LATEST, labeler="d", limit=5)
    assert len(none) == 5 and all("d: ok" in labels for labels in none["labels"])
    quiet = items.disputed_rows(planted_store, DATASET, ViewFilter(rounds=("2",)))
    assert quiet.empty


def test_dawid_skene_goes_after_the_majority(planted_store: Store) -> None:
    rows = items.item_rows(planted_store, DATASET, LATEST, ("p31",))
    ds = items.dawid_skene_labels(planted_store, DATASET, LATEST)
    merged = items.with_dawid_skene(rows, ds)
    at = merged.columns.tolist().index("majority")
    assert merged.columns[at + 1 : at + 3].tolist() == ["ds_label", "ds_confidence"]
    assert merged["ds_label"].iat[0] == "dent" and merged["ds_confidence"].iat[0] > 0.9


# ---- the page ---------------------------------------------------------------------------
def test_page_lists_the_disputed_items(planted_db: Path) -> None:
    at = open_page(ITEMS, dataset=DATASET)
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    assert len(table) == 25 and table["item_id"].iat[0] == "p34"
    assert table.columns.tolist() == [*items.LIST_COLUMNS, "camera", "serial"]
    assert table["disagreement"].iat[0] == pytest.approx(100 * 5 / 6)
    assert plain(at.main.caption[-1].value) == "The 25 most disputed items. Click a row to see it."


def test_an_item_in_the_url_shows_its_image_and_figures(planted_db: Path) -> None:
    at = open_page(ITEMS, dataset=DATASET, item="p00")
    assert not at.exception and not at.error
    assert at.subheader[0].value == "Item p00"
    assert len(at.get("image")) == 1
    assert {m.label: m.value for m in at.metric} == {
        "Majority vote": "ok",
        "Dawid–Skene, 100% sure": "ok",
        "Gold label": "—",
        "Model m1, 90% confident": "crack",
    }
    labels = at.dataframe[0].value
    assert labels["round"].tolist() == ["1", "1", "1", "1", "2", "2", "2"]
    assert labels["labeler_page"].iat[0] == f"/Labelers?dataset={DATASET}&labeler=a"
    assert plain(at.main.markdown[-1].value) == "**Metadata**: camera = cam_A, serial = s000"


@pytest.mark.parametrize(
    ("item", "caption"),
    [
        ("p01", "'../outside.png' is not a file inside the data folder; it is not shown"),
        ("p03", "'img/p03.png' cannot be read as an image"),
        ("p04", "'img/p04.png' is not a file inside the data folder; it is not shown"),
    ],
)
def test_images_that_cannot_be_shown_say_why(planted_db: Path, item: str, caption: str) -> None:
    at = open_page(ITEMS, dataset=DATASET, item=item)
    assert not at.exception and not at.error
    assert not at.get("image")
    assert plain(at.caption[1].value) == f":material/hide_image: {caption}"


def test_a_link_is_handed_to_the_browser(planted_db: Path) -> None:
    at = open_page(ITEMS, dataset=DATASET, item="p02")
    image = at.get("image")[0]
    assert "https://example.com/p02.png" in json.dumps(str(image.proto))


def test_without_a_data_folder_the_page_says_how_to_set_one(
    planted_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CONSISTENCY_DATA_DIR")
    assert "CONSISTENCY_DATA_DIR" not in os.environ
    at = open_page(ITEMS, dataset=DATASET, item="p00")
    assert plain(at.caption[1].value).startswith(
        ":material/hide_image: 'img/p00.png' is a local path: set CONSISTENCY_DATA_DIR"
    )


def test_class_and_labeler_narrow_the_list_and_go_to_the_url(planted_db: Path) -> None:
    at = open_page(ITEMS, dataset=DATASET)
    at.selectbox(key="_v_class").select("crack").run()
    at.selectbox(key="_v_labeler").select("a").run()
    assert not at.exception
    assert at.query_params == {"dataset": DATASET, "class": "crack", "labeler": "a"}
    assert plain(at.main.caption[-1].value) == (
        "The 15 most disputed items with a label 'crack', labeled by a. Click a row to see it."
    )


def test_the_list_shows_the_item_of_the_url_selected(planted_db: Path) -> None:
    at = open_page(ITEMS, dataset=DATASET, item="p40")
    table = at.dataframe[1]
    rows = json.loads(table.proto.selection_default)["selection"]["rows"]
    assert table.value["item_id"].iloc[rows].tolist() == ["p40"]


def test_unknown_item_or_class_in_the_url_is_a_clear_error(planted_db: Path) -> None:
    at = open_page(ITEMS, dataset=DATASET, item="nope", **{"class": "scratch"})
    assert not at.exception
    assert [plain(e) for e in texts(at.error)] == [
        "Class 'scratch' not found in dataset 'planted'. Classes: crack, dent, ok. "
        "Left out of this view.",
        "Item 'nope' not found in dataset 'planted'. Left out of this view.",
    ]
    assert len(at.dataframe) == 1  # the list, without a focus
