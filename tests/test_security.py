"""Nobody gets in: text stays text, values never become SQL, files stay in the data folder.

* Labels, class names, labeler and item ids and metadata holding Markdown links,
  images and HTML are shown as text on every dashboard page (checked on every
  element that renders Markdown: text, captions, alerts, titles and widget labels).
* SQL in labels and in URL parameters is data: stored verbatim, matched as
  values, never run. The library builds no SQL from values (pinned inventory).
* Item file references resolve only inside the data folder.
"""

from __future__ import annotations

import ast
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fixtures.snapshots import digest
from streamlit.testing.v1 import AppTest

from consistency.errors import DatasetNotFound
from consistency.io import Source, read_source
from consistency.settings import resolve_data_ref
from consistency.store import Store, ViewFilter
from consistency.ui.items import resolve_image

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 90

# ---- hostile data ------------------------------------------------------------------------
CLASS_LINK = "[cls](https://evil.example/c)"
CLASS_HTML = "<script>alert('c')</script>"
LABELER = "[lab](https://evil.example/l)"
ITEM = "![item](https://evil.example/i.png)"
FIELD = "camera"
VALUE = "[val](https://evil.example/v)"
SQL = "x'); DROP TABLE annotations; --"
#: Strings that must never reach a Markdown-rendering element as they are.
PAYLOADS = (CLASS_LINK, CLASS_HTML, LABELER, ITEM, VALUE, "https://evil.example")

HOSTILE_CSV = "\n".join(
    [
        "item_id,labeler_id,label,camera,image",
        *(
            f'"{item}","{who}","{label}","{cam}","{ref}"'
            for item, cam, ref, votes in (
                (ITEM, VALUE, "javascript:alert(1)", (CLASS_LINK, CLASS_LINK, CLASS_HTML)),
                ("b", VALUE, "../../etc/passwd", (CLASS_HTML, CLASS_HTML, CLASS_HTML)),
                ("c", "cam_B", "/etc/passwd", (CLASS_LINK, "ok", "ok")),
                ("d", "cam_B", "file:///etc/passwd", ("ok", "ok", CLASS_LINK)),
                ("e", VALUE, "images/e.png", (SQL, SQL, "ok")),
                ("f", "cam_B", "", ("ok", CLASS_HTML, CLASS_HTML)),
            )
            for who, label in zip((LABELER, "ann", "bob"), votes, strict=True)
        ),
    ]
).encode()


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hostile") / "hostile.duckdb"
    store = Store(path)
    try:
        result = read_source(Source("hostile.csv", HOSTILE_CSV))
        store.import_result(result, file_name="hostile.csv", data=HOSTILE_CSV, dataset="hostile")
    finally:
        store.close()
    return path


# ---- 1. text stays text in the dashboard ------------------------------------------------------
#: Element types whose text Streamlit renders as Markdown.
MARKDOWN_TYPES = frozenset(
    {"markdown", "caption", "title", "header", "subheader", "error", "warning", "info", "success"}
)


def _walk(node: Any) -> Iterator[Any]:
    yield node
    children = getattr(node, "children", None) or {}
    for child in children.values():
        yield from _walk(child)


def _rendered_markdown(at: AppTest) -> Iterator[tuple[str, str]]:
    """(where, text) of every string the page renders as Markdown."""
    for node in _walk(at._tree):
        kind = getattr(node, "type", "")
        if kind in MARKDOWN_TYPES:
            yield kind, str(node.value)
        label = getattr(node, "label", None)
        if isinstance(label, str):
            yield f"{kind} label", label
        if kind == "radio":
            yield from (("radio option", str(o)) for o in node.options)
        proto = getattr(node, "proto", None)
        for block in ("expandable", "tab"):
            if proto is not None and hasattr(proto, block) and proto.HasField(block):
                yield block, getattr(proto, block).label


def _page(db: Path, script: str, params: dict[str, str | list[str]]) -> AppTest:
    at = AppTest.from_file(str(ROOT / script), default_timeout=TIMEOUT)
    for name, value in params.items():
        at.query_params[name] = value
    return at.run()


FOCUS: dict[str, dict[str, str | list[str]]] = {
    "overview": {},
    "classes": {"class": CLASS_LINK},
    "confusion": {"pair": [CLASS_HTML, CLASS_LINK]},
    "recommendations": {},
    "labelers": {"labeler": LABELER},
    "items": {"item": ITEM},
    "slices": {"by": FIELD},
    "data": {},
}


