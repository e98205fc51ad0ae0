"""The Labelers page: who agrees with whom, who is accurate, who answers too fast.

Figures (Streamlit-free, tested on their own, cached by the page):

* :func:`labeler_summary`: one row per labeler (agreement, gold accuracy with
  its Wilson interval, Cohen's kappa against the others' majority, speed)
  with the notes on each labeler's figures;
* :func:`labeler_highlights`: the labelers that stand apart, in sentences;
* :func:`kappa_matrix`: Cohen's kappa of every pair of labelers sharing enough
  items, as a labelers x labelers table;
* :func:`labeler_confusions`: each labeler's Dawid–Skene confusion matrix
  (true class x label given), with how many items of each true class it saw;
* :func:`labeler_disputes`: the most disputed items a labeler labeled.

The ``*_panel(ctx)`` functions draw them; a row clicked in the table of
labelers, or the sidebar's **Labeler**, puts one labeler in focus
(``labeler=`` in the URL).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from consistency.analysis import (
    DS_MAX_ITER,
    AnalysisOptions,
    kappa_pairs,
    labeler_table,
    view_table,
)
from consistency.engine import disputed_by_labeler
from consistency.errors import NotComputable
from consistency.metrics.consensus import dawid_skene, majority_vote
from consistency.store import Store, ViewFilter
from consistency.ui import fmt
from consistency.ui.fmt import chart_texts, md
from consistency.ui.overview import items_table, select_into_view, show_notes
from consistency.ui.page import PageContext
from consistency.ui.slices import computed, note_names, options_for, with_notes

#: A labeler stands apart when its agreement is this far below the median of the others.
AGREEMENT_GAP = 0.10
#: A labeler answers too fast when this share of its timed answers is "fast".
FAST_SHARE = 0.25
#: Rows of a confusion matrix backed by fewer items than this are not summed up in words.
MIN_CLASS_SUPPORT = 5.0
#: An off-diagonal confusion cell is worth a sentence from this probability on.
MIN_CONFUSION = 0.10
#: The kappa matrix shows its numbers in the cells up to this many labelers.
MAX_CELL_TEXT = 20


# ---- the table of labelers --------------------------------------------------------------
def labeler_summary(
    store: Store, dataset: str, view: ViewFilter, options: AnalysisOptions
) -> pd.DataFrame:
    """One row per labeler (:func:`consistency.metrics.labelers.labelers`) and its ``notes``.

    The notes (few shared items, kappa paradox, unequal use of a class) are
    those of :mod:`consistency.notes` on ``labelers:<labeler_id>``.

    Raises:
        NotComputable: the view keeps no annotation.
    """
    with view_table(store, dataset, view) as ann:
        if int(ann.count().execute()) == 0:
            raise NotComputable(
                f"no annotations in this view of dataset '{dataset}' ({view.describe()}); "
                "loosen the filters"
            )
        table = labeler_table(store, dataset, view, options, ann)
        return with_notes(table, "labelers", ann)


def _median_of_others(values: pd.Series, position: int) -> float:
    others = values.drop(values.index[position]).dropna()
    return float(others.median()) if len(others) else float("nan")


def labeler_highlights(table: pd.DataFrame, fast_threshold_s: float = 3.0) -> list[str]:
    """Sentences on the labelers that stand apart from the others.

    * agreement more than :data:`AGREEMENT_GAP` below the median of the others;
    * gold accuracy whose interval lies below the median of the others;
    * at least :data:`FAST_SHARE` of the timed answers faster than ``fast_threshold_s``.

    >>> t = pd.DataFrame({"labeler_id": ["a", "b", "c"], "agreement": [0.7, 0.68, 0.45],
    ...     "gold_accuracy": [0.9, 0.8, 0.5], "gold_ci_low": [0.8, 0.7, 0.4],
    ...     "gold_ci_high": [0.95, 0.9, 0.6], "fast_share": [0.0, 0.01, 0.9]})
    >>> for line in labeler_highlights(t):
    ...     print(line)
    c agrees with the other labelers on 45% of its labels; the median of the others is 69%.
    c is right on 50% [40%, 60%] of the gold items; the median of the others is 85%.
    c gives 90% of its timed answers in less than 3 s.
    """
    lines: list[str] = []
    agreement = table["agreement"].astype(float).reset_index(drop=True)
    gold = table["gold_accuracy"].astype(float).reset_index(drop=True)
    for i, row in enumerate(table.to_dict("records")):
        who = row["labeler_id"]
        others = _median_of_others(agreement, i)
        if row["agreement"] < others - AGREEMENT_GAP:
            lines.append(
                f"{who} agrees with the other labelers on {fmt.percent(row['agreement'])} of its "
                f"labels; the median of the others is {fmt.percent(others)}."
            )
    for i, row in enumerate(table.to_dict("records")):
        others = _median_of_others(gold, i)
        if row["gold_ci_high"] < others:
            lines.append(
                f"{row['labeler_id']} is right on "
                f"{_percent_interval(row['gold_accuracy'], row['gold_ci_low'], row['gold_ci_high'])}"
                f" of the gold items; the median of the others is {fmt.percent(others)}."
            )
    for row in table.to_dict("records"):
        if row["fast_share"] >= FAST_SHARE:
            lines.append(
                f"{row['labeler_id']} gives {fmt.percent(row['fast_share'])} of its timed "
                f"answers in less than {fast_threshold_s:g} s."
            )
    return lines


def _percent_interval(x: float, low: float, high: float) -> str:
    if any(np.isnan(v) for v in (low, high)):
        return fmt.percent(x)
    return f"{fmt.percent(x)} [{fmt.percent(low)}, {fmt.percent(high)}]"


def labeler_display(table: pd.DataFrame) -> pd.DataFrame:
    """The table of labelers as shown: percentages as numbers 0-100, gold accuracy with interval."""
    rows = table.to_dict("records")
    return pd.DataFrame(
        {
            "labeler": table["labeler_id"],
            "annotations": table["n"],
            "agreement": table["agreement"] * 100,
            "gold accuracy": [
                _percent_interval(r["gold_accuracy"], r["gold_ci_low"], r["gold_ci_high"])
                if r["gold_n"]
                else fmt.MISSING
                for r in rows
            ],
            "gold items": table["gold_n"],
            "kappa": table["kappa_vs_consensus"],
            "median time (s)": table["median_duration_s"],
            "fast answers": table["fast_share"] * 100,
            "notes": [note_names(n) for n in table["notes"]],
        }
    )


def table_panel(ctx: PageContext) -> pd.DataFrame | None:
    """Every labeler's figures; clicking a row puts that labeler in focus. Returns the table."""
    dataset = ctx.require_dataset()
    options = options_for(ctx.view)
    st.subheader("Every labeler")
    table = computed(ctx, labeler_summary, dataset, ctx.filter, options)
    if table is None:
        return None
    if table.empty:
        st.info("No labels in this view. Widen the filters in the sidebar.")
        return table
    for sentence in labeler_highlights(table, options.fast_threshold_s):
        st.markdown(f":material/arrow_right: {md(sentence)}")
    ids = table["labeler_id"].astype(str).tolist()
    chosen = ctx.view.labeler
    key = f"labeler_rows_{chosen}"
    st.dataframe(
        labeler_display(table),
        hide_index=True,
        key=key,
        on_select=partial(select_into_view, key, ctx.view, "labeler", ids),
        selection_mode="single-row",
        selection_default={"selection": {"rows": [ids.index(chosen)] if chosen in ids else []}},
        placeholder=fmt.MISSING,
        column_config={
            "annotations": st.column_config.NumberColumn(width="small"),
            "agreement": st.column_config.NumberColumn(
                format="%.0f%%",
                width="small",
                help="Share of the other labelers' labels on the same items equal to this one's",
            ),
            "gold items": st.column_config.NumberColumn(width="small"),
            "fast answers": st.column_config.NumberColumn(
                format="%.0f%%",
                width="small",
                help=f"Answers given in less than {options.fast_threshold_s:g} s",
            ),
            "notes": st.column_config.TextColumn(width="medium"),
            "gold accuracy": st.column_config.TextColumn(
                help="Share of the labels on gold items equal to gold, with its 95% Wilson interval"
            ),
            "kappa": st.column_config.NumberColumn(
                format="%.2f",
                width="small",
                help="Cohen's kappa against the majority of the other labelers",
            ),
            "median time (s)": st.column_config.NumberColumn(format="%.1f", width="small"),
        },
    )
    st.caption("Click a row to see that labeler's confusions and disputed items.")
    return table


