"""The Slices and rounds page: alpha per metadata value and per round, and two rounds compared.

The figures come from Streamlit-free functions of the store, tested on their
own and cached by the page through ``ctx.cached``:

* :func:`slice_figures`: alpha per value of a metadata field beside the alpha
  of the other items, a verdict per value and the notes on fragile figures;
* :func:`round_figures`: alpha per labeling round, with notes;
* :func:`round_comparison`: two rounds on the items labeled in both
  (:func:`consistency.compare.compare_rounds`): alpha, percent agreement and
  each class's specific agreement, their change with a paired bootstrap
  interval, a verdict, and the items whose consensus flipped.

The ``*_panel(ctx)`` functions draw them. This module also holds what the
Labelers page draws the same way: the notes of each row of a table
(:func:`with_notes`, :func:`note_names`, :func:`show_row_notes`), charts of
estimates with their intervals (:func:`interval_figure`) and figures shown
as a warning when they cannot be computed (:func:`computed`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from consistency.analysis import MAX_SLICE_VALUES, AnalysisOptions, round_table, slice_table
from consistency.compare import IMPROVED, WORSE, compare_rounds
from consistency.errors import ConsistencyError, NotComputable
from consistency.notes import add_notes, row_where
from consistency.store import Store, ViewFilter
from consistency.ui import fmt
from consistency.ui.fmt import chart_text, chart_texts, md
from consistency.ui.overview import (
    analysis_options,
    items_table,
    note_icon,
    sentence_case,
)
from consistency.ui.page import PageContext
from consistency.ui.page import go as go_to
from consistency.ui.state import View

R = TypeVar("R")


def options_for(view: View) -> AnalysisOptions:
    """The analysis options of a view: its level of measurement, the dashboard's bootstrap draws.

    >>> options_for(View(level="ordinal")).level, options_for(View()).n_boot
    ('ordinal', 1000)
    """
    return analysis_options(view.level)


#: Short names of the note codes, for a table column.
NOTE_NAMES: dict[str, str] = {
    "few_units": "few items",
    "sparse_class": "sparse class",
    "skewed": "skewed classes",
    "kappa_paradox": "kappa paradox",
    "unequal_use": "unequal class use",
    "wide_interval": "wide interval",
    "single_labeler_items": "single-label items",
}


def note_names(notes: Sequence[Mapping[str, str]]) -> str:
    """The short names of some notes, for a table cell ("" without notes).

    >>> note_names([{"code": "few_units"}, {"code": "wide_interval"}])
    'few items, wide interval'
    """
    names = [NOTE_NAMES.get(n["code"], n["code"]) for n in notes]
    return ", ".join(dict.fromkeys(names))


def note_line(note: Mapping[str, str], subject: str) -> str:
    """One note of a row as a caption: its icon, then the row it qualifies and the message.

    >>> print(note_line({"severity": "warning", "message": "few items"}, "Round 2"))
    :material/warning: Round 2: Few items.
    """
    return f"{note_icon(note['severity'])} {md(subject)}: {md(sentence_case(note['message']))}"


def show_row_notes(table: pd.DataFrame, subject: Callable[[Mapping[str, Any]], str]) -> None:
    """The notes of each row of ``table`` (its ``notes`` column) as captions naming the row."""
    for row in table.to_dict("records"):
        for note in row["notes"]:
            st.caption(note_line(note, subject(row)))


def with_notes(table: pd.DataFrame, figure: str, ann: Any = None) -> pd.DataFrame:
    """``table`` with a ``notes`` column: the notes of each row (see :mod:`consistency.notes`).

    ``figure`` names the rows as in an analysis result (``labelers``,
    ``slices``, ``rounds``); ``ann``, the view's annotations, enables the
    notes that need them (``unequal_use``).
    """
    records = table.to_dict("records")
    noted = add_notes({figure: records}, None, ann)
    by_where = {row_where(figure, row): row["notes"] for row in noted[figure]}
    out = table.copy()
    out["notes"] = [by_where.get(row_where(figure, row), []) for row in records]
    return out


def computed(ctx: PageContext, fn: Callable[..., R], *args: Any) -> R | None:
    """``ctx.cached(fn, *args)``; a figure that cannot be computed is shown as a warning (None)."""
    try:
        return ctx.cached(fn, *args)
    except ConsistencyError as exc:
        st.warning(md(sentence_case(str(exc))))
        return None


# ---- charts -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Band:
    """One series of estimates with intervals, drawn as points with error bars.

    Attributes:
        name: the legend entry.
        values, lows, highs: the estimates and their interval ends (NaN: none).
        colors: one colour per point (e.g. by verdict).
        hover: one hover text per point.
        symbol: the marker symbol.
    """

    name: str
    values: Sequence[float]
    lows: Sequence[float]
    highs: Sequence[float]
    colors: Sequence[str]
    hover: Sequence[str]
    symbol: str = "circle"


def _gap(a: Sequence[float], b: Sequence[float]) -> list[float]:
    return [0.0 if _nan(x) or _nan(y) else abs(x - y) for x, y in zip(a, b, strict=True)]


def _nan(x: float | None) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def interval_figure(
    labels: Sequence[str],
    bands: Sequence[Band],
    x_title: str,
    reference: float | None = None,
) -> go.Figure:
    """A horizontal chart: one row per label, each band's estimate with its interval.

    ``reference`` draws a vertical line (e.g. 0 for a change).
    """
    fig = go.Figure()
    for band in bands:
        fig.add_trace(
            go.Scatter(
                name=chart_text(band.name),
                y=chart_texts(labels),
                x=list(band.values),
                mode="markers",
                marker={"color": list(band.colors), "size": 11, "symbol": band.symbol},
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": _gap(band.highs, band.values),
                    "arrayminus": _gap(band.values, band.lows),
                    "color": fmt.NEUTRAL,
                    "thickness": 1.5,
                },
                hovertext=chart_texts(band.hover),
                hoverinfo="text",
            )
        )
    if reference is not None:
        fig.add_vline(x=reference, line_color=fmt.NEUTRAL, line_dash="dot")
    fig.update_layout(
        height=110 + 38 * max(len(labels), 1),
        margin={"l": 10, "r": 10, "t": 30, "b": 40},
        xaxis_title=x_title,
        yaxis={"autorange": "reversed", "type": "category"},
        scattermode="group",
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
        showlegend=len(bands) > 1,
        font={"size": 14},
    )
    return fig


#: Colour of a verdict in the charts (colour-blind-safe pair, grey for no difference).
VERDICT_COLORS: dict[str, str] = {
    "lower than the rest": fmt.BAD,
    "higher than the rest": fmt.GOOD,
    WORSE: fmt.BAD,
    IMPROVED: fmt.GOOD,
}


def verdict_color(verdict: str) -> str:
    """The chart colour of a verdict: blue for better, vermillion for worse, else grey."""
    return VERDICT_COLORS.get(verdict, fmt.NEUTRAL)


# ---- slices -----------------------------------------------------------------------------
LOWER, HIGHER, LIKE = "lower than the rest", "higher than the rest", "like the rest"


def slice_verdict(low: float, high: float, rest_low: float, rest_high: float) -> str:
    """How a slice compares with the other items: its interval lies below, above, or overlaps.

    >>> slice_verdict(0.26, 0.31, 0.59, 0.63), slice_verdict(0.5, 0.7, 0.6, 0.8)
    ('lower than the rest', 'like the rest')
    """
    if any(_nan(x) for x in (low, high, rest_low, rest_high)):
        return LIKE
    if high < rest_low:
        return LOWER
    if low > rest_high:
        return HIGHER
    return LIKE


def _too_many_values(store: Store, dataset: str, view: ViewFilter, field: str) -> int | None:
    """The field's number of values when it has too many to slice, else None."""
    filtered = dict(view.metadata).get(field)
    if filtered:
        count = len(filtered)
    else:
        meta = store.metadata_fields(dataset)
        known = meta.loc[meta["field"] == field, "distinct_values"]
        count = int(known.iat[0]) if len(known) else 0
    return count if count > MAX_SLICE_VALUES else None


