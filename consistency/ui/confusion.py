"""The Confusion page's panels: which classes labelers give to the same items.

The heatmap is the coincidence matrix o_ck of the view
(:func:`consistency.metrics.classes.confusion`): over items with two labels
or more, the pairs of labels (c, k) given to the same item, each item
weighing as many pairable values as it has labels (Krippendorff 2011). It is
symmetric and needs no labeler order. ``normalize=`` in the URL shows counts,
the share of each row (o_ck / n_c: given one label c, the share of the item's
other labels that are k) or the share of each column. The most confused pairs
come with the exact alpha if the two classes were one
(:func:`consistency.metrics.classes.alpha_after_merge`); choosing one puts it
in the URL (``pair=a&pair=b``) and shows it in detail.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from consistency.analysis import confusion_summary, dataset_profile, require_annotations
from consistency.engine import Profile, disputed_by_pair
from consistency.errors import ConsistencyError
from consistency.metrics.alpha import alpha
from consistency.metrics.classes import alpha_after_merge, confusion
from consistency.store import Store, ViewFilter
from consistency.ui import fmt
from consistency.ui.fmt import chart_texts, md
from consistency.ui.overview import (
    Figure,
    as_percent,
    items_table,
    percent_column,
    select_into_view,
    sentence_case,
    show_figures,
    view_profile,
)
from consistency.ui.page import PageContext, link

#: How many confused pairs the table lists.
TOP_PAIRS = 15

#: The heatmap's colour scale: white to the palette's blue (colour-blind safe, one hue).
COLOURS = [[0.0, "#FFFFFF"], [1.0, fmt.GOOD]]

#: Columns of :func:`pairs_frame`, in order.
PAIR_COLUMNS: tuple[str, ...] = (
    "class a",
    "class b",
    "coincidences",
    "a → b",
    "b → a",
    "alpha after merge",
    "alpha gain",
)


def confusion_view(store: Store, dataset: str, view: ViewFilter) -> dict[str, Any]:
    """The view's coincidence matrix and its :data:`TOP_PAIRS` most confused pairs.

    See :func:`consistency.analysis.confusion_summary` (keys ``classes``,
    ``counts``, ``row_normalized``, ``top_pairs``).

    Raises:
        NotComputable: the view keeps no annotation.
    """
    p = dataset_profile(store, dataset, view)
    require_annotations(p, dataset, view)
    return confusion_summary(p, top=TOP_PAIRS)


def has_pairs(summary: Mapping[str, Any]) -> bool:
    """Whether some item of the view has two labels (the coincidence matrix is not all zero).

    >>> has_pairs({"counts": [[0.0, 0.0], [0.0, 0.0]]}), has_pairs({"counts": [[2.0]]})
    (False, True)
    """
    return bool(np.asarray(summary["counts"], dtype=float).sum() > 0)


def matrix_frame(summary: Mapping[str, Any], normalize: str = "count") -> pd.DataFrame:
    """The coincidence matrix as a table: counts, or the share of each row or column.

    >>> summary = {"classes": ["x", "y"], "counts": [[2.0, 1.0], [1.0, 0.0]]}
    >>> matrix_frame(summary, "row").round(3).values.tolist()
    [[0.667, 0.333], [1.0, 0.0]]
    >>> matrix_frame(summary, "column").round(3).values.tolist()
    [[0.667, 1.0], [0.333, 0.0]]
    """
    counts = np.asarray(summary["counts"], dtype=float).reshape(len(summary["classes"]), -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        if normalize == "row":
            counts = counts / counts.sum(axis=1, keepdims=True)
        elif normalize == "column":
            counts = counts / counts.sum(axis=0, keepdims=True)
    classes = [str(c) for c in summary["classes"]]
    return pd.DataFrame(counts, index=pd.Index(classes, name="class"), columns=classes)


def cell_text(value: float, normalize: str) -> str:
    """What a heatmap cell reads: a count (one decimal under 10), or a percentage.

    >>> cell_text(273.75, "count"), cell_text(2.5, "count"), cell_text(0.386, "row")
    ('274', '2.5', '39%')
    """
    if not np.isfinite(value):
        return ""
    if normalize != "count":
        return fmt.percent(value)
    return f"{value:,.0f}" if abs(value) >= 10 or float(value).is_integer() else f"{value:.1f}"


def heatmap(frame: pd.DataFrame, normalize: str, pair: tuple[str, str] | None = None) -> go.Figure:
    """The matrix as a heatmap; the diagonal (agreement) is grey so the colours show confusion.

    A chosen pair is outlined in both of its cells.
    """
    classes = list(frame.columns)
    values = frame.to_numpy(dtype=float)
    off = values.copy()
    np.fill_diagonal(off, np.nan)
    what = {"count": "pairs of labels", "row": "share of the row", "column": "share of the column"}
    fig = go.Figure(
        go.Heatmap(
            z=off,
            x=chart_texts(classes),
            y=chart_texts(classes),
            text=[[cell_text(v, normalize) for v in row] for row in values],
            texttemplate="%{text}",
            colorscale=COLOURS,
            colorbar={
                "title": {"text": what[normalize]},
                "tickformat": ",d" if normalize == "count" else ".0%",
            },
            hovertemplate="label %{y} with %{x}: %{text}<extra></extra>",
            xgap=1,
            ygap=1,
        )
    )
    if pair is not None and pair[0] in classes and pair[1] in classes:
        for a, b in (pair, pair[::-1]):
            i, j = classes.index(a), classes.index(b)
            fig.add_shape(
                type="rect",
                x0=j - 0.5,
                x1=j + 0.5,
                y0=i - 0.5,
                y1=i + 0.5,
                line={"color": fmt.BAD, "width": 3},
            )
    side = 140 + 48 * len(classes)
    fig.update_layout(
        xaxis={"title": "another label on the same item", "side": "bottom", "tickangle": -30},
        yaxis={"title": "one label on an item", "autorange": "reversed"},
        plot_bgcolor="#E8E8E8",
        height=max(side, 360),
        margin={"t": 30},
    )
    return fig


def pairs_frame(summary: Mapping[str, Any]) -> pd.DataFrame:
    """The most confused pairs (columns :data:`PAIR_COLUMNS`), most coincidences first.

    The rates a → b and b → a are in percent (0 to 100).
    """
    rows = [
        (
            str(r["class_a"]),
            str(r["class_b"]),
            r["coincidences"],
            as_percent(r["rate_a_to_b"]),
            as_percent(r["rate_b_to_a"]),
            r["alpha_after_merge"],
            r["alpha_gain"],
        )
        for r in summary.get("top_pairs") or []
    ]
    return pd.DataFrame(rows, columns=list(PAIR_COLUMNS))


def pair_merge(
    store: Store,
    dataset: str,
    view: ViewFilter,
    a: str,
    b: str,
    level: str,
    profile: Profile | None = None,
) -> dict[str, float]:
    """Two classes side by side: their coincidences, the rates both ways, alpha now and merged.

    ``alpha_now`` and ``alpha_after`` are at ``level`` (merging is exact at
    the nominal level, and at the ordinal level for neighbouring classes).

    Raises:
        InvalidArgument: an unknown class, or a level at which the merge is undefined.
        NotComputable: alpha is undefined on the view.
    """
    p = profile if profile is not None else dataset_profile(store, dataset, view)
    after = alpha_after_merge(p, a, b, level)  # type: ignore[arg-type]
    conf = confusion(p)
    i, j = conf.classes.index(a), conf.classes.index(b)
    return {
        "coincidences": float(conf.counts[i, j]),
        "rate_a_to_b": float(conf.row_normalized[i, j]),
        "rate_b_to_a": float(conf.row_normalized[j, i]),
        "alpha_now": float(alpha(p, level)),  # type: ignore[arg-type]
        "alpha_after": float(after),
    }


def disputed_pairs(store: Store, dataset: str, view: ViewFilter, limit: int = 20) -> pd.DataFrame:
    """The most disputed items of every pair of classes of a view (one query, see
    :func:`consistency.engine.disputed_by_pair`); a pair's rows: :func:`pair_disputes`."""
    return disputed_by_pair(store.annotations(dataset, view), limit)


