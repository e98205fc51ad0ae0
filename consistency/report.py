"""Reports of a dataset: one self-contained HTML file, a Markdown variant, and its lineage.

Both reports are drawn from one :func:`consistency.analysis.analyze` result
(the figures and their notes) and one :func:`lineage_record` (where the data
came from). The document is first built as a list of plain blocks
(:class:`Heading`, :class:`Paragraph`, :class:`Table`, :class:`Figure`)
holding plain text; :func:`render_html` and
:func:`render_markdown` then write it, each escaping every piece of text for
its own format. Labels, item ids and labeler ids are user data: nothing is
written unescaped.

The HTML file works offline: its style is inline and plotly.js is embedded
once, before the first chart. Its Content-Security-Policy forbids every
network request. The Markdown variant, for a pull request or a ticket, has
the same sections without the charts; its tables are cut at
:data:`MARKDOWN_ROWS` rows.

>>> blocks = [Heading(1, "a|b"), Table(("class", "n"), (("<x>", "3"),), (False, True))]
>>> print(render_markdown(blocks))
# a\\|b
<BLANKLINE>
| class | n |
| --- | ---: |
| \\<x\\> | 3 |
<BLANKLINE>
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from consistency import __version__
from consistency.analysis import MAX_SLICE_VALUES
from consistency.errors import InvalidArgument
from consistency.store import Store, ViewFilter
from consistency.ui import fmt
from consistency.ui.fmt import chart_text

ReportFormat = Literal["html", "markdown"]

#: Report formats by file suffix.
SUFFIXES: dict[str, ReportFormat] = {
    ".html": "html",
    ".htm": "html",
    ".md": "markdown",
    ".markdown": "markdown",
}

#: Rows a table shows in the HTML report before "... and N more rows".
HTML_ROWS = 500
#: Rows a table shows in the Markdown report.
MARKDOWN_ROWS = 30
#: Example items listed per recommendation.
EXAMPLES_SHOWN = 5

#: The HTML report may load nothing from anywhere: it works offline by construction.
CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; "
    "style-src 'unsafe-inline'; img-src data: blob:; font-src data:"
)


# ---- the document --------------------------------------------------------------------
@dataclass(frozen=True)
class Heading:
    """A section title; ``anchor`` is its id in the HTML file."""

    level: int
    text: str
    anchor: str | None = None


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of plain text."""

    text: str


@dataclass(frozen=True)
class Table:
    """A table of plain-text cells.

    ``numeric`` says which columns hold numbers (right-aligned); when shorter
    than ``headers`` the rest are text. Text cells are isolated for
    right-to-left scripts in HTML (``<bdi>``).
    """

    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...] = ()

    def is_numeric(self, column: int) -> bool:
        """Whether column ``column`` holds numbers."""
        return column < len(self.numeric) and self.numeric[column]


@dataclass(frozen=True)
class Figure:
    """A Plotly figure (HTML only): ``name`` makes its element id, ``alt`` describes it,
    ``caption`` (if any) is the paragraph written above it."""

    name: str
    figure: Any
    alt: str
    caption: str = ""


Block = Heading | Paragraph | Table | Figure


@dataclass(frozen=True)
class Column:
    """One column of a table built from records: header, cell text, and whether it is a number."""

    header: str
    cell: Callable[[Mapping[str, Any]], str]
    numeric: bool = True


def table_of(records: Iterable[Mapping[str, Any]], columns: Sequence[Column]) -> Table:
    """A :class:`Table` with one row per record and the given columns."""
    rows = tuple(tuple(c.cell(r) for c in columns) for r in records)
    return Table(tuple(c.header for c in columns), rows, tuple(c.numeric for c in columns))


# ---- formatting figures ----------------------------------------------------------------
def _f(x: Any) -> float | None:
    return None if x is None or isinstance(x, bool | str) else float(x)


def num(x: Any, digits: int = 3) -> str:
    """A figure with ``digits`` decimals (counts with thousands separators); a dash when missing.

    >>> num(0.52254), num(2000), num(None)
    ('0.523', '2,000', '—')
    """
    if isinstance(x, int) and not isinstance(x, bool):
        return f"{x:,}"
    return fmt.number(_f(x), digits)


def pct(x: Any, digits: int = 1) -> str:
    """A share as a percentage; a dash when missing.

    >>> pct(0.6211), pct(None)
    ('62.1%', '—')
    """
    return fmt.percent(_f(x), digits)


def est(row: Mapping[str, Any], key: str, low: str, high: str, percent: bool = False) -> str:
    """``row[key]`` with its interval ``[row[low], row[high]]`` (as percentages if ``percent``).

    >>> est({"a": 0.5, "lo": 0.4, "hi": 0.6}, "a", "lo", "hi")
    '0.500 [0.400, 0.600]'
    >>> est({"a": 0.5, "lo": None, "hi": None}, "a", "lo", "hi", percent=True)
    '50.0%'
    """
    show = pct if percent else num
    head = show(row.get(key))
    if row.get(key) is None or row.get(low) is None or row.get(high) is None:
        return head
    return f"{head} [{show(row.get(low))}, {show(row.get(high))}]"