def slice_figures(
    store: Store,
    dataset: str,
    view: ViewFilter,
    options: AnalysisOptions,
    field: str | None = None,
) -> pd.DataFrame:
    """Alpha per value of one metadata field (every field with 2 to 50 values when None).

    Columns of :func:`consistency.analysis.slice_table`, plus ``verdict``
    (:func:`slice_verdict`: the value's interval against the interval of the
    other items) and ``notes`` (the notes on each slice's figure).

    Raises:
        NotComputable: the field has more than ``MAX_SLICE_VALUES`` values in the view.
    """
    if field is not None:
        count = _too_many_values(store, dataset, view, field)
        if count is not None:
            raise NotComputable(
                f"field '{field}' has {count} values, more than {MAX_SLICE_VALUES}: too many "
                f"slices to compare; keep some of its values with the filter meta.{field}"
            )
    table = slice_table(store, dataset, view, options, fields=[field] if field else None)
    table["verdict"] = [
        slice_verdict(r.ci_low, r.ci_high, r.rest_ci_low, r.rest_ci_high)
        for r in table.itertuples()
    ]
    return with_notes(table, "slices")


def slice_story(table: pd.DataFrame) -> list[str]:
    """One sentence per slice whose alpha is lower than the rest of the items', lowest first.

    Those are the slices to look at. (When one value is low, the others are
    often "higher than the rest" only because the rest holds the low one; the
    chart and the table show them.)

    >>> t = pd.DataFrame({"field": ["camera"], "value": ["cam_C"], "alpha": [0.29],
    ...     "ci_low": [0.26], "ci_high": [0.31], "rest_alpha": [0.61],
    ...     "rest_ci_low": [0.59], "rest_ci_high": [0.63], "verdict": [LOWER]})
    >>> slice_story(t)
    ['camera = cam_C: alpha 0.29 [0.26, 0.31], lower than the rest of the items, 0.61 [0.59, 0.63]']
    """
    apart = table[table["verdict"] == LOWER].sort_values("alpha", kind="stable")
    return [
        f"{r.field} = {r.value}: alpha {fmt.interval(r.alpha, r.ci_low, r.ci_high)}, "
        f"{r.verdict} of the items, {fmt.interval(r.rest_alpha, r.rest_ci_low, r.rest_ci_high)}"
        for r in apart.itertuples()
    ]