# ---- 2. values never become SQL ---------------------------------------------------------------
def test_sql_in_labels_and_filters_is_data(hostile_db: Path, tmp_path: Path) -> None:
    db = Path(shutil.copy(hostile_db, tmp_path / "copy.duckdb"))  # the pages hold the original
    before = digest(db)
    store = Store(db, read_only=True)
    try:
        everything = store.annotations("hostile", ViewFilter(rounds=("*",))).execute()
        assert (everything["label"] == SQL).sum() == 2  # stored verbatim
        for view in (
            ViewFilter(labelers=(SQL,)),
            ViewFilter(labelers=("ann' OR '1'='1",)),
            ViewFilter(metadata=((FIELD, ("cam_B' OR '1'='1",)),)),
            ViewFilter(metadata=((f"{FIELD}' OR '1'='1", ("cam_B",)),)),
            ViewFilter(rounds=("1' OR '1'='1",)),
        ):
            assert len(store.annotations("hostile", view).execute()) == 0
        matched = store.annotations("hostile", ViewFilter(metadata=((FIELD, (VALUE,)),)))
        assert set(matched.execute()["item_id"]) == {ITEM, "b", "e"}
        with pytest.raises(DatasetNotFound):
            store.annotations("hostile'; DROP TABLE annotations; --")
    finally:
        store.close()
    assert digest(db) == before


#: Every place the library passes SQL that is not a plain literal, and what is
#: interpolated: internal names only (temporary table names, fixed clauses,
#: canonical column names). A new entry needs a review that no value reaches it.
SQL_SITES: frozenset[tuple[str, str, str]] = frozenset(
    {
        ("consistency/analysis.py", "raw_sql", "name"),  # a uuid temporary table
        ("consistency/spark.py", "raw_sql", "name"),  # a uuid temporary table
        ("consistency/store.py", "_df", "where"),  # a fixed clause with a ? parameter
        ("consistency/store.py", "execute", "table"),  # _insert_df: our table names
        ("consistency/store.py", "execute", "cols"),  # _insert_df: canonical columns
        ("consistency/store.py", "execute", "sql"),  # _fetch/_df: their caller's literal
        ("consistency/migrations.py", "execute", "ddl"),  # the store's DDL constant
    }
)
_SQL_CALLS = frozenset({"execute", "executemany", "sql", "raw_sql", "_fetch", "_df", "query"})


def _sql_sites() -> set[tuple[str, str, str]]:
    found = set()
    for path in sorted((ROOT / "consistency").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name not in _SQL_CALLS or isinstance(node.args[0], ast.Constant):
                continue
            arg = node.args[0]
            if isinstance(arg, ast.JoinedStr):
                parts = [
                    ast.unparse(v.value) for v in arg.values if isinstance(v, ast.FormattedValue)
                ]
            else:
                parts = [ast.unparse(arg)]
            found |= {(rel, name, part) for part in parts}
    return found


def test_the_library_builds_no_sql_from_values() -> None:
    new = _sql_sites() - SQL_SITES
    assert not new, f"SQL built from expressions, review that no value reaches it: {sorted(new)}"
    assert _sql_sites(), "the inventory found no SQL at all: the scan is broken"


def test_no_page_renders_raw_html() -> None:
    sources = [
        ROOT / "app.py",
        *(ROOT / "pages").glob("*.py"),
        *(ROOT / "consistency").rglob("*.py"),
    ]
    offenders = [
        p.relative_to(ROOT).as_posix()
        for p in sources
        if any(
            s in p.read_text(encoding="utf-8")
            for s in ("unsafe_allow_html", "st.html(", "components.html")
        )
    ]
    assert offenders == []


# ---- 3. files stay in the data folder -----------------------------------------------------------
@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    (folder / "images").mkdir(parents=True)
    (folder / "images" / "a.png").write_bytes(_png())
    (tmp_path / "secret.png").write_bytes(_png())
    (tmp_path / "secret.txt").write_text("secret")
    os.symlink(tmp_path / "secret.png", folder / "images" / "link.png")
    os.symlink(tmp_path, folder / "up")
    return folder


def _png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (2, 2), "red").save(out, format="PNG")
    return out.getvalue()


ESCAPES = (
    "../secret.png",
    "images/../../secret.png",
    "images/link.png",  # a symbolic link pointing outside
    "up/secret.png",  # a linked folder pointing outside
    "/etc/passwd",
    "file:///etc/passwd",
    "//server/share/a.png",
    "..\\secret.png",
    "images/a.png\x00.txt",
    "javascript:alert(1)",
    "data:image/png;base64,AAAA",
    "/data/local-files/?d=../secret.png",
    "~/secret.png",
    "%2e%2e/secret.png",
    "images",  # a folder
)


@pytest.mark.parametrize("ref", ESCAPES)
def test_references_outside_the_data_folder_are_refused(ref: str, data_dir: Path) -> None:
    sentinel = str(data_dir.parent / "secret.png")
    assert resolve_data_ref(ref, data_dir) is None
    found = resolve_image(ref, data_dir)
    assert found.kind != "file" or Path(found.location).is_relative_to(data_dir.resolve())
    assert found.location != sentinel
    if "://" not in ref or ref.startswith("file:"):
        assert found.kind == "none"