def _text(x: Any) -> str:
    return fmt.MISSING if x is None else str(x)


def isolate(x: Any) -> str:
    """A name set in a sentence or a list, isolated from the text around it (Unicode FSI ... PDI).

    A right-to-left label then keeps its place in a left-to-right list (and
    the other way round), in HTML and in Markdown alike.

    >>> isolate("שריטה") == "\u2068שריטה\u2069"
    True
    """
    return f"\u2068{x}\u2069"


def _codes(row: Mapping[str, Any]) -> str:
    return ", ".join(dict.fromkeys(str(n.get("code")) for n in row.get("notes") or []))


def _notes_column() -> Column:
    return Column("notes", _codes, numeric=False)


# ---- sections ------------------------------------------------------------------------
def _overview(result: Mapping[str, Any]) -> list[Block]:
    d = result["dataset"]
    a = result.get("alpha") or {}
    mv = (result.get("consensus") or {}).get("majority_vote") or {}
    ds = (result.get("consensus") or {}).get("dawid_skene") or {}
    per_item = ", ".join(f"{k}: {v:,}" for k, v in (d.get("labels_per_item") or {}).items())
    kappa = num(result.get("fleiss_kappa"))
    if result.get("fleiss_kappa") is None and result.get("fleiss_kappa_note"):
        kappa = f"{kappa} ({result['fleiss_kappa_note']})"
    rows = [
        ("items", num(d.get("items"))),
        ("labelers", num(d.get("labelers"))),
        ("annotations", num(d.get("annotations"))),
        ("pairable items (two labels or more)", num(d.get("pairable_items"))),
        ("labels per item (labels: items)", per_item or fmt.MISSING),
        ("classes", ", ".join(isolate(c) for c in d.get("classes") or []) or fmt.MISSING),
        ("rounds", ", ".join(str(r) for r in d.get("rounds") or []) or fmt.MISSING),
        ("gold items", num(d.get("gold_items"))),
        ("models", ", ".join(isolate(m) for m in d.get("models") or []) or fmt.MISSING),
        (
            f"Krippendorff's alpha ({a.get('level', 'nominal')}, "
            f"{pct(a.get('confidence'), 0)} bootstrap interval)",
            est(a, "value", "ci_low", "ci_high"),
        ),
        ("Fleiss' kappa", kappa),
        ("percent agreement", pct(result.get("percent_agreement"))),
        ("Gwet's AC1", num(result.get("gwet_ac1"))),
        (
            "majority vote: tied items",
            f"{num(mv.get('ties'))} of {num(mv.get('items'))}" if mv else fmt.MISSING,
        ),
        (
            "majority vote: accuracy on gold",
            f"{est(mv, 'gold_accuracy', 'gold_ci_low', 'gold_ci_high', True)} "
            f"over {num(mv.get('gold_n'))} gold items"
            if mv.get("gold_n")
            else fmt.MISSING,
        ),
        (
            "Dawid–Skene: accuracy on gold",
            f"{est(ds, 'gold_accuracy', 'gold_ci_low', 'gold_ci_high', True)} "
            f"over {num(ds.get('gold_n'))} gold items"
            if ds.get("gold_n")
            else fmt.MISSING,
        ),
        ("Dawid–Skene agrees with the majority vote on", pct(ds.get("agrees_with_majority"))),
    ]
    return [
        Heading(2, "Overview", "overview"),
        Paragraph(f"View: {result.get('view', fmt.MISSING)}."),
        Table(("figure", "value"), tuple(rows), (False, False)),
    ]


def _notes(result: Mapping[str, Any]) -> list[Block]:
    notes = result.get("notes") or []
    blocks: list[Block] = [Heading(2, "Notes on fragile figures", "notes")]
    if not notes:
        blocks.append(Paragraph("No notes: no figure of this view is flagged as fragile."))
        return blocks
    blocks.append(
        Paragraph(
            "Each note qualifies one figure (where) and says why it may mislead "
            "(see docs/notes-and-planner.md)."
        )
    )
    blocks.append(
        table_of(
            notes,
            [
                Column("where", lambda n: _text(n.get("where")), False),
                Column("note", lambda n: _text(n.get("code")), False),
                Column("severity", lambda n: _text(n.get("severity")), False),
                Column("message", lambda n: _text(n.get("message")), False),
            ],
        )
    )
    return blocks


def _examples(r: Mapping[str, Any]) -> str:
    items = [isolate(x) for x in r.get("example_items") or []]
    shown = ", ".join(items[:EXAMPLES_SHOWN])
    more = len(items) - EXAMPLES_SHOWN
    return shown + (f" ... and {more} more" if more > 0 else "")