def slice_display(table: pd.DataFrame) -> pd.DataFrame:
    """The slice table as shown: value, items, alpha and the rest's with intervals, verdict, notes."""
    return pd.DataFrame(
        {
            "field": table["field"],
            "value": table["value"],
            "items": table["items"],
            "share of items": table["items_share"] * 100,
            "alpha [95% interval]": [
                fmt.interval(r.alpha, r.ci_low, r.ci_high) for r in table.itertuples()
            ],
            "rest of the items": [
                fmt.interval(r.rest_alpha, r.rest_ci_low, r.rest_ci_high)
                for r in table.itertuples()
            ],
            "verdict": table["verdict"],
            "notes": [note_names(n) for n in table["notes"]],
        }
    )


def _slice_label(row: Any, one_field: bool) -> str:
    return str(row.value) if one_field else f"{row.field} = {row.value}"


def slices_figure(table: pd.DataFrame) -> go.Figure:
    """Alpha of each slice (coloured by verdict) beside the alpha of the rest of the items."""
    one_field = table["field"].nunique() <= 1
    rows = list(table.itertuples())
    labels = [_slice_label(r, one_field) for r in rows]
    slice_band = Band(
        "this slice",
        [r.alpha for r in rows],
        [r.ci_low for r in rows],
        [r.ci_high for r in rows],
        [verdict_color(r.verdict) for r in rows],
        [
            f"{label}: alpha {fmt.interval(r.alpha, r.ci_low, r.ci_high)}, "
            f"{fmt.count(int(r.items), 'item')}, {r.verdict}"
            for label, r in zip(labels, rows, strict=True)
        ],
    )
    rest_band = Band(
        "the rest of the items",
        [r.rest_alpha for r in rows],
        [r.rest_ci_low for r in rows],
        [r.rest_ci_high for r in rows],
        [fmt.NEUTRAL] * len(rows),
        [
            f"other items than {label}: alpha "
            f"{fmt.interval(r.rest_alpha, r.rest_ci_low, r.rest_ci_high)}"
            for label, r in zip(labels, rows, strict=True)
        ],
        symbol="diamond-open",
    )
    return interval_figure(labels, [slice_band, rest_band], "Krippendorff's alpha")