# ---- pairs of labelers ------------------------------------------------------------------
def pair_table(
    store: Store, dataset: str, view: ViewFilter, options: AnalysisOptions
) -> pd.DataFrame:
    """Cohen's kappa of every pair of labelers sharing ``options.min_shared`` items or more."""
    return kappa_pairs(store, dataset, view, options)


def kappa_matrix(
    pairs: pd.DataFrame, labelers: Sequence[str], column: str = "kappa"
) -> pd.DataFrame:
    """A labelers x labelers table of one pair figure (symmetric; NaN on the diagonal and for missing pairs).

    >>> p = pd.DataFrame({"labeler_a": ["a"], "labeler_b": ["b"], "kappa": [0.5]})
    >>> kappa_matrix(p, ["a", "b", "c"]).values.tolist()
    [[nan, 0.5, nan], [0.5, nan, nan], [nan, nan, nan]]
    """
    names = [str(x) for x in labelers]
    at = pd.Index(names)
    i = at.get_indexer(pairs["labeler_a"].astype(str))
    j = at.get_indexer(pairs["labeler_b"].astype(str))
    known = (i >= 0) & (j >= 0)
    values = pairs[column].to_numpy(dtype=float)[known]
    grid = np.full((len(names), len(names)), np.nan)
    grid[i[known], j[known]] = values
    grid[j[known], i[known]] = values
    return pd.DataFrame(grid, index=at, columns=pd.Index(names))