def _recommendations(result: Mapping[str, Any]) -> list[Block]:
    recs = result.get("recommendations") or []
    blocks: list[Block] = [Heading(2, "What to do next", "recommendations")]
    if not recs:
        blocks.append(
            Paragraph("No recommendation scores above the threshold: nothing stands out to fix.")
        )
        return blocks
    blocks.append(
        Paragraph(
            "Ranked by score: the gain in alpha times the share of the data touched (for model "
            "work, the gap between human-level performance and the model). Example items are "
            "the most disputed ones (see docs/recommendations.md)."
        )
    )
    blocks.append(
        table_of(
            recs,
            [
                Column("rank", lambda r: num(r.get("rank"))),
                Column("action", lambda r: _text(r.get("action")), False),
                Column("target", lambda r: _text(r.get("target")), False),
                Column(
                    "alpha before → after",
                    lambda r: f"{num(r.get('alpha_before'))} → {num(r.get('alpha_after'))}",
                ),
                Column("share of data", lambda r: pct(r.get("share"))),
                Column("score", lambda r: num(r.get("score"), 4)),
                Column("evidence", lambda r: _text(r.get("evidence")), False),
                Column("example items", _examples, False),
            ],
        )
    )
    return blocks


def _partners(row: Mapping[str, Any]) -> str:
    parts = []
    for pair in row.get("main_partners") or []:
        if isinstance(pair, list | tuple) and len(pair) == 2:
            parts.append(f"{isolate(pair[0])} {pct(pair[1], 0)}")
    return ", ".join(parts)


def _classes(result: Mapping[str, Any], charts: Charts) -> list[Block]:
    rows = result.get("per_class") or []
    blocks: list[Block] = [
        Heading(2, "Classes: agreement, human-level performance and the model", "classes"),
        Paragraph(
            "Specific agreement: when one labeler gives the class, how often another labeler "
            "of the same item gives it too; this is also the human-level performance (HLP) the "
            "model is held to. Model accuracy: when a labeler gives the class, how often the "
            "model does; gap = HLP minus model accuracy; priority = the gap (when positive) "
            "times the share of the labels (see docs/metrics_hlp.md). Intervals: 95% Wilson."
        ),
        table_of(
            rows,
            [
                Column("class", lambda r: _text(r.get("class")), False),
                Column("labels", lambda r: num(r.get("n"), 0)),
                Column("items", lambda r: num(r.get("items"), 0)),
                Column("share", lambda r: pct(r.get("share"))),
                Column("specific agreement", lambda r: pct(r.get("specific_agreement"))),
                Column("alpha one-vs-rest", lambda r: num(r.get("alpha_one_vs_rest"))),
                Column("HLP", lambda r: est(r, "hlp", "hlp_ci_low", "hlp_ci_high", True)),
                Column(
                    "model accuracy",
                    lambda r: est(
                        r, "model_accuracy", "model_accuracy_ci_low", "model_accuracy_ci_high", True
                    ),
                ),
                Column("gap", lambda r: pct(r.get("gap"))),
                Column("priority", lambda r: num(r.get("priority"), 4)),
                Column("confused with", _partners, False),
                _notes_column(),
            ],
        ),
    ]
    if rows:
        blocks.append(charts.hlp_vs_model(rows))
    return blocks


def _confusion(result: Mapping[str, Any], charts: Charts) -> list[Block]:
    conf = result.get("confusion") or {}
    blocks: list[Block] = [Heading(2, "Confusion between classes", "confusion")]
    classes = conf.get("classes") or []
    if len(classes) >= 2:
        blocks.append(charts.confusion(conf))
    pairs = conf.get("top_pairs") or []
    if not pairs:
        blocks.append(Paragraph("No two classes are confused with each other in this view."))
        return blocks
    blocks.append(Paragraph("The most confused pairs, and alpha if each pair were merged:"))
    blocks.append(
        table_of(
            pairs,
            [
                Column("class a", lambda r: _text(r.get("class_a")), False),
                Column("class b", lambda r: _text(r.get("class_b")), False),
                Column("coincidences", lambda r: num(r.get("coincidences"), 1)),
                Column("a read as b", lambda r: pct(r.get("rate_a_to_b"))),
                Column("b read as a", lambda r: pct(r.get("rate_b_to_a"))),
                Column("alpha if merged", lambda r: num(r.get("alpha_after_merge"))),
                Column("gain", lambda r: num(r.get("alpha_gain"))),
            ],
        )
    )
    return blocks