def slices_panel(ctx: PageContext) -> None:
    """Alpha per value of the chosen metadata field (``by``), or of every field."""
    dataset = ctx.require_dataset()
    st.subheader("Agreement per slice of the items")
    if not ctx.catalog.metadata_fields:
        st.info("This dataset has no item metadata (camera, site...) to slice by.")
        return
    field = ctx.view.by
    if field is None:
        st.caption(
            "Every metadata field with 2 to 50 values. Choose one with **Slice by** in the sidebar."
        )
    with st.spinner("Bootstrapping the interval of each slice…", show_time=True):
        table = computed(ctx, slice_figures, dataset, ctx.filter, options_for(ctx.view), field)
    if table is None:
        return
    if table.empty:
        st.info("No slice to show: no field has 2 to 50 values among the items of this view.")
        return
    for sentence in slice_story(table):
        st.markdown(f":material/arrow_right: {md(sentence)}")
    st.plotly_chart(slices_figure(table), key="slices_chart")
    st.caption(
        "Each value's alpha (dot) beside the alpha of the other items (diamond), with 95% "
        "bootstrap intervals. Vermillion: lower than the rest; blue: higher; grey: the "
        "intervals overlap."
    )
    show_row_notes(table, lambda r: f"{r['field']} = {r['value']}")
    st.dataframe(
        slice_display(table),
        hide_index=True,
        column_config={
            "share of items": st.column_config.NumberColumn(format="%.0f%%"),
            "items": st.column_config.NumberColumn(format="localized"),
        },
        key="slices_table",
    )


# ---- rounds -----------------------------------------------------------------------------
def round_figures(
    store: Store, dataset: str, view: ViewFilter, options: AnalysisOptions
) -> pd.DataFrame:
    """Alpha per labeling round (every round, the view's other filters), with ``notes``.

    Columns of :func:`consistency.analysis.round_table` plus ``notes``.
    """
    every_round = replace(view, rounds=("*",))
    return with_notes(round_table(store, dataset, every_round, options), "rounds")


def rounds_figure(table: pd.DataFrame) -> go.Figure:
    """Alpha of each round with its interval."""
    rows = list(table.itertuples())
    labels = [f"Round {r.round}" for r in rows]
    band = Band(
        "alpha",
        [r.alpha for r in rows],
        [r.ci_low for r in rows],
        [r.ci_high for r in rows],
        [fmt.GOOD] * len(rows),
        [
            f"{label}: alpha {fmt.interval(r.alpha, r.ci_low, r.ci_high)}, "
            f"{fmt.count(int(r.items), 'item')}"
            for label, r in zip(labels, rows, strict=True)
        ],
    )
    return interval_figure(labels, [band], "Krippendorff's alpha")


def round_display(table: pd.DataFrame) -> pd.DataFrame:
    """The round table as shown: round, items, annotations, alpha with interval, notes."""
    return pd.DataFrame(
        {
            "round": table["round"],
            "items": table["items"],
            "annotations": table["annotations"],
            "alpha [95% interval]": [
                fmt.interval(r.alpha, r.ci_low, r.ci_high) for r in table.itertuples()
            ],
            "notes": [note_names(n) for n in table["notes"]],
        }
    )


def rounds_panel(ctx: PageContext) -> None:
    """Alpha per labeling round (the round filter of the view does not apply here)."""
    dataset = ctx.require_dataset()
    st.subheader("Agreement per labeling round")
    st.caption("Each round on its own labels; the other filters of the view apply.")
    with st.spinner("Bootstrapping the interval of each round…", show_time=True):
        table = computed(ctx, round_figures, dataset, ctx.filter, options_for(ctx.view))
    if table is None or table.empty:
        return
    st.plotly_chart(rounds_figure(table), key="rounds_chart")
    show_row_notes(table, lambda r: f"Round {r['round']}")
    st.dataframe(round_display(table), hide_index=True, key="rounds_table")


# ---- two rounds compared ----------------------------------------------------------------
def default_comparison(rounds: Sequence[str]) -> tuple[str, str] | None:
    """The rounds compared when the URL names none: the one before the latest, and the latest.

    >>> default_comparison(["1", "2", "3"]), default_comparison(["1"])
    (('2', '3'), None)
    """
    return (rounds[-2], rounds[-1]) if len(rounds) >= 2 else None


def round_comparison(
    store: Store,
    dataset: str,
    view: ViewFilter,
    options: AnalysisOptions,
    first: str,
    second: str,
) -> dict[str, Any]:
    """Round ``second`` against round ``first`` (see :func:`consistency.compare.compare_rounds`).

    The view's filters other than the round narrow both rounds the same way;
    the level, draws and seed are the options'.
    """
    return compare_rounds(
        store,
        dataset,
        first,
        second,
        view=view,
        level=options.level,
        n_boot=options.n_boot,
        seed=options.seed,
    )


