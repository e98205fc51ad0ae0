"""The HTML and Markdown reports and the lineage: content, escaping, and the page in Chromium."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consistency.analysis import AnalysisOptions, analyze
from consistency.cli import main
from consistency.errors import DatasetNotFound, InvalidArgument
from consistency.io import Source, read_source
from consistency.report import (
    Heading,
    Paragraph,
    Table,
    format_lineage,
    lineage_record,
    md_escape,
    render_html,
    render_markdown,
    render_report,
    report_format,
    write_report,
)
from consistency.sample import import_sample
from consistency.store import Store

#: The module's fixtures analyze the sample once: keep its tests on one worker.
pytestmark = pytest.mark.xdist_group("report")

OPTIONS = AnalysisOptions(n_boot=200)
SECTIONS = (
    "overview",
    "notes",
    "recommendations",
    "classes",
    "confusion",
    "labelers",
    "slices",
    "rounds",
    "provenance",
    "options",
)
GENERATED = "2026-01-02 03:04 UTC"

#: Labels, ids and metadata values that would break a page or a table if written raw.
HOSTILE_LABELS = (
    "<script>alert(1)</script>",
    "\"quoted\" & 'single'",
    "emoji 🙂",
    "שריטה",
    "a|b **bold** _x_ [l](http://x)",
    "<img src=x onerror=alert(2)>",
)
HOSTILE_LABELERS = ('"><svg onload=alert(3)>', "ann", "ليلى")


# ---- fixtures ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The sample dataset (two rounds, metadata, gold, predictions): result, lineage, files."""
    folder = tmp_path_factory.mktemp("report")
    store = Store(folder / "store.duckdb")
    try:
        import_sample(store)
        result = analyze(store, "inspection", options=OPTIONS)
        lineage = lineage_record(store, "inspection")
    finally:
        store.close()
    page = folder / "inspection.html"
    page.write_text(render_report(result, lineage, "html", GENERATED), encoding="utf-8")
    markdown = render_report(result, lineage, "markdown", GENERATED)
    return {"result": result, "lineage": lineage, "html_path": page, "md": markdown, "db": folder}


def hostile_csv() -> bytes:
    rows = ["item_id,labeler_id,label,camera"]
    for i in range(36):
        item = f"<b>item {i}</b>" if i % 7 == 0 else f"it|{i}"
        camera = "<i>cam</i>" if i % 2 else "קצה"
        for j, labeler in enumerate(HOSTILE_LABELERS):
            label = HOSTILE_LABELS[(i + (j == 2 and i % 4 == 0)) % len(HOSTILE_LABELS)]
            rows.append(",".join(_csv_cell(x) for x in (item, labeler, label, camera)))
    return ("\n".join(rows) + "\n").encode("utf-8")