def pair_disputes(table: pd.DataFrame, a: str, b: str) -> list[str]:
    """The items of the pair ``a``, ``b`` (either order) in :func:`disputed_pairs`, worst first."""
    low, high = sorted((str(a), str(b)))
    hit = table[(table["class_a"] == low) & (table["class_b"] == high)]
    return hit["item_id"].astype(str).tolist()


def pair_items(
    store: Store, dataset: str, view: ViewFilter, a: str, b: str, limit: int = 20
) -> list[str]:
    """The most disputed items labeled both ``a`` and ``b`` (worst first)."""
    return pair_disputes(disputed_pairs(store, dataset, view, limit), a, b)


def pair_figures(a: str, b: str, merge: Mapping[str, float], level: str) -> list[Figure]:
    """The cards of a pair: alpha now and merged, and how often each class meets the other.

    The class names are escaped (:func:`consistency.ui.fmt.md`): card labels and
    tooltips render Markdown.
    """
    gain = merge["alpha_after"] - merge["alpha_now"]
    a, b = md(a), md(b)
    return [
        Figure(f"Alpha now ({level})", fmt.number(merge["alpha_now"])),
        Figure(
            "Alpha if merged",
            fmt.number(merge["alpha_after"]),
            f"Krippendorff's alpha if {a} and {b} were one class (exact).",
        ),
        Figure("Change", f"{gain:+.3f}"),
        Figure(
            f"{a} meets {b}",
            fmt.percent(merge["rate_a_to_b"]),
            f"Of the other labels on items with a label {a}, the share that are {b}.",
        ),
        Figure(
            f"{b} meets {a}",
            fmt.percent(merge["rate_b_to_a"]),
            f"Of the other labels on items with a label {b}, the share that are {a}.",
        ),
    ]