def heatmap(
    matrix: pd.DataFrame,
    *,
    x_title: str,
    y_title: str,
    hover: str,
    digits: int = 2,
    zmin: float = 0.0,
    zmax: float = 1.0,
    custom: pd.DataFrame | None = None,
) -> go.Figure:
    """A heatmap of a table: rows down, columns across, values in the cells.

    White to blue (one hue, readable in every common form of colour
    blindness); missing cells stay blank. ``hover`` is a Plotly hover
    template (``%{y}``, ``%{x}``, ``%{z}``, ``%{customdata}``).
    """
    z = matrix.to_numpy(dtype=float)
    show_text = max(matrix.shape) <= MAX_CELL_TEXT
    text = [["" if np.isnan(v) else f"{v:.{digits}f}" for v in row] for row in z]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=chart_texts(matrix.columns),
            y=chart_texts(matrix.index),
            zmin=zmin,
            zmax=zmax,
            colorscale=[[0.0, "#FFFFFF"], [1.0, fmt.GOOD]],
            text=text if show_text else None,
            texttemplate="%{text}" if show_text else None,
            customdata=None if custom is None else custom.to_numpy(),
            hovertemplate=hover + "<extra></extra>",
            hoverongaps=False,
            xgap=1,
            ygap=1,
        )
    )
    side = 60 + 42 * len(matrix.index)
    fig.update_layout(
        height=max(320, side + 80),
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        xaxis={"title": x_title, "side": "top", "type": "category"},
        yaxis={"title": y_title, "autorange": "reversed", "type": "category"},
        font={"size": 14},
    )
    return fig


def pairs_panel(ctx: PageContext, labelers: Sequence[str]) -> None:
    """Cohen's kappa of every pair of labelers sharing enough items, as a heatmap."""
    dataset = ctx.require_dataset()
    options = options_for(ctx.view)
    st.subheader("Agreement between pairs of labelers")
    pairs = computed(ctx, pair_table, dataset, ctx.filter, options)
    if pairs is None:
        return
    if pairs.empty:
        st.info(
            f"No two labelers share {options.min_shared} items or more in this view, "
            "so no pair has a Cohen's kappa."
        )
        return
    kappa = kappa_matrix(pairs, labelers)
    shared = kappa_matrix(pairs, labelers, "shared_items")
    fig = heatmap(
        kappa,
        x_title="",
        y_title="",
        hover="%{y} and %{x}: kappa %{z:.2f} on %{customdata:,.0f} shared items",
        custom=shared,
    )
    st.plotly_chart(fig, key="kappa_matrix")
    st.caption(
        f"Cohen's kappa of each pair of labelers on the items both labeled; pairs sharing "
        f"fewer than {options.min_shared} items are left blank."
    )