def test_references_inside_the_data_folder_resolve(data_dir: Path) -> None:
    inside = (data_dir / "images" / "a.png").resolve()
    for ref in ("images/a.png", "./images/a.png", str(inside), "/data/local-files/?d=images/a.png"):
        assert resolve_data_ref(ref, data_dir) == inside
    assert resolve_image("images/a.png", data_dir).location == str(inside)
    assert resolve_data_ref("images/a.png", None) is None  # no data folder: nothing is read


# ---- 4. read-only dashboards -----------------------------------------------------------------
@pytest.fixture
def read_only_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "shared.duckdb"
    store = Store(path)
    try:
        data = b"item_id,labeler_id,label\na,ann,x\na,bob,x\nb,ann,y\nb,bob,x\n"
        store.import_result(read_source(Source("s.csv", data)), file_name="s.csv", data=data)
    finally:
        store.close()
    monkeypatch.setenv("CONSISTENCY_DB", str(path))
    monkeypatch.setenv("CONSISTENCY_READ_ONLY", "1")
    return path


def test_a_read_only_dashboard_shows_and_links_but_refuses_changes(read_only_db: Path) -> None:
    from consistency.settings import READ_ONLY_MESSAGE
    from consistency.ui import data
    from consistency.ui.page import get_store

    before = digest(read_only_db)
    at = _page(read_only_db, "app.py", {"dataset": "s", "round": "all"})
    assert not at.exception
    assert at.query_params["round"] == "all"  # the shared link's view is kept
    assert any(READ_ONLY_MESSAGE in c.value for c in at.sidebar.caption)
    for script in ("pages/8_Data.py", "pages/2_Classes.py"):
        assert not _page(read_only_db, script, {"dataset": "s"}).exception

    store = get_store(str(read_only_db))
    assert store.read_only
    upload = b"item_id,labeler_id,label\nz,ann,x\n"
    for outcome in (
        data.import_upload(store, "new.csv", upload),
        data.attach_upload(store, "s", "predictions", "p.csv", b"item_id,predicted_label\na,x\n"),
    ):
        assert (outcome.ok, outcome.message) == (False, READ_ONLY_MESSAGE)
    assert digest(read_only_db) == before

    other = Store(read_only_db, read_only=True)  # more readers (another dashboard) may share it
    try:
        assert other.dataset_ids() == ["s"]
    finally:
        other.close()


def test_a_read_only_dashboard_never_creates_a_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "nowhere.duckdb"
    monkeypatch.setenv("CONSISTENCY_DB", str(missing))
    monkeypatch.setenv("CONSISTENCY_READ_ONLY", "yes")
    at = _page(missing, "app.py", {})
    assert not at.exception
    assert [e.value for e in at.error] == [f"store '{missing}' does not exist"]
    assert not missing.exists()


def test_read_only_mode_from_the_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from consistency.ui.page import dashboard_settings

    monkeypatch.delenv("CONSISTENCY_READ_ONLY", raising=False)
    monkeypatch.setattr("sys.argv", ["app.py"])
    assert not dashboard_settings().read_only
    monkeypatch.setattr(
        "sys.argv", ["app.py", "--read-only"]
    )  # streamlit run app.py -- --read-only
    assert dashboard_settings().read_only


# ---- 5. login ---------------------------------------------------------------------------------------
AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "not-a-real-secret",
    "client_id": "consistency",
    "client_secret": "not-a-real-secret",
    "server_metadata_url": "https://login.example/.well-known/openid-configuration",
}


@pytest.mark.parametrize("script", ["app.py", "pages/8_Data.py", "pages/6_Items.py"])
def test_with_login_configured_nothing_shows_before_login(
    script: str, read_only_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CONSISTENCY_READ_ONLY")
    at = AppTest.from_file(str(ROOT / script), default_timeout=TIMEOUT)
    at.secrets["auth"] = AUTH
    at.query_params["dataset"] = "s"
    at.run()
    assert not at.exception
    assert [b.label for b in at.button] == ["Log in"]
    assert [i.value for i in at.info] == ["Log in to see the data."]
    shown = [n.type for n in _walk(at._tree) if getattr(n, "type", "") in ("dataframe", "metric")]
    assert shown == [] and not at.sidebar.selectbox  # no data, no dataset picker


def test_named_login_providers_get_a_button_each(
    read_only_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.secrets["auth"] = {"redirect_uri": AUTH["redirect_uri"], "cookie_secret": "x",
                          "google": {"client_id": "a"}, "okta": {"client_id": "b"}}  # fmt: skip
    at.run()
    assert [b.label for b in at.button] == ["Log in with google", "Log in with okta"]