def _labelers(result: Mapping[str, Any]) -> list[Block]:
    rows = result.get("labelers") or []
    opts = result.get("options") or {}
    blocks: list[Block] = [
        Heading(2, "Labelers", "labelers"),
        Paragraph(
            "Agreement: how often the labeler matches the other labelers of the same items; "
            "kappa against the consensus of the others; fast: share of answers faster than "
            f"{num(opts.get('fast_threshold_s'), 1)} s."
        ),
        table_of(
            rows,
            [
                Column("labeler", lambda r: _text(r.get("labeler_id")), False),
                Column("labels", lambda r: num(r.get("n"), 0)),
                Column("items", lambda r: num(r.get("items"), 0)),
                Column("agreement", lambda r: pct(r.get("agreement"))),
                Column(
                    "gold accuracy",
                    lambda r: est(r, "gold_accuracy", "gold_ci_low", "gold_ci_high", True),
                ),
                Column("gold items", lambda r: num(r.get("gold_n"), 0)),
                Column("kappa vs consensus", lambda r: num(r.get("kappa_vs_consensus"))),
                Column("median time (s)", lambda r: num(r.get("median_duration_s"), 1)),
                Column("fast", lambda r: pct(r.get("fast_share"))),
                Column("repeats", lambda r: num(r.get("repeats"), 0)),
                _notes_column(),
            ],
        ),
    ]
    pairs = sorted(
        result.get("kappa_pairs") or [],
        key=lambda r: (r.get("kappa") is None, r.get("kappa") or 0.0),
    )
    if pairs:
        blocks.append(
            Paragraph(
                f"Cohen's kappa of each pair of labelers sharing at least "
                f"{num(opts.get('min_shared'), 0)} items, lowest first:"
            )
        )
        blocks.append(
            table_of(
                pairs,
                [
                    Column("labeler a", lambda r: _text(r.get("labeler_a")), False),
                    Column("labeler b", lambda r: _text(r.get("labeler_b")), False),
                    Column("shared items", lambda r: num(r.get("shared_items"), 0)),
                    Column("kappa", lambda r: num(r.get("kappa"))),
                    Column("percent agreement", lambda r: pct(r.get("percent_agreement"))),
                ],
            )
        )
    return blocks


def _slices(result: Mapping[str, Any], charts: Charts) -> list[Block]:
    rows = result.get("slices") or []
    blocks: list[Block] = [Heading(2, "Slices", "slices")]
    if not rows:
        blocks.append(
            Paragraph(
                f"No metadata field with 2 to {MAX_SLICE_VALUES} values to slice this view by."
            )
        )
        return blocks
    blocks.append(
        Paragraph(
            "Alpha on the items with each value of a metadata field, beside the alpha of the "
            "other items of the view (95% bootstrap intervals)."
        )
    )
    blocks.append(
        table_of(
            rows,
            [
                Column("field", lambda r: _text(r.get("field")), False),
                Column("value", lambda r: _text(r.get("value")), False),
                Column("items", lambda r: num(r.get("items"), 0)),
                Column("share of items", lambda r: pct(r.get("items_share"))),
                Column("alpha", lambda r: est(r, "alpha", "ci_low", "ci_high")),
                Column(
                    "alpha of the rest",
                    lambda r: est(r, "rest_alpha", "rest_ci_low", "rest_ci_high"),
                ),
                _notes_column(),
            ],
        )
    )
    blocks.append(charts.slices(rows))
    return blocks


def _round_change(change: Mapping[str, Any]) -> str:
    return (
        f"Round {change.get('to')} against round {change.get('from')} on the "
        f"{num(change.get('items_common'))} items labeled in both: alpha "
        f"{num(change.get('alpha_from'))} → {num(change.get('alpha_to'))}, change "
        f"{num(change.get('alpha_delta'))} [{num(change.get('ci_low'))}, "
        f"{num(change.get('ci_high'))}]: {change.get('verdict', fmt.MISSING)}."
    )


def _rounds(result: Mapping[str, Any], charts: Charts) -> list[Block]:
    rows = result.get("rounds") or []
    blocks: list[Block] = [Heading(2, "Rounds", "rounds")]
    if not rows:
        blocks.append(Paragraph("No labeling round in this view."))
        return blocks
    blocks.append(
        table_of(
            rows,
            [
                Column("round", lambda r: _text(r.get("round")), False),
                Column("items", lambda r: num(r.get("items"), 0)),
                Column("pairable items", lambda r: num(r.get("pairable_items"), 0)),
                Column("annotations", lambda r: num(r.get("annotations"), 0)),
                Column("alpha", lambda r: est(r, "alpha", "ci_low", "ci_high")),
                _notes_column(),
            ],
        )
    )
    change = result.get("round_change")
    if change:
        blocks.append(Paragraph(_round_change(change)))
    if len(rows) >= 2:
        blocks.append(charts.rounds(rows))
    return blocks


