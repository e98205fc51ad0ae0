"""A small dataset with known structure for the Labelers, Items and Slices pages.

Test modules import the fixtures ``planted_db`` and ``planted_store`` as
``planted_db_fixture`` and ``planted_store_fixture`` (pytest registers them
under their ``name``).

Dataset ``planted``: 60 items, labelers a, b, c and d, classes ok, dent, crack.

* Round 1, every item. Items p00-p29 are seen by camera cam_A: a, b and c
  give the true class (but b and c say ``ok`` on p01 and p02). Items p30-p59
  are seen by camera cam_C: b and c give the true class, a gives the next
  class on even items, so they disagree more.
* Labeler d answers ``ok`` to everything, in 1 second (the others take 10).
* Round 2 (the clarified instructions) relabels the cam_A items: a, b and c
  give the true class. Each item's latest round is then perfect on cam_A and
  poor on cam_C; p01 and p02 flip from ``ok`` to their true class.
* Gold labels on p30-p39 (the true class); metadata ``serial`` has one value per item.
* Model ``m1`` predicts the true class with confidence 0.9, except on p00 (``crack``).
* Images: p00 and p03 refer to ``img/p00.png`` and ``img/p03.png`` (a PNG
  and a broken file in the data folder), p01 to ``../outside.png`` (outside
  it), p02 to an https link; the other items to missing files.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from consistency.io import Source, read_predictions, read_source
from consistency.store import Store

DATASET = "planted"
CLASSES = ("ok", "dent", "crack")
LABELERS = ("a", "b", "c", "d")
ITEMS = tuple(f"p{i:02d}" for i in range(60))


def truth(n: int) -> str:
    """The true class of item number ``n``."""
    return CLASSES[n % 3]


def data_ref(n: int) -> str:
    if n == 1:
        return "../outside.png"
    if n == 2:
        return "https://example.com/p02.png"
    return f"img/p{n:02d}.png"


def _label(n: int, labeler: str, round_: int) -> str:
    if round_ == 2:
        return truth(n)
    if labeler == "d":
        return "ok"
    if n < 30:
        return "ok" if n in (1, 2) and labeler in ("b", "c") else truth(n)
    return CLASSES[(n + 1) % 3] if labeler == "a" and n % 2 == 0 else truth(n)


def planted_csv() -> bytes:
    """The annotations as a long CSV (round 1 for every item, round 2 for the cam_A ones)."""
    lines = ["item_id,labeler_id,label,round,duration_s,gold_label,image,camera,serial"]
    for round_ in (1, 2):
        for n, item in enumerate(ITEMS):
            if round_ == 2 and n >= 30:
                continue
            who = LABELERS if round_ == 1 else ("a", "b", "c")
            for labeler in who:
                lines.append(
                    ",".join(
                        [
                            item,
                            labeler,
                            _label(n, labeler, round_),
                            str(round_),
                            "1.0" if labeler == "d" else "10.0",
                            truth(n) if 30 <= n < 40 else "",
                            data_ref(n),
                            "cam_A" if n < 30 else "cam_C",
                            f"s{n:03d}",
                        ]
                    )
                )
    return ("\n".join(lines) + "\n").encode()


def predictions_csv() -> bytes:
    rows = ["item_id,model,predicted_label,confidence"]
    for n, item in enumerate(ITEMS):
        rows.append(f"{item},m1,{'crack' if n == 0 else truth(n)},0.9")
    return ("\n".join(rows) + "\n").encode()


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("L", (8, 8), color=128).save(out, format="PNG")
    return out.getvalue()


def seed_planted(path: Path) -> None:
    """Import the planted dataset and its predictions into a store file."""
    store = Store(path)
    try:
        data = planted_csv()
        store.import_result(
            read_source(Source("planted.csv", data)),
            file_name="planted.csv",
            data=data,
            dataset=DATASET,
        )
        preds = predictions_csv()
        store.attach(
            DATASET,
            "predictions",
            read_predictions(Source("preds.csv", preds)),
            file_name="preds.csv",
            data=preds,
            format="csv",
        )
    finally:
        store.close()


def write_images(folder: Path) -> Path:
    """The data folder: img/p00.png (a PNG), img/p03.png (not an image), and a PNG outside it."""
    (folder / "data" / "img").mkdir(parents=True)
    (folder / "data" / "img" / "p00.png").write_bytes(png_bytes())
    (folder / "data" / "img" / "p03.png").write_bytes(b"not a png")
    (folder / "outside.png").write_bytes(png_bytes())
    return folder / "data"


@pytest.fixture(name="planted_db")
def planted_db_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A store holding dataset ``planted``; CONSISTENCY_DB points to it, CONSISTENCY_DATA_DIR to its images."""
    path = tmp_path / "planted.duckdb"
    seed_planted(path)
    monkeypatch.setenv("CONSISTENCY_DB", str(path))
    monkeypatch.setenv("CONSISTENCY_DATA_DIR", str(write_images(tmp_path)))
    return path


@pytest.fixture(name="planted_store", scope="module")
def planted_store_fixture(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """An open store holding dataset ``planted``, shared by a module's tests (they only read it)."""
    path = tmp_path_factory.mktemp("planted") / "planted-lib.duckdb"
    seed_planted(path)
    opened = Store(path)
    yield opened
    opened.close()


ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60


def open_page(script: str, **params: str | list[str]) -> AppTest:
    """A page of the dashboard opened directly with these query parameters, run once.

    (Run alone, the page draws no links to the other pages; the page smoke
    tests of test_ui_pages.py open every page from the first one.)
    """
    at = AppTest.from_file(str(ROOT / script), default_timeout=TIMEOUT)
    for name, value in params.items():
        at.query_params[name] = value
    return at.run()


def texts(elements: object) -> list[str]:
    """The values of a list of AppTest elements (markdown, captions...)."""
    return [e.value for e in elements]  # type: ignore[attr-defined]


def plain(markdown: str) -> str:
    """Markdown text without its backslash escapes (what the reader sees)."""
    return re.sub(r"\\(.)", r"\1", markdown)