# ---- panels ----------------------------------------------------------------------------------
def summary_or_stop(ctx: PageContext) -> dict[str, Any]:
    """The view's :func:`confusion_view`; an error message and a stopped page when it fails."""
    dataset = ctx.require_dataset()
    try:
        return ctx.cached(confusion_view, dataset, ctx.filter)
    except ConsistencyError as exc:
        st.error(md(sentence_case(str(exc))))
        st.stop()
        raise


def heatmap_panel(ctx: PageContext, summary: Mapping[str, Any]) -> None:
    """The coincidence matrix, counted or normalized as the URL says."""
    st.subheader("Which classes meet on the same items")
    if len(summary["classes"]) < 2:
        st.info("This view has a single class: there is nothing to confuse it with.")
        return
    if not has_pairs(summary):
        st.info(
            "No item of this view has two labels: there is nothing to compare. Widen the "
            "filters in the sidebar (more labelers, all rounds)."
        )
        return
    st.caption(
        "Each cell counts pairs of labels given to the same item by two labelers (items "
        "with more labels count each pair less). The grey diagonal is agreement; the "
        "coloured cells are confusion. Change counts or shares in the sidebar."
    )
    frame = matrix_frame(summary, ctx.view.normalize)
    st.plotly_chart(heatmap(frame, ctx.view.normalize, ctx.view.pair), key="confusion_heatmap")


def pairs_panel(ctx: PageContext, summary: Mapping[str, Any]) -> None:
    """The most confused pairs; choosing one puts it in the URL."""
    st.subheader("Most confused pairs")
    frame = pairs_frame(summary)
    if frame.empty:
        st.caption("No two classes were given to the same item.")
        return
    pairs = tuple(zip(frame["class a"], frame["class b"], strict=True))
    current = ctx.view.pair
    rows = [i for i, p in enumerate(pairs) if current is not None and set(p) == set(current)]
    key = f"pairs_table:{current}"
    st.caption(
        "a → b: the share of a's pairable labels that meet b on the same item. Alpha after "
        "merge: nominal alpha if the two were one class. Choose a row to see the pair."
    )
    st.dataframe(
        frame,
        placeholder=fmt.MISSING,
        hide_index=True,
        key=key,
        on_select=partial(select_into_view, key, ctx.view, "pair", pairs),
        selection_mode="single-row",
        selection_default={"selection": {"rows": rows[:1]}},
        column_config={
            "coincidences": st.column_config.NumberColumn("coincidences", format="%.1f"),
            "a → b": percent_column("a → b"),
            "b → a": percent_column("b → a"),
            "alpha after merge": st.column_config.NumberColumn("alpha after merge", format="%.3f"),
            "alpha gain": st.column_config.NumberColumn("alpha gain", format="%+.3f"),
        },
    )


def pair_panel(ctx: PageContext) -> None:
    """The pair of the URL: alpha after the merge at the view's level, rates, shared items."""
    dataset = ctx.require_dataset()
    if ctx.view.pair is None:
        st.info("Choose a pair in the table or in the sidebar to see it in detail.")
        return
    a, b = ctx.view.pair
    st.subheader(f"{md(a)} and {md(b)}")
    try:
        merge = ctx.cached(
            pair_merge, dataset, ctx.filter, a, b, ctx.view.level, profile=view_profile(ctx)
        )
    except ConsistencyError as exc:
        st.warning(md(sentence_case(str(exc))))
    else:
        show_figures(pair_figures(a, b, merge, ctx.view.level), columns=3)
    for col, cls in zip(st.columns(2), (a, b), strict=True):
        with col:
            link("classes", replace(ctx.view.for_page("classes"), cls=cls), f"Class {md(cls)}")
    st.markdown(f"**Most disputed items** labeled both {md(a)} and {md(b)}")
    found = pair_disputes(ctx.cached(disputed_pairs, dataset, ctx.filter), a, b)
    items_table(ctx, found, key=f"pair_{a}_{b}")