def _signed(x: float | None) -> str:
    return fmt.MISSING if _nan(x) else f"{x:+.2f}"


def change_text(change: Mapping[str, Any]) -> str:
    """A change as words: ``0.37 → 0.52, +0.16 [+0.12, +0.20]``.

    >>> change_text({"from": 0.365, "to": 0.522, "delta": 0.157, "ci_low": 0.118, "ci_high": 0.197})
    '0.36 → 0.52, +0.16 [+0.12, +0.20]'
    """
    return (
        f"{fmt.number(change.get('from'))} → {fmt.number(change.get('to'))}, "
        f"{_signed(change.get('delta'))} [{_signed(change.get('ci_low'))}, "
        f"{_signed(change.get('ci_high'))}]"
    )


def comparison_classes(result: Mapping[str, Any]) -> pd.DataFrame:
    """The per-class changes of a comparison, most improved first.

    Columns: class, n_from, n_to, from, to, delta, ci_low, ci_high, verdict.
    """
    cols = ["class", "n_from", "n_to", "from", "to", "delta", "ci_low", "ci_high", "verdict"]
    table = pd.DataFrame(result.get("per_class") or [], columns=cols)
    for col in ("from", "to", "delta", "ci_low", "ci_high"):
        table[col] = pd.to_numeric(table[col], errors="coerce").astype(float)
    return table.sort_values("delta", ascending=False, kind="stable", na_position="last")


def comparison_story(result: Mapping[str, Any]) -> list[str]:
    """The comparison in sentences: alpha's change and verdict, then the classes that moved."""
    a, b = result["from"], result["to"]
    alpha = {
        "from": result.get("alpha_from"),
        "to": result.get("alpha_to"),
        "delta": result.get("alpha_delta"),
        "ci_low": result.get("ci_low"),
        "ci_high": result.get("ci_high"),
    }
    lines = [
        f"Round {b} against round {a} on the {fmt.count(int(result['items_common']), 'item')} "
        f"labeled in both: alpha {change_text(alpha)}: {result['verdict']}."
    ]
    classes = comparison_classes(result)
    for verdict, word in ((IMPROVED, "Improved"), (WORSE, "Worse")):
        moved = classes[classes["verdict"] == verdict].to_dict("records")
        if verdict == WORSE:
            moved.reverse()
        if moved:
            named = ", ".join(f"{r['class']} ({_signed(r['delta'])})" for r in moved)
            lines.append(f"{word}: {named}.")
    return lines


def comparison_figure(classes: pd.DataFrame) -> go.Figure:
    """Each class's change of specific agreement with its paired interval, coloured by verdict."""
    rows = classes.to_dict("records")
    labels = [str(r["class"]) for r in rows]
    band = Band(
        "change",
        [r["delta"] for r in rows],
        [r["ci_low"] for r in rows],
        [r["ci_high"] for r in rows],
        [verdict_color(r["verdict"]) for r in rows],
        [
            f"{label}: {fmt.percent(r['from'])} → {fmt.percent(r['to'])} of its values agreeing, "
            f"change {_signed(r['delta'])} [{_signed(r['ci_low'])}, {_signed(r['ci_high'])}], "
            f"{r['verdict']}"
            for label, r in zip(labels, rows, strict=True)
        ],
    )
    return interval_figure(labels, [band], "Change of specific agreement", reference=0.0)


def comparison_display(classes: pd.DataFrame) -> pd.DataFrame:
    """The per-class table as shown."""
    return pd.DataFrame(
        {
            "class": classes["class"],
            "values (from)": classes["n_from"],
            "values (to)": classes["n_to"],
            "agreement (from)": classes["from"] * 100,
            "agreement (to)": classes["to"] * 100,
            "change [95% interval]": [
                f"{_signed(r['delta'])} [{_signed(r['ci_low'])}, {_signed(r['ci_high'])}]"
                for r in classes.to_dict("records")
            ],
            "verdict": classes["verdict"],
        }
    )


