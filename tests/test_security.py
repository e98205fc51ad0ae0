"""Nobody gets in: text stays text, values never become SQL, files stay in the data folder.

* Labels, class names, labeler and item ids, rounds, models, file references and
  metadata names and values holding Markdown links, images, HTML, emphasis and
  Streamlit directives are shown as text on every dashboard page (checked on
  every string Streamlit renders as Markdown: text, captions, alerts, headings,
  figure cards, tooltips, widget labels and options, expander and tab labels),
  and so are the hostile values of a link in the errors about them.
* SQL in labels and in URL parameters is data: stored verbatim, matched as
  values, never run. The library builds no SQL from values (pinned inventory).
* Item file references resolve only inside the data folder.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fixtures.snapshots import digest
from markdown_it import MarkdownIt
from markdown_it.token import Token
from streamlit.testing.v1 import AppTest

from consistency.errors import DatasetNotFound
from consistency.io import Source, read_predictions, read_source
from consistency.settings import resolve_data_ref
from consistency.store import Store, ViewFilter
from consistency.ui.fmt import chart_text, md
from consistency.ui.items import resolve_image
from consistency.ui.state import PAGES

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 90

# ---- hostile data ------------------------------------------------------------------------
CLASS_LINK = "[cls](https://evil.example/c)"
CLASS_HTML = "<script>alert('c')</script>"
CLASS_STYLE = ":red[**loud**]"
CLASS_ANCHOR = '<a href="https://evil.example/a">a</a>'
LABELER = "[lab](https://evil.example/l)"
LABELER_STYLE = "**bob** :blue[b] <b>b</b>"
ITEM = "![item](https://evil.example/i.png)"
ITEM_HEADING = "# b <img src=x onerror=alert(1)>"
FIELD = "camera"
VALUE = "[val](https://evil.example/v)"
FIELD_LINK = "[site](https://evil.example/f)"
VALUE_MATH = "_north_ $x^2$ <i>n</i>"
ROUND = "[r2](https://evil.example/r)"
MODEL = "[m](https://evil.example/m)"
REF = "![ref](https://evil.example/r.png)"
SQL = "x'); DROP TABLE annotations; --"
#: Strings that must never reach a Markdown-rendering element as they are.
PAYLOADS = (
    CLASS_LINK,
    CLASS_HTML,
    CLASS_STYLE,
    CLASS_ANCHOR,
    LABELER,
    LABELER_STYLE,
    ITEM,
    ITEM_HEADING,
    VALUE,
    FIELD_LINK,
    VALUE_MATH,
    ROUND,
    MODEL,
    REF,
)

#: item -> (camera, site, image) and the labels of LABELER, ann and LABELER_STYLE in round 1.
_ITEMS: dict[str, tuple[tuple[str, str, str], tuple[str, str, str]]] = {
    ITEM: ((VALUE, VALUE_MATH, REF), (CLASS_LINK, CLASS_LINK, CLASS_HTML)),
    ITEM_HEADING: ((VALUE, "south", "../../etc/passwd"), (CLASS_HTML, CLASS_HTML, CLASS_HTML)),
    "c": (("cam_B", VALUE_MATH, "/etc/passwd"), (CLASS_LINK, "ok", "ok")),
    "d": (("cam_B", "south", "file:///etc/passwd"), ("ok", "ok", CLASS_LINK)),
    "e": ((VALUE, VALUE_MATH, "images/e.png"), (SQL, SQL, "ok")),
    "f": (("cam_B", "south", "javascript:alert(1)"), ("ok", CLASS_HTML, CLASS_STYLE)),
    "g": (("cam_B", "south", ""), (CLASS_STYLE, CLASS_STYLE, "ok")),
    "h": (("cam_B", "south", ""), (CLASS_ANCHOR, CLASS_ANCHOR, "ok")),
    "i": ((VALUE, VALUE_MATH, ""), (CLASS_ANCHOR, CLASS_ANCHOR, CLASS_HTML)),
}
#: Round ROUND relabels three items.
_ROUND_2 = {"c": ("ok", "ok", "ok"), "d": (CLASS_LINK, CLASS_LINK, "ok"), "f": (CLASS_HTML,) * 3}


def _csv_row(*values: str) -> str:
    return ",".join('"' + v.replace('"', '""') + '"' for v in values)


HOSTILE_CSV = "\n".join(
    [
        _csv_row("item_id", "labeler_id", "label", FIELD, FIELD_LINK, "image", "round"),
        *(
            _csv_row(item, who, label, *_ITEMS[item][0], round_)
            for round_, votes_of in (
                ("1", {i: v for i, (_, v) in _ITEMS.items()}),
                (ROUND, _ROUND_2),
            )
            for item, votes in votes_of.items()
            for who, label in zip((LABELER, "ann", LABELER_STYLE), votes, strict=True)
        ),
    ]
).encode()
PREDICTIONS_CSV = "\n".join(
    [
        "item_id,predicted_label,model,confidence",
        _csv_row(ITEM, CLASS_STYLE, MODEL, "0.9"),
        _csv_row("c", "ok", MODEL, "0.8"),
        _csv_row("d", CLASS_LINK, MODEL, "0.7"),
        _csv_row("h", CLASS_ANCHOR, MODEL, "0.6"),
        _csv_row("i", CLASS_ANCHOR, MODEL, "0.6"),
    ]
).encode()


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hostile") / "hostile.duckdb"
    store = Store(path)
    try:
        result = read_source(Source("hostile.csv", HOSTILE_CSV))
        store.import_result(result, file_name="hostile.csv", data=HOSTILE_CSV, dataset="hostile")
        predictions = read_predictions(Source("p.csv", PREDICTIONS_CSV))
        store.attach(
            "hostile",
            "predictions",
            predictions,
            file_name="p.csv",
            data=PREDICTIONS_CSV,
            format="csv",
        )
    finally:
        store.close()
    return path


# ---- 1. text stays text in the dashboard ------------------------------------------------------
#: Fields of Streamlit's element messages that are shown as plain text, never as Markdown:
#: widget ids, the options and values of select boxes (PLAIN_OPTIONS), input placeholders,
#: links' query strings, code blocks, chart specifications and tables' column settings
#: (whose tooltips, which are Markdown, are checked on their own).
PLAIN_FIELDS = frozenset(
    {"id", "form_id", "placeholder", "raw_value", "raw_values", "query_string", "code_text", "spec"}
)
PLAIN_OPTIONS = frozenset({"selectbox", "multiselect"})
#: CommonMark, as Streamlit renders it (tables and strikethrough as in GitHub's flavour).
COMMONMARK = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def _walk(node: Any) -> Iterator[Any]:
    yield node
    children = getattr(node, "children", None) or {}
    for child in children.values():
        yield from _walk(child)


def _strings(message: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(field path, text) of every string in a protobuf message, nested messages included."""
    for field, value in message.ListFields():
        if field.type not in (field.TYPE_STRING, field.TYPE_MESSAGE):
            continue
        name = path + field.name
        values = [value] if isinstance(value, str) or hasattr(value, "ListFields") else list(value)
        for v in values:
            if isinstance(v, str):
                yield name, v
            elif hasattr(v, "ListFields"):
                yield from _strings(v, name + ".")