def _csv_cell(x: str) -> str:
    return '"' + x.replace('"', '""') + '"' if any(c in x for c in ',"\n') else x


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A dataset whose labels, item ids, labeler ids and metadata are hostile to HTML and Markdown."""
    folder = tmp_path_factory.mktemp("hostile")
    db = folder / "store.duckdb"
    store = Store(db)
    try:
        data = hostile_csv()
        store.import_result(
            read_source(Source("hostile.csv", data)),
            file_name="<hostile>.csv",
            data=data,
            dataset="hostile",
        )
        result = analyze(store, "hostile", options=OPTIONS)
        lineage = lineage_record(store, "hostile")
    finally:
        store.close()
    page = folder / "hostile.html"
    page.write_text(render_report(result, lineage, "html", GENERATED), encoding="utf-8")
    return {
        "result": result,
        "html_path": page,
        "md": render_report(result, lineage, "markdown", GENERATED),
        "db": db,
    }


# ---- the HTML report -------------------------------------------------------------------------
def test_html_report_has_every_section_and_plotly_once(sample: dict) -> None:
    text = sample["html_path"].read_text(encoding="utf-8")
    for anchor in SECTIONS:
        assert f'<h2 id="{anchor}">' in text
        assert f'<a href="#{anchor}">' in text
    assert text.count("window.PlotlyConfig") == 1  # plotly.js inlined once
    assert text.count('<div id="fig-') == 4  # HLP vs model, confusion, slices, rounds
    assert "<title>Label consistency report: inspection</title>" in text
    assert "Content-Security-Policy" in text and "default-src &#x27;none&#x27;" in text


def test_html_report_loads_nothing_from_the_network(sample: dict) -> None:
    text = sample["html_path"].read_text(encoding="utf-8")
    assert not re.search(r"<(script|link|img|iframe)[^>]*\s(src|href)=[\"']?(https?:)?//", text)
    assert 'name="viewport"' in text and "<style>" in text  # style inline, no stylesheet link


def test_html_report_shows_the_figures_of_the_analysis(sample: dict) -> None:
    text = sample["html_path"].read_text(encoding="utf-8")
    r = sample["result"]
    a = r["alpha"]
    assert f"{a['value']:.3f} [{a['ci_low']:.3f}, {a['ci_high']:.3f}]" in text
    for row in r["per_class"]:
        assert f"<td><bdi>{row['class']}</bdi></td>" in text
    for rec in r["recommendations"]:
        assert html.escape(rec["evidence"]) in text
    for note in r["notes"]:
        assert html.escape(note["message"]) in text
    for labeler in r["labelers"]:
        assert f"<td><bdi>{labeler['labeler_id']}</bdi></td>" in text
    assert r["round_change"]["verdict"] in text
    for f in sample["lineage"]["files"]:
        assert f["sha256"] in text and html.escape(f["file_name"]) in text
    assert GENERATED in text


def test_hostile_labels_and_ids_are_escaped_in_html(hostile: dict) -> None:
    text = hostile["html_path"].read_text(encoding="utf-8")
    for raw in (*HOSTILE_LABELS, *HOSTILE_LABELERS, "<i>cam</i>"):
        if html.escape(raw) != raw:
            assert raw not in text
        assert html.escape(raw) in text
    assert "<b>item" not in text and "&lt;b&gt;item " in text
    assert "&lt;hostile&gt;.csv" in text
    # the only scripts are plotly's: its library and one call per chart
    assert len(re.findall(r"<script\b", text)) == 2 + text.count('<div id="fig-')


# ---- the Markdown report ---------------------------------------------------------------------
def _cells(line: str) -> list[str]:
    """The cells of a Markdown table row, split at unescaped pipes."""
    return re.split(r"(?<!\\)\|", line.strip())[1:-1]


def test_markdown_report_has_the_sections_without_charts(sample: dict) -> None:
    md = sample["md"]
    titles = [line for line in md.splitlines() if line.startswith("## ")]
    assert titles == [
        "## Overview",
        "## Notes on fragile figures",
        "## What to do next",
        "## Classes: agreement, human-level performance and the model",
        "## Confusion between classes",
        "## Labelers",
        "## Slices",
        "## Rounds",
        "## Provenance and lineage",
        "## How this report was made",
    ]
    assert md.startswith("# Label consistency report: inspection\n")
    assert "<script" not in md and "plotly" not in md
    a = sample["result"]["alpha"]
    assert f"{a['value']:.3f} \\[{a['ci_low']:.3f}, {a['ci_high']:.3f}\\]" in md


def test_markdown_tables_keep_their_shape_with_hostile_cells(hostile: dict) -> None:
    md = hostile["md"]
    lines = md.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("| ") and lines[i + 1].startswith("| ---"):
            width = len(_cells(line))
            j = i + 1
            while j < len(lines) and lines[j].startswith("|"):
                assert len(_cells(lines[j])) == width, lines[j]
                j += 1
    assert re.search(r"(?<!\\)<", md) is None  # every < is escaped
    assert "\\<script\\>alert(1)\\</script\\>" in md
    assert "a\\|b \\*\\*bold\\*\\* \\_x\\_ \\[l\\](http://x)" in md
    assert "שריטה" in md and "🙂" in md


@settings(max_examples=80, deadline=None)
@given(st.text())
def test_md_escape_is_one_line_and_loses_nothing(text: str) -> None:
    escaped = md_escape(text)
    assert "\n" not in escaped and "\r" not in escaped
    assert _cells(f"| {escaped} |") == [f" {escaped} "]
    unescaped = re.sub(r"\\(.)", r"\1", escaped)
    assert unescaped == re.sub(r"[\r\n\u2028\u2029\x0b\x0c]+", " ", text)


def test_renderers_escape_every_block() -> None:
    blocks = [Heading(1, "<h>"), Paragraph("x|y & z"), Table(("<c>",), (("1|2",),))]
    page = render_html(blocks, "<t>")
    assert "<title>&lt;t&gt;</title>" in page and "<h1>&lt;h&gt;</h1>" in page
    assert "<td><bdi>1|2</bdi></td>" in page and "<p>x|y &amp; z</p>" in page
    assert (
        render_markdown(blocks) == "# \\<h\\>\n\nx\\|y \\& z\n\n| \\<c\\> |\n| --- |\n| 1\\|2 |\n"
    )


# ---- formats, files and errors ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "name", "expected"),
    [
        ("r.html", None, "html"),
        ("r.HTM", None, "html"),
        ("r.md", None, "markdown"),
        ("r.markdown", None, "markdown"),
        ("r.txt", "markdown", "markdown"),
        ("r.md", "html", "html"),
    ],
)
def test_report_format(path: str, name: str | None, expected: str) -> None:
    assert report_format(path, name) == expected


def test_report_format_errors_in_words() -> None:
    message = (
        "cannot tell the report format of 'r.txt': name the file .html or .md, or give "
        "--report-format html|markdown"
    )
    with pytest.raises(InvalidArgument, match=f"^{re.escape(message)}$"):
        report_format("out/r.txt")
    with pytest.raises(
        InvalidArgument, match=r"^unknown report format 'pdf'\. Formats: html, markdown$"
    ):
        report_format("r.html", "pdf")


def test_write_report_refuses_a_missing_folder_before_analyzing(
    hostile: dict, tmp_path: Path
) -> None:
    store = Store(hostile["db"], read_only=True)
    try:
        with pytest.raises(
            InvalidArgument,
            match=r"^cannot write 'r\.md': folder '.*nowhere' does not exist; create it or choose another --out$",
        ):
            write_report(store, "hostile", tmp_path / "nowhere" / "r.md", options=OPTIONS)
        written = write_report(store, "hostile", tmp_path / "r.md", options=OPTIONS)
    finally:
        store.close()
    assert written.format == "markdown"
    assert written.size_bytes == (tmp_path / "r.md").stat().st_size
    assert written.result["dataset"]["dataset"] == "hostile"


def test_report_command_writes_html_and_markdown(hostile: dict, tmp_path: Path, capsys) -> None:
    db = str(hostile["db"])
    out = tmp_path / "r.html"
    assert main(["report", "hostile", "--db", db, "--bootstrap", "200", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"wrote the html report of dataset 'hostile' to {out} (")
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    md = tmp_path / "r.txt"
    args = ["report", "hostile", "--db", db, "--bootstrap", "200", "--out", str(md)]
    assert main([*args, "--report-format", "markdown"]) == 0
    assert md.read_text(encoding="utf-8").startswith("# Label consistency report: hostile")
    capsys.readouterr()
    assert main(args) == 1
    assert capsys.readouterr().err.startswith("error: cannot tell the report format of 'r.txt'")


# ---- lineage ---------------------------------------------------------------------------------
def test_lineage_record_lists_files_and_steps(sample: dict) -> None:
    lin = sample["lineage"]
    assert json.loads(json.dumps(lin, allow_nan=False)) == lin
    assert [f["file_name"] for f in lin["files"]] == [
        "inspection_long.csv",
        "inspection_predictions.csv",
    ]
    first = lin["files"][0]
    assert len(first["sha256"]) == 64 and first["format"] == "long"
    assert first["stats"]["rows_kept"] == first["rows_kept"]
    assert first["imported_at"].startswith("20")
    assert [s["action"] for s in lin["steps"]] == ["create", "import", "attach predictions"]
    text = format_lineage(lin)
    assert text.splitlines()[0].startswith("dataset inspection (created 20")
    assert f"     sha256 {first['sha256']}" in text
    assert "  3. " in text and "attach predictions: inspection_predictions.csv" in text


def test_lineage_command_prints_and_exports_json(sample: dict, tmp_path: Path, capsys) -> None:
    db = str(sample["db"] / "store.duckdb")
    assert main(["lineage", "inspection", "--db", db, "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["files"] == sample["lineage"]["files"]
    out = tmp_path / "lineage.json"
    assert main(["lineage", "inspection", "--db", db, "--out", str(out)]) == 0
    assert capsys.readouterr().out == f"wrote the lineage of dataset 'inspection' to {out}\n"
    assert json.loads(out.read_text()) == printed
    assert main(["lineage", "inspection", "--db", db]) == 0
    assert capsys.readouterr().out.splitlines()[1] == "files:"


def test_lineage_of_an_unknown_dataset(sample: dict) -> None:
    store = Store(sample["db"] / "store.duckdb", read_only=True)
    try:
        with pytest.raises(DatasetNotFound, match="^dataset 'nope' not found in the store"):
            lineage_record(store, "nope")
    finally:
        store.close()


# ---- the page in a real browser ----------------------------------------------------------------
@pytest.fixture(scope="module")
def chromium(browser_type):
    """Headless Chromium with the launch arguments of the dashboard's browser tests."""
    from browser.conftest import CHROMIUM, CHROMIUM_ARGS

    browser = browser_type.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