# ---- one labeler ------------------------------------------------------------------------
@dataclass(frozen=True)
class LabelerConfusions:
    """Each labeler's Dawid–Skene confusion matrix and its support.

    Attributes:
        confusions: labeler_id -> K x K matrix, rows the true class, columns the
            label given; each row sums to 1 (see
            :class:`consistency.metrics.consensus.DawidSkeneResult`).
        support: labeler_id -> expected number of the labeler's labels on items
            of each true class (the sum of the items' posteriors), by class.
        converged: whether the EM fit converged.
    """

    confusions: dict[str, pd.DataFrame]
    support: dict[str, pd.Series]
    converged: bool


def labeler_confusions(store: Store, dataset: str, view: ViewFilter) -> LabelerConfusions:
    """Dawid–Skene fitted on the view; every labeler's confusion matrix and its support.

    A row of a labeler's matrix rests on the items of that true class it
    labeled: support_l(k) = sum over l's annotations of P(true class of the item = k).
    """
    fit = dawid_skene(store.annotations(dataset, view), max_iter=DS_MAX_ITER)
    return LabelerConfusions(fit.confusions, fit.support, fit.converged)


def confusion_highlights(
    confusion: pd.DataFrame, support: pd.Series | None, top: int = 3
) -> list[str]:
    """The labeler's largest confusions in words, largest first.

    Off-diagonal cells of at least :data:`MIN_CONFUSION`, in rows backed by at
    least :data:`MIN_CLASS_SUPPORT` items.

    >>> c = pd.DataFrame([[0.6, 0.4], [0.05, 0.95]], index=["crack", "ok"], columns=["crack", "ok"])
    >>> confusion_highlights(c, pd.Series({"crack": 20.0, "ok": 80.0}))
    ["labels 'ok' 40% of the items whose true class is 'crack' (about 20 items)"]
    """
    cells = []
    for true in confusion.index:
        n = float(support.get(true, 0.0)) if support is not None else float("inf")
        if n < MIN_CLASS_SUPPORT:
            continue
        for given in confusion.columns:
            p = float(confusion.loc[true, given])
            if given != true and p >= MIN_CONFUSION:
                cells.append((p, str(true), str(given), n))
    cells.sort(key=lambda c: (-c[0], c[1], c[2]))
    return [
        f"labels '{given}' {fmt.percent(p)} of the items whose true class is '{true}'"
        + (f" (about {n:,.0f} items)" if np.isfinite(n) else "")
        for p, true, given, n in cells[:top]
    ]


def labelers_disputed(
    store: Store, dataset: str, view: ViewFilter, limit: int = 20
) -> pd.DataFrame:
    """The most disputed items of every labeler of a view, each with its labels and votes.

    :func:`consistency.engine.disputed_by_labeler` (one query), then one
    query on those items for what each labeler said (``given``, joined by
    " | " when several) and the majority vote (``majority``; a tie lists the
    tied labels joined by " | "). Choosing another labeler reads its rows
    (:func:`labeler_disputes`).
    """
    ann = store.annotations(dataset, view)
    top = disputed_by_labeler(ann, limit)
    if top.empty:
        return top.assign(given=pd.Series(dtype=str), majority=pd.Series(dtype=str))
    ids = sorted(set(top["item_id"].astype(str)))
    some = ann.filter(ann.item_id.isin(ids))
    said = some.select("labeler_id", "item_id", "label").execute().astype(str)
    given = said.groupby(["labeler_id", "item_id"])["label"].agg(
        lambda s: " | ".join(sorted(set(s)))
    )
    mv = majority_vote(some).set_index("item_id")
    vote = {
        i: " | ".join(mv.at[i, "tied_labels"]) if mv.at[i, "tie"] else str(mv.at[i, "label"])
        for i in ids
    }
    keys = list(zip(top["labeler_id"].astype(str), top["item_id"].astype(str), strict=True))
    return top.assign(given=[given.get(k, "") for k in keys], majority=[vote[i] for _, i in keys])