def _rendered_markdown(at: AppTest) -> Iterator[tuple[str, str]]:
    """(where, text) of every string of the page that Streamlit renders as Markdown.

    Every string of every element and container counts (bodies, labels, values
    and deltas of figure cards, tooltips, options, expander and tab labels...)
    except the fields known to be plain text, so a new kind of element is
    checked without being listed.
    """
    for node in _walk(at._tree):
        proto = getattr(node, "proto", None)
        if not hasattr(proto, "ListFields"):
            continue
        kind = getattr(node, "type", type(node).__name__)
        for name, text in _strings(proto):
            leaf = name.rsplit(".", 1)[-1]
            if leaf == "columns":  # column headers are plain text, their tooltips Markdown
                for column, config in json.loads(text).items():
                    if config.get("help"):
                        yield f"{kind} column {column!r} help", config["help"]
            elif leaf not in PLAIN_FIELDS and not (leaf == "options" and kind in PLAIN_OPTIONS):
                yield f"{kind} {name}", text


def _json_strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(path, text) of every string in a chart specification, ``customdata`` left out.

    ``customdata`` holds raw values for clicks and hover templates' numbers; Plotly
    never draws it as text unless a template names it, and the templates are checked.
    """
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, v in value.items():
            if key != "customdata":
                yield from _json_strings(v, f"{path}.{key}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _json_strings(v, f"{path}[{i}]")


def _chart_text(at: AppTest) -> list[tuple[str, str]]:
    """(where, text) of every string of every Plotly chart of the page."""
    return [
        (f"chart {i}{where}", text)
        for i, chart in enumerate(at.get("plotly_chart"))
        for where, text in _json_strings(json.loads(chart.proto.spec))
    ]


def _tokens(tokens: list[Token]) -> Iterator[Token]:
    for token in tokens:
        yield token
        yield from _tokens(token.children or [])


def _markup(text: str) -> list[str]:
    """The links to evil.example, images and HTML that ``text`` renders to as Markdown."""
    return [
        f"{t.type} {t.attrGet('href') or t.attrGet('src') or t.content}"
        for t in _tokens(COMMONMARK.parse(text))
        if t.type in ("image", "html_inline", "html_block")
        or (t.type == "link_open" and "evil.example" in str(t.attrGet("href")))
    ]


def _page(db: Path, script: str, params: dict[str, str | list[str]]) -> AppTest:
    at = AppTest.from_file(str(ROOT / script), default_timeout=TIMEOUT)
    for name, value in params.items():
        at.query_params[name] = value
    return at.run()


#: Payloads that Plotly would read as tags or entities in a chart's text.
CHART_PAYLOADS = tuple(p for p in PAYLOADS if any(c in p for c in "<>&"))
#: Hostile names each page draws in a chart (escaped with chart_text).
CHARTED: dict[str, tuple[str, ...]] = {
    "overview": (),
    "classes": (CLASS_ANCHOR, CLASS_HTML, CLASS_LINK),
    "confusion": (CLASS_ANCHOR, CLASS_HTML, CLASS_LINK),
    "recommendations": (),
    "labelers": (CLASS_ANCHOR, CLASS_HTML, CLASS_LINK),
    "items": (),
    "slices": (VALUE_MATH, ROUND),
    "data": (),
}

#: The URL parameters putting each page's hostile name in focus.
FOCUS: dict[str, dict[str, str | list[str]]] = {
    "overview": {},
    "classes": {"class": CLASS_LINK},
    "confusion": {"pair": [CLASS_HTML, CLASS_LINK]},
    "recommendations": {},
    "labelers": {"labeler": LABELER},
    "items": {"item": ITEM},
    "slices": {"by": FIELD_LINK},
    "data": {},
}
#: Hostile names each page shows (escaped): in the sentence describing the view and the
#: sidebar's metadata filter on every page, and the page's own ones.
SHOWN: dict[str, tuple[str, ...]] = {
    "overview": (ROUND,),
    "classes": (CLASS_LINK,),
    "confusion": (CLASS_HTML, CLASS_LINK),
    "recommendations": (CLASS_HTML, CLASS_LINK),
    "labelers": (LABELER, LABELER_STYLE),
    "items": (ITEM, MODEL, CLASS_STYLE, REF, VALUE_MATH),
    "slices": (FIELD_LINK, VALUE_MATH, ROUND),
    "data": (),
}


@pytest.mark.parametrize("info", PAGES, ids=lambda p: p.id)
def test_hostile_names_are_shown_as_text_on_every_page(
    info: Any, hostile_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONSISTENCY_DB", str(hostile_db))
    params = {"dataset": "hostile", f"meta.{FIELD}": VALUE, **FOCUS[info.id]}
    at = _page(hostile_db, info.script, params)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    shown = list(_rendered_markdown(at))
    leaks = [
        (where, text[:160], [p for p in PAYLOADS if p in text], _markup(text))
        for where, text in shown
        if any(p in text for p in PAYLOADS) or _markup(text)
    ]
    assert leaks == []
    missing = [
        name
        for name in (VALUE, FIELD_LINK, *SHOWN[info.id])
        if not any(md(name) in text for _, text in shown)
    ]
    assert missing == []  # the names are there, escaped
    charts = _chart_text(at)
    drawn = [
        (where, text[:160], [p for p in CHART_PAYLOADS if p in text])
        for where, text in charts
        if any(p in text for p in CHART_PAYLOADS)
    ]
    assert drawn == []  # no chart draws a name's tags
    unescaped = [
        name for name in CHARTED[info.id] if not any(chart_text(name) in t for _, t in charts)
    ]
    assert unescaped == []  # the names are drawn, escaped


def test_a_link_with_hostile_values_shows_them_as_text_in_errors(
    hostile_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONSISTENCY_DB", str(hostile_db))
    params = {
        "dataset": "hostile",
        "class": "[go](https://evil.example/x)",
        "labelers": SQL,
        "round": "<b>r</b>",
        "meta.**f**": "v",
    }
    at = _page(hostile_db, "app.py", params)
    assert not at.exception
    assert [e.value for e in at.error] == [
        r"Class '\[go\](https://evil.example/x)' not found in dataset 'hostile'. Classes: "
        r'\:red\[\*\*loud\*\*\], \<a href="https://evil.example/a">a\</a>, '
        r"\<script>alert('c')\</script>, "
        r"\[cls\](https://evil.example/c), ok, x'); DROP TABLE annotations; --. "
        "Left out of this view.",
        r"Round '\<b>r\</b>' not found in dataset 'hostile'. Rounds: 1, "
        r"\[r2\](https://evil.example/r). Left out of this view.",
        "Labeler 'x'); DROP TABLE annotations; --' not found in dataset 'hostile'. Labelers: "
        r"\*\*bob\*\* \:blue\[b\] \<b>b\</b>, \[lab\](https://evil.example/l), ann. "
        "Left out of this view.",
        r"Metadata field '\*\*f\*\*' not found in dataset 'hostile'. Fields: "
        r"\[site\](https://evil.example/f), camera. Left out of this view.",
    ]
    assert at.query_params["dataset"] == "hostile"  # the usable part of the link is kept
    for key in ("class", "labelers", "round", "meta.**f**"):
        assert key not in at.query_params


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
        assert set(matched.execute()["item_id"]) == {ITEM, ITEM_HEADING, "e", "i"}
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
        ("consistency/engine.py", "raw_sql", "name"),  # kept(): a uuid temporary table
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


def test_a_read_only_data_page_offers_no_upload(read_only_db: Path) -> None:
    at = _page(read_only_db, "pages/8_Data.py", {"dataset": "s"})
    assert not at.exception
    assert [i.value for i in at.info] == [
        "This dashboard is read-only: files cannot be imported or attached here."
    ]
    for widget in ("file_uploader", "button", "text_input", "radio", "selectbox"):
        assert at.main.get(widget) == [], widget  # no upload or attach controls at all
    assert [s.value for s in at.subheader] == ["Datasets"]
    assert at.dataframe[0].value["dataset"].tolist() == ["s"]  # still shown
    assert [e.label for e in at.expander] == ["s (active)"]


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