def flip_frames(result: Mapping[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The flips of a comparison: counted by (from, to), and item by item."""
    counts = pd.DataFrame(
        result.get("flip_counts") or [], columns=["from_label", "to_label", "items"]
    )
    items = pd.DataFrame(result.get("flips") or [], columns=["item_id", "from_label", "to_label"])
    return counts, items


def chosen_comparison(pair: tuple[str, str], position: int, chosen: str) -> tuple[str, str]:
    """The rounds compared after one of the two is changed; choosing the other one swaps them.

    >>> chosen_comparison(("1", "2"), 1, "3"), chosen_comparison(("1", "2"), 0, "2")
    (('1', '3'), ('2', '1'))
    """
    new = list(pair)
    new[position] = chosen
    if new[0] == new[1]:
        new[1 - position] = pair[position]
    return new[0], new[1]


_COMPARE_KEYS = ("compare_from", "compare_to")


def _choose_round(view: View, pair: tuple[str, str], position: int) -> None:
    """Callback of a round select box: write the comparison into the URL."""
    chosen = st.session_state[_COMPARE_KEYS[position]]
    go_to(replace(view, compare=chosen_comparison(pair, position, chosen)))


def _round_boxes(ctx: PageContext, pair: tuple[str, str]) -> None:
    """Two select boxes showing the rounds compared; a change goes to the URL (``compare``)."""
    cols = st.columns(2)
    for position, (col, label) in enumerate(zip(cols, ("From round", "To round"), strict=True)):
        key = _COMPARE_KEYS[position]
        st.session_state[key] = pair[position]
        col.selectbox(
            label,
            list(ctx.catalog.rounds),
            key=key,
            format_func=lambda r: f"Round {r}",
            on_change=_choose_round,
            args=(ctx.view, pair, position),
        )


def compare_panel(ctx: PageContext) -> None:
    """Two rounds compared on the items labeled in both: did the new instructions help?"""
    dataset = ctx.require_dataset()
    st.subheader("Two rounds compared")
    pair = ctx.view.compare or default_comparison(ctx.catalog.rounds)
    if pair is None:
        st.info("This dataset has one labeling round; import a relabeled round to compare.")
        return
    _round_boxes(ctx, pair)
    with st.spinner("Bootstrapping the change between the two rounds…", show_time=True):
        result = computed(
            ctx, round_comparison, dataset, ctx.filter, options_for(ctx.view), pair[0], pair[1]
        )
    if result is None:
        return
    for sentence in comparison_story(result):
        st.markdown(md(sentence))
    cols = st.columns(3)
    cols[0].metric("Items labeled in both", fmt.number(result["items_common"]), border=True)
    alpha_delta = result.get("alpha_delta")
    cols[1].metric(
        "Alpha",
        fmt.number(result.get("alpha_to")),
        delta=None if _nan(alpha_delta) else f"{alpha_delta:+.2f}",
        help=f"Round {md(pair[0])}: {fmt.number(result.get('alpha_from'))}; 95% paired bootstrap "
        f"interval of the change [{_signed(result.get('ci_low'))}, {_signed(result.get('ci_high'))}]"
        f": {result['verdict']}",
        border=True,
    )
    pa = result["percent_agreement"]
    cols[2].metric(
        "Percent agreement",
        fmt.percent(pa.get("to")),
        delta=None if _nan(pa.get("delta")) else f"{100 * pa['delta']:+.0f} points",
        help=f"{change_text(pa)}: {pa['verdict']}",
        border=True,
    )
    classes = comparison_classes(result)
    st.markdown("**Specific agreement of each class**: the change and its paired interval")
    st.plotly_chart(comparison_figure(classes), key="compare_chart")
    st.dataframe(
        comparison_display(classes),
        hide_index=True,
        column_config={
            "agreement (from)": st.column_config.NumberColumn(format="%.0f%%"),
            "agreement (to)": st.column_config.NumberColumn(format="%.0f%%"),
        },
        key="compare_table",
    )
    _flips(ctx, result)


def _flips(ctx: PageContext, result: Mapping[str, Any]) -> None:
    counts, items = flip_frames(result)
    st.markdown(
        f"**Consensus flips**: {fmt.count(len(items), 'item')} changed consensus label "
        f"between round {md(result['from'])} and round {md(result['to'])}"
    )
    if items.empty:
        return
    st.dataframe(
        counts.rename(columns={"from_label": "from", "to_label": "to"}),
        hide_index=True,
        key="flip_counts",
    )
    with st.expander(f"The {fmt.count(len(items), 'flipped item')}"):
        changes = items.set_index("item_id").rename(
            columns={"from_label": f"round {result['from']}", "to_label": f"round {result['to']}"}
        )
        items_table(ctx, items["item_id"].tolist(), changes, key="flips")