def labeler_disputes(
    store: Store,
    dataset: str,
    view: ViewFilter,
    labeler: str,
    limit: int = 20,
    disputed: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The most disputed items the labeler labeled, worst first (items whose labels all agree left out).

    Columns: item_id, labels (on the item), disagreement (the share of pairs
    of its labels that differ), this labeler's label(s) (``given``, joined by
    " | " when several), and the majority vote (``majority``; a tie lists the
    tied labels joined by " | "). ``disputed``: :func:`labelers_disputed` of
    the view, when at hand (no query is run then).
    """
    table = disputed if disputed is not None else labelers_disputed(store, dataset, view, limit)
    top = table[table["labeler_id"] == str(labeler)].head(limit)
    return pd.DataFrame(
        {
            "item_id": top["item_id"].astype(str).to_numpy(),
            "labels": top["m"].astype(int).to_numpy(),
            "disagreement": top["disagreement"].astype(float).to_numpy(),
            "given": top["given"].astype(str).to_numpy(),
            "majority": top["majority"].astype(str).to_numpy(),
        }
    )


def _metric_row(row: dict, fast_threshold_s: float) -> None:
    gold = _percent_interval(row["gold_accuracy"], row["gold_ci_low"], row["gold_ci_high"])
    cols = st.columns([2, 3, 2, 2])
    cols[0].metric("Agreement with the others", fmt.percent(row["agreement"]), border=True)
    cols[1].metric("Gold accuracy", gold if row["gold_n"] else fmt.MISSING, border=True)
    cols[2].metric("Kappa vs consensus", fmt.number(row["kappa_vs_consensus"]), border=True)
    cols[3].metric(
        f"Answers under {fast_threshold_s:g} s", fmt.percent(row["fast_share"]), border=True
    )
    st.caption(
        f"Gold accuracy: 95% Wilson interval on {fmt.count(int(row['gold_n']), 'gold label')}. "
        "Kappa: Cohen's kappa against the majority of the other labelers of the same items."
    )


def focus_panel(ctx: PageContext, table: pd.DataFrame | None) -> None:
    """The labeler in focus: figures and notes, Dawid–Skene confusions, disputed items."""
    ctx.require_dataset()
    labeler = ctx.view.labeler
    if labeler is None:
        st.info("Choose a labeler in the sidebar, or click a row of the table, to see more.")
        return
    st.subheader(f"Labeler {md(labeler)}")
    options = options_for(ctx.view)
    rows = [] if table is None else table[table["labeler_id"] == labeler].to_dict("records")
    if not rows:
        st.info(f"Labeler {md(labeler)} has no labels in this view. Widen the filters.")
        return
    show_notes(rows[0]["notes"])
    _metric_row(rows[0], options.fast_threshold_s)
    _confusion(ctx, labeler)
    _disputes(ctx, labeler)


def _confusion(ctx: PageContext, labeler: str) -> None:
    st.markdown("**How this labeler answers, by true class** (Dawid–Skene)")
    with st.spinner("Fitting Dawid–Skene…"):
        fit = computed(ctx, labeler_confusions, ctx.require_dataset(), ctx.filter)
    if fit is None or labeler not in fit.confusions:
        return
    confusion = fit.confusions[labeler]
    support = fit.support.get(labeler)
    for sentence in confusion_highlights(confusion, support):
        st.markdown(f":material/arrow_right: {md(sentence)}")
    per_row = (support if support is not None else pd.Series(dtype=float)).reindex(confusion.index)
    counts = pd.DataFrame(
        {c: per_row.fillna(0.0).to_numpy() for c in confusion.columns}, index=confusion.index
    )
    fig = heatmap(
        confusion,
        x_title="label given",
        y_title="true class (estimated)",
        hover="true %{y}, labeled %{x}: %{z:.0%} (about %{customdata:,.0f} items of %{y})",
        custom=counts,
    )
    st.plotly_chart(fig, key="labeler_confusion")
    st.caption(
        "Each row: of the items whose estimated true class is that row, the share this labeler "
        "gave each label. The diagonal is what it got right."
        + ("" if fit.converged else " The fit did not converge; read it as indicative.")
    )


def _disputes(ctx: PageContext, labeler: str) -> None:
    st.markdown("**The most disputed items this labeler labeled**")
    every = computed(ctx, labelers_disputed, ctx.require_dataset(), ctx.filter)
    if every is None:
        return
    disputes = labeler_disputes(ctx.store, ctx.require_dataset(), ctx.filter, labeler, 20, every)
    if disputes.empty:
        st.caption("None of its items has labels that disagree.")
        return
    extra = disputes.set_index("item_id")[["disagreement", "given", "majority"]]
    extra = extra.assign(disagreement=[fmt.percent(x) for x in extra["disagreement"]]).rename(
        columns={"given": f"{labeler} said"}
    )
    items_table(ctx, disputes["item_id"].tolist(), extra, key="labeler_disputes")
    st.caption("Disagreement: the share of pairs of an item's labels that differ.")