def _provenance(lineage: Mapping[str, Any]) -> list[Block]:
    files = lineage.get("files") or []
    steps = lineage.get("steps") or []
    return [
        Heading(2, "Provenance and lineage", "provenance"),
        Paragraph(
            f"Dataset {lineage.get('dataset')} was created {_text(lineage.get('created_at'))}. "
            "The files it was built from (sha256 of each file as read), then every step applied "
            "to it, in order."
        ),
        table_of(
            files,
            [
                Column("import", lambda r: num(r.get("import_id"), 0)),
                Column("kind", lambda r: _text(r.get("kind")), False),
                Column("file", lambda r: _text(r.get("file_name")), False),
                Column("format", lambda r: _text(r.get("format")), False),
                Column("sha256", lambda r: _text(r.get("sha256")), False),
                Column("bytes", lambda r: num(r.get("size_bytes"), 0)),
                Column("rows kept", lambda r: num(r.get("rows_kept"), 0)),
                Column("rows rejected", lambda r: num(r.get("rows_rejected"), 0)),
                Column("round", lambda r: _text(r.get("round")), False),
                Column("imported at", lambda r: _text(r.get("imported_at")), False),
            ],
        ),
        table_of(
            steps,
            [
                Column("step", lambda r: num(r.get("step"), 0)),
                Column("action", lambda r: _text(r.get("action")), False),
                Column("detail", lambda r: _text(r.get("detail")), False),
                Column("at", lambda r: _text(r.get("at")), False),
            ],
        ),
    ]


def _options(result: Mapping[str, Any], generated_at: str) -> list[Block]:
    o = result.get("options") or {}
    return [
        Heading(2, "How this report was made", "options"),
        Paragraph(
            f"consistency {__version__}, {generated_at}. Level of measurement: "
            f"{o.get('level', fmt.MISSING)}; bootstrap draws: {num(o.get('n_boot'))}, seed "
            f"{_text(o.get('seed'))}; Cohen's kappa for pairs sharing at least "
            f"{num(o.get('min_shared'), 0)} items; fast answers: under "
            f"{num(o.get('fast_threshold_s'), 1)} s; model: {o.get('model') or 'the first by name'}. "
            "The same figures, as JSON: consistency analyze DATASET --json."
        ),
    ]


def report_blocks(
    result: Mapping[str, Any],
    lineage: Mapping[str, Any],
    generated_at: str | None = None,
    charts: Charts | None = None,
) -> list[Block]:
    """The report as a list of blocks: overview, notes, recommendations, classes, confusion,
    labelers, slices, rounds, provenance and lineage, and how it was made.

    Args:
        result: the dict of :func:`consistency.analysis.analyze`.
        lineage: the dict of :func:`lineage_record` for the same dataset.
        generated_at: the time written in the report (default: now, UTC).
        charts: the chart builder (default :class:`Charts`); charts are
            :class:`Figure` blocks, which only the HTML report draws.
    """
    charts = charts or Charts()
    generated_at = generated_at or _now()
    d = result["dataset"]
    return [
        Heading(1, f"Label consistency report: {d.get('dataset')}"),
        *_overview(result),
        *_notes(result),
        *_recommendations(result),
        *_classes(result, charts),
        *_confusion(result, charts),
        *_labelers(result),
        *_slices(result, charts),
        *_rounds(result, charts),
        *_provenance(lineage),
        *_options(result, generated_at),
    ]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


# ---- charts ----------------------------------------------------------------------------
def _error(
    values: list[float | None], lows: list[float | None], highs: list[float | None]
) -> dict[str, Any]:
    plus = [None if v is None or h is None else h - v for v, h in zip(values, highs, strict=True)]
    minus = [
        None if v is None or lo is None else v - lo for v, lo in zip(values, lows, strict=True)
    ]
    return {"type": "data", "array": plus, "arrayminus": minus, "visible": True}