def open_report(chromium, path: Path) -> tuple[object, dict[str, list[str]]]:
    """Open a report file; collect console errors, page errors, dialogs and requests."""
    page = chromium.new_page(viewport={"width": 1400, "height": 2000})
    seen: dict[str, list[str]] = {"console": [], "errors": [], "dialogs": [], "requests": []}
    page.on("console", lambda m: seen["console"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on("dialog", lambda d: (seen["dialogs"].append(d.message), d.dismiss()))
    page.on("request", lambda r: seen["requests"].append(r.url))
    page.goto(path.as_uri())
    page.wait_for_selector(".plotly-graph-div .main-svg", timeout=30_000)
    return page, seen


@pytest.mark.browser
def test_html_report_renders_in_chromium(chromium, sample: dict) -> None:
    page, seen = open_report(chromium, sample["html_path"])
    try:
        charts = page.locator(".plotly-graph-div")
        assert charts.count() == 4
        for i in range(4):
            assert charts.nth(i).locator(".main-svg").count() >= 1
        assert page.title() == "Label consistency report: inspection"
        assert page.get_by_role("heading", level=1).inner_text() == (
            "Label consistency report: inspection"
        )
        assert page.locator("td", has_text="scratch_light").first.is_visible()
        ticks = page.locator("#fig-confusion .xtick text").all_text_contents()
        assert "scratch_light" in ticks
    finally:
        page.close()
    assert seen["console"] == [] and seen["errors"] == [] and seen["dialogs"] == []
    assert {url.split(":")[0] for url in seen["requests"]} == {"file"}


@pytest.mark.browser
def test_hostile_labels_show_as_text_in_chromium(chromium, hostile: dict) -> None:
    page, seen = open_report(chromium, hostile["html_path"])
    try:
        cells = page.locator("td bdi").all_inner_texts()
        for raw in (*HOSTILE_LABELS, *HOSTILE_LABELERS):
            assert raw in cells
        ticks = page.locator("#fig-hlp-vs-model .xtick text").all_text_contents()
        assert "<script>alert(1)</script>" in ticks
        assert page.locator("svg[onload], img[onerror]").count() == 0
    finally:
        page.close()
    assert seen["dialogs"] == [] and seen["errors"] == [] and seen["console"] == []