@dataclass
class Charts:
    """Builds the report's Plotly figures (labels escaped with :func:`chart_text`)."""

    height: int = 420
    template: str = "plotly_white"

    def _layout(self, fig: Any, title: str, height: int | None = None, **extra: Any) -> Any:
        fig.update_layout(
            title={"text": chart_text(title)},
            template=self.template,
            font={"size": 12},
            height=height or self.height,
            margin={"l": 60, "r": 20, "t": 60, "b": 60},
            **extra,
        )
        return fig

    def hlp_vs_model(self, rows: Sequence[Mapping[str, Any]]) -> Figure:
        """Per class: HLP and model accuracy as bars with their intervals."""
        import plotly.graph_objects as go

        x = [chart_text(r.get("class")) for r in rows]
        fig = go.Figure()
        series = [
            ("HLP", "hlp", fmt.GOOD),
            ("model accuracy", "model_accuracy", fmt.BAD),
        ]
        for name, key, colour in series:
            values = [_f(r.get(key)) for r in rows]
            if all(v is None for v in values):
                continue
            lows = [_f(r.get(f"{key}_ci_low")) for r in rows]
            highs = [_f(r.get(f"{key}_ci_high")) for r in rows]
            fig.add_trace(
                go.Bar(
                    name=name,
                    x=x,
                    y=values,
                    marker_color=colour,
                    error_y=_error(values, lows, highs),
                    hovertemplate="%{x}: %{y:.1%}<extra>" + name + "</extra>",
                )
            )
        self._layout(
            fig,
            "Human-level performance against the model, per class",
            barmode="group",
            yaxis={"range": [0, 1.05], "tickformat": ".0%"},
            xaxis={"type": "category"},
        )
        return Figure("hlp-vs-model", fig, "HLP and model accuracy per class, with intervals")

    def confusion(self, conf: Mapping[str, Any]) -> Figure:
        """The row-normalized coincidence matrix as a heatmap (counts on hover)."""
        import plotly.graph_objects as go

        labels = [chart_text(c) for c in conf.get("classes") or []]
        n = len(labels)
        fig = go.Figure(
            go.Heatmap(
                z=conf.get("row_normalized"),
                x=labels,
                y=labels,
                customdata=conf.get("counts"),
                zmin=0,
                zmax=1,
                colorscale="Blues",
                colorbar={"title": {"text": "share"}, "tickformat": ".0%"},
                hovertemplate="given %{y}, other labeler %{x}: %{z:.1%} "
                "(%{customdata:.1f} coincidences)<extra></extra>",
            )
        )
        size = max(self.height, 60 + 36 * n)
        self._layout(
            fig,
            "Confusion between classes (row shares)",
            height=size,
            xaxis={"type": "category", "title": {"text": "label of another labeler"}},
            yaxis={"type": "category", "autorange": "reversed", "title": {"text": "label given"}},
        )
        return Figure(
            "confusion",
            fig,
            "Heatmap of how often each class meets each other class",
            "Row: a label given; column: the label another labeler gave the same item "
            "(coincidences, each row as shares; counts on hover).",
        )

    def slices(self, rows: Sequence[Mapping[str, Any]]) -> Figure:
        """Alpha per slice (with interval) beside the alpha of the rest."""
        import plotly.graph_objects as go

        y = [chart_text(f"{r.get('field')} = {r.get('value')}") for r in rows]
        fig = go.Figure()
        for name, key, low, high, colour, symbol in (
            ("slice", "alpha", "ci_low", "ci_high", fmt.BAD, "circle"),
            (
                "rest of the view",
                "rest_alpha",
                "rest_ci_low",
                "rest_ci_high",
                fmt.NEUTRAL,
                "circle-open",
            ),
        ):
            values = [_f(r.get(key)) for r in rows]
            error = _error(values, [_f(r.get(low)) for r in rows], [_f(r.get(high)) for r in rows])
            fig.add_trace(
                go.Scatter(
                    name=name,
                    x=values,
                    y=y,
                    mode="markers",
                    marker={"color": colour, "size": 10, "symbol": symbol},
                    error_x=error,
                    hovertemplate="%{y}: %{x:.3f}<extra>" + name + "</extra>",
                )
            )
        self._layout(
            fig,
            "Alpha per slice",
            height=max(self.height, 80 + 28 * len(rows)),
            yaxis={"type": "category", "autorange": "reversed"},
            xaxis={"title": {"text": "Krippendorff's alpha"}},
        )
        return Figure("slices", fig, "Alpha of each slice beside the alpha of the rest")

    def rounds(self, rows: Sequence[Mapping[str, Any]]) -> Figure:
        """Alpha per labeling round with its interval."""
        import plotly.graph_objects as go

        values = [_f(r.get("alpha")) for r in rows]
        error = _error(
            values, [_f(r.get("ci_low")) for r in rows], [_f(r.get("ci_high")) for r in rows]
        )
        fig = go.Figure(
            go.Scatter(
                x=[chart_text(r.get("round")) for r in rows],
                y=values,
                mode="lines+markers",
                marker={"color": fmt.GOOD, "size": 10},
                error_y=error,
                hovertemplate="round %{x}: %{y:.3f}<extra></extra>",
            )
        )
        self._layout(
            fig,
            "Alpha per labeling round",
            xaxis={"type": "category", "title": {"text": "round"}},
            yaxis={"title": {"text": "Krippendorff's alpha"}},
        )
        return Figure("rounds", fig, "Alpha per labeling round with intervals")


# ---- HTML ------------------------------------------------------------------------------
_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#222;
line-height:1.45}
main{max-width:1200px;margin:0 auto;padding:1rem 2rem 4rem}
nav{background:#f4f6f8;padding:.5rem 2rem;font-size:.9rem;position:sticky;top:0;z-index:10}
nav a{margin-right:1rem;color:#0b5394;text-decoration:none}
h1{font-size:1.7rem}h2{margin-top:2.5rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
table{border-collapse:collapse;margin:.8rem 0;font-size:.88rem}
th,td{border:1px solid #ddd;padding:.3rem .5rem;vertical-align:top;text-align:left}
.scroll{overflow-x:auto}
th{background:#f4f6f8}td.n{text-align:right;white-space:nowrap}
.more{color:#666;font-style:italic}.figure{margin:1rem 0}
"""


def _h(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _html_table(table: Table, max_rows: int) -> str:
    if not table.rows:
        return '<p class="more">(none)</p>'
    head = "".join(
        f'<th scope="col" class="n">{_h(h)}</th>' if table.is_numeric(i) else f"<th>{_h(h)}</th>"
        for i, h in enumerate(table.headers)
    )
    body = []
    for row in table.rows[:max_rows]:
        cells = "".join(
            f'<td class="n">{_h(c)}</td>' if table.is_numeric(i) else f"<td><bdi>{_h(c)}</bdi></td>"
            for i, c in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    more = len(table.rows) - max_rows
    tail = f'<p class="more">... and {more:,} more rows</p>' if more > 0 else ""
    return (
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>{tail}"
    )


def render_html(blocks: Sequence[Block], title: str, max_rows: int = HTML_ROWS) -> str:
    """One self-contained HTML page of ``blocks``: every text escaped, plotly.js embedded once.

    >>> page = render_html([Heading(1, "<b>x</b>"), Paragraph("a & b")], "t")
    >>> "&lt;b&gt;x&lt;/b&gt;" in page and "a &amp; b" in page and "<script" not in page
    True
    """
    parts: list[str] = []
    plotly_included = False
    for block in blocks:
        if isinstance(block, Heading):
            anchor = f' id="{_h(block.anchor)}"' if block.anchor else ""
            parts.append(f"<h{block.level}{anchor}>{_h(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            parts.append(f"<p>{_h(block.text)}</p>")
        elif isinstance(block, Table):
            parts.append(_html_table(block, max_rows))
        elif isinstance(block, Figure):
            div = block.figure.to_html(
                full_html=False,
                include_plotlyjs=not plotly_included,
                div_id=f"fig-{block.name}",
                config={"displaylogo": False, "responsive": True},
            )
            plotly_included = True
            if block.caption:
                parts.append(f"<p>{_h(block.caption)}</p>")
            parts.append(f'<div class="figure" role="img" aria-label="{_h(block.alt)}">{div}</div>')
    nav = "".join(
        f'<a href="#{_h(b.anchor)}">{_h(b.text)}</a>'
        for b in blocks
        if isinstance(b, Heading) and b.level == 2 and b.anchor
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_h(CSP)}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_h(title)}</title><style>{_STYLE}</style></head>\n"
        f"<body><nav>{nav}</nav><main>\n" + "\n".join(parts) + "\n</main></body></html>\n"
    )


# ---- Markdown --------------------------------------------------------------------------
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&#!])")
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029\x0b\x0c]+")


def md_escape(x: Any) -> str:
    """Text as Markdown shows it literally, on one line (safe in a table cell).

    >>> md_escape("a|b *c* <script>\\nnext")
    'a\\\\|b \\\\*c\\\\* \\\\<script\\\\> next'
    """
    return _MD_SPECIAL.sub(r"\\\1", _LINE_BREAKS.sub(" ", str(x)))


def _md_table(table: Table, max_rows: int) -> str:
    if not table.rows:
        return "(none)"
    lines = [
        "| " + " | ".join(md_escape(h) for h in table.headers) + " |",
        "| "
        + " | ".join("---:" if table.is_numeric(i) else "---" for i in range(len(table.headers)))
        + " |",
    ]
    lines += ["| " + " | ".join(md_escape(c) for c in row) + " |" for row in table.rows[:max_rows]]
    more = len(table.rows) - max_rows
    if more > 0:
        lines.append(f"\n*... and {more:,} more rows (see the HTML report)*")
    return "\n".join(lines)


def render_markdown(blocks: Sequence[Block], max_rows: int = MARKDOWN_ROWS) -> str:
    """``blocks`` as Markdown (GitHub flavour): charts left out, every text escaped."""
    parts: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            parts.append(f"{'#' * block.level} {md_escape(block.text)}")
        elif isinstance(block, Paragraph):
            parts.append(md_escape(block.text))
        elif isinstance(block, Table):
            parts.append(_md_table(block, max_rows))
    return "\n\n".join(parts) + "\n"


# ---- lineage ---------------------------------------------------------------------------
def _iso(x: Any) -> str | None:
    if x is None:
        return None
    try:
        return x.isoformat()
    except AttributeError:
        return str(x)


def _stats(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def lineage_record(store: Store, dataset: str) -> dict[str, Any]:
    """Where a dataset came from and every step applied since, as one JSON-ready dict.

    Returns:
        ``dataset``, ``name``, ``created_at``; ``files``: every imported or
        attached file in order (import_id, kind, file_name, sha256,
        size_bytes, format, importer_version, rows_read, rows_kept,
        rows_rejected, round, stats (a dict), imported_at); ``steps``: the
        ordered steps (step, action, detail, import_id, at). Times are ISO 8601.

    Raises:
        DatasetNotFound: an unknown dataset (the message lists the known ones).
    """
    from consistency.analysis import clean_json

    store.require(dataset)
    info = store.datasets()
    row = info[info["id"] == dataset].iloc[0]
    prov = store.provenance(dataset).astype(object)
    files = []
    for rec in prov.to_dict("records"):
        rec["stats"] = _stats(rec.get("stats"))
        rec["imported_at"] = _iso(rec.get("imported_at"))
        files.append(rec)
    steps = []
    for rec in store.lineage(dataset).astype(object).to_dict("records"):
        rec["at"] = _iso(rec.get("at"))
        steps.append(rec)
    return clean_json(
        {
            "dataset": dataset,
            "name": str(row["name"]),
            "created_at": _iso(row["created_at"]),
            "files": files,
            "steps": steps,
        }
    )


def format_lineage(record: Mapping[str, Any]) -> str:
    """:func:`lineage_record` as text for the terminal: the files, then the steps."""
    lines = [f"dataset {record['dataset']} (created {record.get('created_at')})", "files:"]
    for f in record.get("files") or []:
        extra = f", round {f['round']}" if f.get("round") else ""
        lines.append(
            f"  {f.get('import_id')}. {f.get('file_name')} ({f.get('kind')}, {f.get('format')}, "
            f"{num(f.get('size_bytes'))} bytes{extra})"
        )
        lines.append(f"     sha256 {f.get('sha256')}")
        lines.append(
            f"     {num(f.get('rows_kept'))} rows kept, {num(f.get('rows_rejected'))} rejected; "
            f"imported {f.get('imported_at')} by {f.get('importer_version')}"
        )
    if not record.get("files"):
        lines.append("  (none)")
    lines.append("steps:")
    for s in record.get("steps") or []:
        lines.append(f"  {s.get('step')}. {s.get('at')}  {s.get('action')}: {s.get('detail')}")
    return "\n".join(lines)


# ---- the whole report ------------------------------------------------------------------
def report_format(path: str | Path, fmt_name: str | None = None) -> ReportFormat:
    """The report format: ``fmt_name`` when given, else from the file suffix.

    >>> report_format("out/report.md"), report_format("r.html"), report_format("x", "html")
    ('markdown', 'html', 'html')
    """
    if fmt_name is not None:
        name = fmt_name.lower()
        if name in ("md", "markdown"):
            return "markdown"
        if name in ("html", "htm"):
            return "html"
        raise InvalidArgument(f"unknown report format '{fmt_name}'. Formats: html, markdown")
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        raise InvalidArgument(
            f"cannot tell the report format of '{Path(path).name}': name the file .html or .md, "
            "or give --report-format html|markdown"
        )
    return SUFFIXES[suffix]


def render_report(
    result: Mapping[str, Any],
    lineage: Mapping[str, Any],
    fmt_name: ReportFormat = "html",
    generated_at: str | None = None,
) -> str:
    """The report of an analysis result and its lineage, as HTML or Markdown text."""
    blocks = report_blocks(result, lineage, generated_at)
    if fmt_name == "markdown":
        return render_markdown(blocks)
    title = f"Label consistency report: {result['dataset'].get('dataset')}"
    return render_html(blocks, title)


@dataclass(frozen=True)
class WrittenReport:
    """What :func:`write_report` wrote: the file, its format, its size in bytes, the figures."""

    path: Path
    format: ReportFormat
    size_bytes: int
    result: dict[str, Any]


def write_report(
    store: Store,
    dataset: str,
    out: str | Path,
    view: ViewFilter | None = None,
    options: Any = None,
    fmt_name: str | None = None,
    generated_at: str | None = None,
) -> WrittenReport:
    """Analyze a dataset view and write its report to ``out`` (HTML or Markdown).

    The format is ``fmt_name`` (``html`` or ``markdown``) or, when None, the
    suffix of ``out`` (``.html``, ``.htm``, ``.md``, ``.markdown``). The file
    is written only once the whole report is built.

    Args:
        store: the store holding ``dataset``.
        dataset: the dataset id.
        out: the report file; its folder must exist.
        view: the view to analyze (default: each item's latest round).
        options: :class:`consistency.analysis.AnalysisOptions` (default ones if None).
        fmt_name: ``html`` or ``markdown`` (default: from the suffix).
        generated_at: the time written in the report (default: now).

    Raises:
        InvalidArgument: an unknown format, or a folder that does not exist.
        DatasetNotFound, NotComputable: as :func:`consistency.analysis.analyze`.
    """
    from consistency.analysis import analyze

    out = Path(out)
    kind = report_format(out, fmt_name)
    if not out.parent.is_dir():
        raise InvalidArgument(
            f"cannot write '{out.name}': folder '{out.parent}' does not exist; create it or "
            "choose another --out"
        )
    result = analyze(store, dataset, view, options)
    text = render_report(result, lineage_record(store, dataset), kind, generated_at)
    data = text.encode("utf-8")
    out.write_bytes(data)
    return WrittenReport(out, kind, len(data), result)
