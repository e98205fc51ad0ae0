"""The Classes page's panels: agreement per class, people against the model, one class, the planner.

Figures come from the view's analysis (:func:`consistency.ui.overview.get_analysis`)
and from small functions of the store cached through ``ctx.cached``; the
tables and charts are built by Streamlit-free functions tested on their own.

* Agreement per class: the proportion of specific agreement o_cc / n_c with a
  bootstrap interval over items (:func:`specific_agreement_intervals`, from
  :func:`consistency.planner.specific_agreement_draws`), and one-vs-rest alpha.
* HLP against the model (:mod:`consistency.metrics.hlp`): per class, how often
  people agree with each other (HLP) and with the model; priority = gap x share.
* One class (``class=`` in the URL): its partners, its most disputed items,
  the model where people agree, its notes, a relabel batch.
* The planner (:mod:`consistency.planner`): items to add for a narrower
  interval; expected consensus accuracy per number of labels per item.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from consistency.analysis import dataset_profile
from consistency.engine import Profile, disputed_by_class
from consistency.errors import ConsistencyError
from consistency.planner import (
    CI_WIDTH,
    MAX_LABELS,
    OverlapPlan,
    expected_accuracy,
    items_needed,
    labeler_model,
    specific_agreement_draws_all,
)
from consistency.store import Store, ViewFilter
from consistency.ui import fmt
from consistency.ui.fmt import chart_text, chart_texts, md
from consistency.ui.overview import (
    N_BOOT,
    Figure,
    as_percent,
    computing,
    items_table,
    percent_column,
    select_into_view,
    sentence_case,
    show_figures,
    show_notes,
    view_profile,
)
from consistency.ui.page import PageContext, page_url
from consistency.ui.recommendations import RelabelTarget, relabel_panel
from consistency.ui.state import View

#: Simulated items per class and per number of labels in the planner's accuracy curve
#: (Monte Carlo standard error at most 0.007; the command line uses 20,000).
PLANNER_DRAWS = 5_000

#: The URL parameter of the planner's goal width (kept by the view as an extra parameter).
CI_PARAM = "ci"

#: Columns of :func:`agreement_frame`, in order.
AGREEMENT_COLUMNS: tuple[str, ...] = (
    "class",
    "items",
    "% of labels",
    "specific agreement",
    "alpha one-vs-rest",
    "most confused with",
    "notes",
)
#: Columns of :func:`hlp_frame`, in order.
HLP_COLUMNS: tuple[str, ...] = (
    "class",
    "model accuracy",
    "HLP",
    "gap",
    "% of data",
    "priority",
)


# ---- formatting ------------------------------------------------------------------------
def _num(x: Any) -> float | None:
    """A finite float, or None."""
    if x is None or isinstance(x, bool):
        return None
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def percent_interval(estimate: Any, low: Any, high: Any) -> str:
    """A rate with its interval, as percentages.

    >>> percent_interval(0.7075, 0.6865, 0.7277), percent_interval(0.5, None, None)
    ('71% [69%, 73%]', '50%')
    >>> percent_interval(None, None, None)
    '—'
    """
    head = fmt.percent(_num(estimate))
    lo, hi = _num(low), _num(high)
    if lo is None or hi is None or _num(estimate) is None:
        return head
    return f"{head} [{fmt.percent(lo)}, {fmt.percent(hi)}]"


def signed_percent(x: Any) -> str:
    """``+22%``, ``-7%``, or a dash.

    >>> signed_percent(0.2197), signed_percent(-0.0668), signed_percent(None)
    ('+22%', '-7%', '—')
    """
    f = _num(x)
    return fmt.MISSING if f is None else f"{100 * f:+.0f}%"


# ---- agreement per class -----------------------------------------------------------------
def specific_agreement_intervals(
    p: Profile, n_boot: int = N_BOOT, seed: int = 0, confidence: float = 0.95
) -> pd.DataFrame:
    """Percentile bootstrap interval of each class's specific agreement o_cc / n_c.

    Over the items with two labels or more, o_cc = sum_u n_uc (n_uc - 1) / (m_u - 1)
    and n_c = sum_u n_uc (Krippendorff 2011, "Computing Krippendorff's
    alpha-reliability": the coincidences of c with itself and its pairable
    values); o_cc / n_c is the proportion of specific agreement on c (Fleiss
    1975, Biometrics 31; Uebersax 1982). Items are resampled with replacement
    (:func:`consistency.planner.specific_agreement_draws`, the resampling of
    alpha's interval) and the interval is the (1 - confidence) / 2 and
    (1 + confidence) / 2 percentiles of the draws (Efron & Tibshirani 1993,
    "An Introduction to the Bootstrap", ch. 13); draws where the class has no
    pairable value are left out.

    Returns:
        Columns ``class``, ``ci_low``, ``ci_high``, one row per class of the
        profile (NaN where every draw is undefined).
    """
    if not p.items:
        return pd.DataFrame(columns=["class", "ci_low", "ci_high"])
    every = specific_agreement_draws_all(p, n_boot, seed)
    return intervals_of_draws(pd.DataFrame(every, columns=list(p.labels)), confidence)


def intervals_of_draws(draws: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Percentile intervals of each column of bootstrap ``draws`` (NaN draws left out).

    >>> intervals_of_draws(pd.DataFrame({"a": [0.1, 0.2, 0.3], "b": [float("nan")] * 3}), 0.5)
      class  ci_low  ci_high
    0     a    0.15     0.25
    1     b     NaN      NaN
    """
    rows = []
    tail = (1 - confidence) / 2 * 100
    for cls in draws.columns:
        column = draws[cls].to_numpy(dtype=float)
        ok = column[~np.isnan(column)]
        low, high = np.percentile(ok, [tail, 100 - tail]) if len(ok) else (np.nan, np.nan)
        rows.append((str(cls), float(low), float(high)))
    return pd.DataFrame(rows, columns=["class", "ci_low", "ci_high"])


def class_draws(
    store: Store, dataset: str, view: ViewFilter, n_boot: int, profile: Profile | None = None
) -> pd.DataFrame:
    """Bootstrap draws of every class's specific agreement (n_boot x classes), of a view."""
    p = profile if profile is not None else dataset_profile(store, dataset, view)
    if not p.items:
        return pd.DataFrame(columns=list(p.labels))
    return pd.DataFrame(specific_agreement_draws_all(p, n_boot), columns=list(p.labels))


def view_draws(ctx: PageContext) -> pd.DataFrame:
    """:func:`class_draws` of the page's view (cached), from :func:`view_profile`."""
    return ctx.cached(
        class_draws, ctx.require_dataset(), ctx.filter, N_BOOT, profile=view_profile(ctx)
    )


def view_intervals(ctx: PageContext) -> pd.DataFrame:
    """:func:`class_intervals` of the page's view: the percentiles of :func:`view_draws`."""
    return intervals_of_draws(view_draws(ctx))


def class_intervals(
    store: Store, dataset: str, view: ViewFilter, n_boot: int, profile: Profile | None = None
) -> pd.DataFrame:
    """:func:`specific_agreement_intervals` of a view (``profile``: its profile, if at hand)."""
    p = profile if profile is not None else dataset_profile(store, dataset, view)
    return specific_agreement_intervals(p, n_boot)


def _partners(row: Mapping[str, Any]) -> list[tuple[str, float]]:
    return [(str(c), float(s)) for c, s in row.get("main_partners") or []]


def _note_words(row: Mapping[str, Any]) -> str:
    return ", ".join(n["code"].replace("_", " ") for n in row.get("notes") or [])


def agreement_frame(
    result: Mapping[str, Any], intervals: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per class, lowest specific agreement first (columns :data:`AGREEMENT_COLUMNS`).

    ``% of labels`` is the class's share of the pairable labels; ``specific
    agreement`` reads "0.71 [0.69, 0.73]" (the interval from ``intervals``,
    when given); ``most confused with`` names the class taking the largest
    share of its disagreement; ``notes`` names the notes on the class.
    """
    bounds = {}
    if intervals is not None:
        bounds = {r["class"]: (r["ci_low"], r["ci_high"]) for r in intervals.to_dict("records")}
    rows = []
    for r in result.get("per_class") or []:
        low, high = bounds.get(r["class"], (None, None))
        partners = _partners(r)
        rows.append(
            {
                "class": str(r["class"]),
                "items": int(r.get("items") or 0),
                "% of labels": as_percent(_num(r.get("share"))),
                "specific agreement": fmt.interval(_num(r.get("specific_agreement")), low, high),
                "alpha one-vs-rest": _num(r.get("alpha_one_vs_rest")),
                "most confused with": (
                    f"{partners[0][0]} ({fmt.percent(partners[0][1])})" if partners else ""
                ),
                "notes": _note_words(r),
                "_order": _num(r.get("specific_agreement")),
            }
        )
    frame = pd.DataFrame(rows, columns=[*AGREEMENT_COLUMNS, "_order"])
    frame = frame.sort_values("_order", na_position="last", kind="stable")
    return frame.drop(columns="_order").reset_index(drop=True)


def agreement_panel(ctx: PageContext, result: Mapping[str, Any]) -> None:
    """The per-class agreement table; choosing a row puts its class in the URL."""
    ctx.require_dataset()
    st.subheader("Agreement per class")
    with computing(f"Bootstrapping the interval of each class ({N_BOOT:,} draws)."):
        intervals = view_intervals(ctx)
    frame = agreement_frame(result, intervals)
    st.caption(
        "Specific agreement: given one label of the class on an item, the chance that "
        "another label on the same item is the same class (95% bootstrap interval over "
        "items). Choose a row to see the class in detail."
    )
    selectable_classes(
        ctx,
        frame,
        key="class_table",
        column_config={
            "% of labels": percent_column("% of labels", "Share of the pairable labels."),
            "alpha one-vs-rest": st.column_config.NumberColumn(
                "alpha one-vs-rest",
                format="%.2f",
                help="Krippendorff's alpha with every other class taken as one.",
            ),
        },
    )


def selectable_classes(
    ctx: PageContext, frame: pd.DataFrame, key: str, column_config: Mapping[str, Any]
) -> None:
    """A table with one class per row; selecting a row writes ``class=`` to the URL."""
    classes = frame["class"].tolist()
    current = ctx.view.cls
    default = {"selection": {"rows": [classes.index(current)] if current in classes else []}}
    st.dataframe(
        frame,
        placeholder=fmt.MISSING,
        hide_index=True,
        column_config=dict(column_config),
        key=f"{key}:{current}",
        on_select=partial(select_into_view, f"{key}:{current}", ctx.view, "cls", tuple(classes)),
        selection_mode="single-row",
        selection_default=default,
    )


# ---- people against the model -----------------------------------------------------------
def has_model(result: Mapping[str, Any]) -> bool:
    """Whether the analysis compared the model with people on some class."""
    return any(_num(r.get("model_accuracy")) is not None for r in result.get("per_class") or [])


def hlp_frame(result: Mapping[str, Any]) -> pd.DataFrame:
    """Class | model accuracy | HLP | gap | % of data | priority, highest priority first.

    HLP and model accuracy read "71% [69%, 73%]" (Wilson intervals); gap is
    HLP minus model accuracy; priority = max(gap, 0) x share (see
    :mod:`consistency.metrics.hlp`).
    """
    rows = []
    for r in result.get("per_class") or []:
        rows.append(
            {
                "class": str(r["class"]),
                "model accuracy": percent_interval(
                    r.get("model_accuracy"),
                    r.get("model_accuracy_ci_low"),
                    r.get("model_accuracy_ci_high"),
                ),
                "HLP": percent_interval(r.get("hlp"), r.get("hlp_ci_low"), r.get("hlp_ci_high")),
                "gap": signed_percent(r.get("gap")),
                "% of data": as_percent(_num(r.get("label_share", r.get("share")))),
                "priority": _num(r.get("priority")),
                "_gap": _num(r.get("gap")),
            }
        )
    frame = pd.DataFrame(rows, columns=[*HLP_COLUMNS, "_gap"])
    frame = frame.sort_values(
        ["priority", "_gap"], ascending=False, na_position="last", kind="stable"
    )
    return frame.drop(columns="_gap").reset_index(drop=True)


def hlp_chart(result: Mapping[str, Any], selected: str | None = None) -> go.Figure:
    """HLP against model accuracy per class: bubbles sized by share of data, the diagonal HLP = accuracy.

    Above the diagonal people agree more than the model does: the model is
    behind on that class. Each bubble's ``customdata`` is its class.
    """
    rows = [
        r
        for r in result.get("per_class") or []
        if _num(r.get("hlp")) is not None and _num(r.get("model_accuracy")) is not None
    ]
    fig = go.Figure()
    if not rows:
        return fig
    shares = [(_num(r.get("label_share", r.get("share"))) or 0.0) for r in rows]
    biggest = max(shares) or 1.0
    values = [_num(r["hlp"]) or 0.0 for r in rows] + [
        _num(r["model_accuracy"]) or 0.0 for r in rows
    ]
    low = max(0.0, math.floor((min(values) - 0.08) * 10) / 10)
    high = min(1.0, math.ceil((max(values) + 0.05) * 10) / 10)
    positions = label_positions(rows)
    fig.add_trace(
        go.Scatter(
            x=[low, high],
            y=[low, high],
            mode="lines",
            line={"color": fmt.NEUTRAL, "dash": "dash"},
            name="HLP = model accuracy",
            hoverinfo="skip",
        )
    )
    for behind, name, colour in (
        (True, "Model behind people (HLP above accuracy)", fmt.BAD),
        (False, "Model level with or above people", fmt.GOOD),
    ):
        part = [
            (r, s)
            for r, s in zip(rows, shares, strict=True)
            if ((_num(r.get("gap")) or 0.0) > 0) == behind
        ]
        if not part:
            continue
        fig.add_trace(
            go.Scatter(
                x=[_num(r["model_accuracy"]) for r, _ in part],
                y=[_num(r["hlp"]) for r, _ in part],
                mode="markers+text",
                name=name,
                text=chart_texts(r["class"] for r, _ in part),
                textposition=[positions[str(r["class"])] for r, _ in part],
                textfont={"color": "#222222", "size": 13},
                customdata=[[str(r["class"])] for r, _ in part],
                marker={
                    "size": [14 + 46 * math.sqrt(s / biggest) for _, s in part],
                    "color": colour,
                    "opacity": 0.75,
                    "line": {
                        "color": [
                            "#000000" if str(r["class"]) == selected else "#FFFFFF" for r, _ in part
                        ],
                        "width": [3 if str(r["class"]) == selected else 1 for r, _ in part],
                    },
                },
                error_x=_errors(part, "model_accuracy"),
                error_y=_errors(part, "hlp"),
                hovertemplate=(
                    "<b>%{text}</b><br>model accuracy %{x:.0%}<br>HLP %{y:.0%}<extra></extra>"
                ),
            )
        )
    fig.update_layout(
        xaxis={"title": "Model accuracy (model agrees with the labels)", "range": [low, high]},
        yaxis={"title": "HLP (labelers agree with each other)", "range": [low, high]},
        xaxis_tickformat=".0%",
        yaxis_tickformat=".0%",
        legend={"orientation": "h", "y": -0.2},
        height=560,
        margin={"t": 30},
    )
    return fig


def label_positions(rows: list[Mapping[str, Any]]) -> dict[str, str]:
    """Where each bubble's class name goes: above and below in turn along model accuracy.

    Neighbouring bubbles then carry their names on opposite sides, so the names
    of a cluster do not print over each other.

    >>> label_positions([{"class": "a", "model_accuracy": 0.5}, {"class": "b", "model_accuracy": 0.4}])
    {'b': 'top center', 'a': 'bottom center'}
    """
    ordered = sorted(rows, key=lambda r: (_num(r.get("model_accuracy")) or 0.0, str(r["class"])))
    return {
        str(r["class"]): ("top center" if i % 2 == 0 else "bottom center")
        for i, r in enumerate(ordered)
    }


def _errors(part: list[tuple[Mapping[str, Any], float]], rate: str) -> dict[str, Any]:
    """Plotly error bars of a rate from its Wilson interval."""
    plus, minus = [], []
    for r, _ in part:
        value = _num(r.get(rate)) or 0.0
        plus.append(max((_num(r.get(f"{rate}_ci_high")) or value) - value, 0.0))
        minus.append(max(value - (_num(r.get(f"{rate}_ci_low")) or value), 0.0))
    return {
        "type": "data",
        "array": plus,
        "arrayminus": minus,
        "color": fmt.NEUTRAL,
        "thickness": 1,
    }


def hlp_panel(ctx: PageContext, result: Mapping[str, Any]) -> None:
    """People against the model per class: the table and the bubble chart."""
    st.subheader("People against the model")
    if not has_model(result):
        st.info(
            "No model predictions in this dataset: attach a predictions file on the Data "
            "page to compare the model with people class by class."
        )
        return
    st.caption(
        "HLP (human-level performance): how often another labeler gives the same class. "
        "Model accuracy: how often the model agrees with a label. Priority = gap x share "
        "of data: work on the model first where it is highest."
    )
    selectable_classes(
        ctx,
        hlp_frame(result),
        key="hlp_table",
        column_config={
            "% of data": percent_column("% of data"),
            "priority": st.column_config.NumberColumn("priority", format="%.3f"),
        },
    )
    key = f"hlp_chart:{ctx.view.cls}"
    st.plotly_chart(
        hlp_chart(result, ctx.view.cls),
        key=key,
        on_select=partial(select_into_view, key, ctx.view, "cls", None),
        selection_mode="points",
    )


# ---- one class ---------------------------------------------------------------------------
def class_row(result: Mapping[str, Any], cls: str) -> dict[str, Any] | None:
    """The per-class row of a class in the analysis, or None."""
    for r in result.get("per_class") or []:
        if str(r["class"]) == cls:
            return dict(r)
    return None


def partners_frame(row: Mapping[str, Any], view: View) -> pd.DataFrame:
    """The classes a class is confused with: class, share of its disagreement, a Confusion page link."""
    cls = str(row["class"])
    rows = [
        {
            "class": other,
            "% of its disagreement": as_percent(share),
            "pair": page_url("confusion", replace(view.for_page("confusion"), pair=(cls, other))),
        }
        for other, share in _partners(row)
    ]
    return pd.DataFrame(rows, columns=["class", "% of its disagreement", "pair"])


def disputed_classes(store: Store, dataset: str, view: ViewFilter, limit: int = 20) -> pd.DataFrame:
    """The most disputed items of every class of a view (:func:`consistency.engine.disputed_by_class`).

    One query per view: choosing another class reads its rows (:func:`class_disputes`).
    """
    return disputed_by_class(store.annotations(dataset, view), limit)


def class_disputes(table: pd.DataFrame, cls: str) -> pd.DataFrame:
    """The rows of ``cls`` in :func:`disputed_classes`: item_id, disagreement, top share."""
    found = table[table["class"] == cls]
    return found[["item_id", "disagreement", "top_share"]].reset_index(drop=True)


def disputed(
    store: Store, dataset: str, view: ViewFilter, cls: str, limit: int = 20
) -> pd.DataFrame:
    """The most disputed items with a label ``cls``: item_id, disagreement, top share.

    Worst first (as :func:`consistency.engine.disputed_items`); unanimous items are left out.
    """
    return class_disputes(disputed_classes(store, dataset, view, limit), cls)


def class_figures(row: Mapping[str, Any], intervals: pd.DataFrame | None = None) -> list[Figure]:
    """The cards of one class: items, specific agreement, alpha one-vs-rest, HLP, the model."""
    low = high = None
    if intervals is not None:
        hit = intervals[intervals["class"] == row["class"]]
        if len(hit):
            low, high = hit["ci_low"].iat[0], hit["ci_high"].iat[0]
    return [
        Figure(
            "Items", fmt.number(int(row.get("items") or 0)), "Items with at least one label of it."
        ),
        Figure(
            "Specific agreement",
            fmt.interval(_num(row.get("specific_agreement")), low, high),
            "Given one label of the class, the chance that another label on the item is the same.",
        ),
        Figure(
            "Alpha one-vs-rest",
            fmt.number(_num(row.get("alpha_one_vs_rest"))),
            "Krippendorff's alpha with every other class taken as one.",
        ),
        Figure(
            "HLP",
            percent_interval(row.get("hlp"), row.get("hlp_ci_low"), row.get("hlp_ci_high")),
            "How often another labeler gives the same class (Wilson 95% interval).",
        ),
        Figure(
            "Model accuracy",
            percent_interval(
                row.get("model_accuracy"),
                row.get("model_accuracy_ci_low"),
                row.get("model_accuracy_ci_high"),
            ),
            "How often the model agrees with a label of the class.",
        ),
        Figure(
            "Model where people agree",
            percent_interval(
                row.get("model_accuracy_agreed"),
                row.get("model_accuracy_agreed_ci_low"),
                row.get("model_accuracy_agreed_ci_high"),
            ),
            "The model's accuracy on the items every labeler gave this class.",
        ),
    ]


def detail_panel(ctx: PageContext, result: Mapping[str, Any]) -> None:
    """The class of the URL in detail; a hint when no class is chosen."""
    dataset = ctx.require_dataset()
    cls = ctx.view.cls
    if cls is None:
        st.info("Choose a class in a table, on the chart or in the sidebar to see it in detail.")
        return
    row = class_row(result, cls)
    st.subheader(f"Class {md(cls)}")
    if row is None:
        st.warning(
            md(f"Class '{cls}' has no label in this view. Widen the filters in the sidebar.")
        )
        return
    intervals = view_intervals(ctx)
    show_figures(class_figures(row, intervals), columns=3)
    show_notes(row.get("notes") or [])
    left, right = st.columns([2, 3])
    with left:
        st.markdown("**Confused with**")
        partners = partners_frame(row, ctx.view)
        if partners.empty:
            st.caption("No disagreement involves this class.")
        else:
            st.dataframe(
                partners,
                placeholder=fmt.MISSING,
                hide_index=True,
                column_config={
                    "% of its disagreement": percent_column("% of its disagreement"),
                    "pair": st.column_config.LinkColumn("Confusion page", display_text="open"),
                },
            )
    with right:
        st.markdown("**Most disputed items** with a label of this class")
        found = class_disputes(ctx.cached(disputed_classes, dataset, ctx.filter), cls)
        items_table(
            ctx,
            found["item_id"].tolist(),
            extra=found.set_index("item_id")[["disagreement"]],
            key=f"class_{cls}",
        )
    if st.toggle("Relabel these items", key=f"relabel_class_{cls}"):
        relabel_panel(ctx, RelabelTarget(classes=(cls,)), key=f"class_{cls}")


# ---- the planner ---------------------------------------------------------------------------
def items_plan(
    store: Store,
    dataset: str,
    view: ViewFilter,
    ci_width: float,
    cls: str | None,
    level: str,
    n_boot: int,
    profile: Profile | None = None,
    draws: np.ndarray | None = None,
) -> dict[str, Any]:
    """:func:`consistency.planner.items_needed` on a view (the class's specific agreement, or alpha).

    ``profile``: the view's profile, ``draws``: the class's draws
    (:func:`class_draws`), when they are at hand (they are computed otherwise).
    """
    return items_needed(
        profile if profile is not None else dataset_profile(store, dataset, view),
        ci_width,
        cls,
        level,  # type: ignore[arg-type]
        n_boot,
        draws=draws,
    )


def items_plan_sentence(need: Mapping[str, Any]) -> str:
    """The answer of :func:`items_plan` in words.

    >>> need = {"target": "alpha", "value": 0.52, "ci_low": 0.50, "ci_high": 0.54,
    ...         "ci_width_now": 0.036, "ci_width_goal": 0.02, "items_now": 2000,
    ...         "items_to_add": 5000}
    >>> items_plan_sentence(need)
    'Alpha is 0.52 [0.50, 0.54], an interval 0.036 wide, on 2,000 pairable items. To narrow it under 0.02, label about 5,000 more items as now (7,000 in all).'
    """
    target = str(need["target"])
    what = "Alpha" if target == "alpha" else f"The specific agreement of {target.split(':', 1)[1]}"
    head = (
        f"{what} is {fmt.interval(need['value'], need['ci_low'], need['ci_high'])}, an interval "
        f"{need['ci_width_now']:.3f} wide, on {fmt.count(int(need['items_now']), 'pairable item')}."
    )
    goal = f"{need['ci_width_goal']:g}"
    if not need["items_to_add"]:
        return f"{head} It is already narrower than {goal}: no items to add."
    add, total = int(need["items_to_add"]), int(need["items_to_add"]) + int(need["items_now"])
    return (
        f"{head} To narrow it under {goal}, label about {fmt.number(add)} more items as now "
        f"({fmt.number(total)} in all)."
    )


def overlap_plan(store: Store, dataset: str, view: ViewFilter, draws: int) -> OverlapPlan:
    """Expected consensus accuracy for 1 to 7 labels per item (as many as there are labelers)."""
    model = labeler_model(store.annotations(dataset, view))
    ks = tuple(range(1, min(MAX_LABELS, len(model.labelers)) + 1))
    return expected_accuracy(model, ks, draws)


def overlap_frame(plan: OverlapPlan, cls: str | None = None) -> pd.DataFrame:
    """Labels per item | majority vote | Dawid–Skene, in percent; with ``cls``, that class's two columns too.

    Accuracies are percentages (0 to 100), for :func:`consistency.ui.overview.percent_column`.
    """
    table = plan.table
    frame = pd.DataFrame(
        {
            "labels per item": table["labels_per_item"].to_numpy(),
            "majority vote": 100 * table["majority_vote_accuracy"].to_numpy(),
            "Dawid–Skene": 100 * table["dawid_skene_accuracy"].to_numpy(),
        }
    )
    if cls is not None and cls in set(plan.per_class["class"]):
        mine = plan.per_class[plan.per_class["class"] == cls].set_index("labels_per_item")
        ks = frame["labels per item"]
        frame[f"majority vote ({cls})"] = 100 * ks.map(mine["majority_vote_accuracy"])
        frame[f"Dawid–Skene ({cls})"] = 100 * ks.map(mine["dawid_skene_accuracy"])
    return frame


def overlap_chart(plan: OverlapPlan, cls: str | None = None) -> go.Figure:
    """Expected accuracy against labels per item: majority vote and Dawid–Skene (one class dashed)."""
    frame = overlap_frame(plan, cls)
    fig = go.Figure()
    for column in frame.columns[1:]:
        fig.add_trace(
            go.Scatter(
                x=frame["labels per item"],
                y=frame[column] / 100,
                mode="lines+markers",
                name=chart_text(column if column.endswith(")") else f"{column} (all classes)"),
                line={
                    "color": fmt.OKABE_ITO[0] if column.startswith("majority") else fmt.GOOD,
                    "dash": "dash" if column.endswith(")") else "solid",
                },
                hovertemplate="%{x} labels: %{y:.1%}<extra></extra>",
            )
        )
    fig.update_layout(
        xaxis={"title": "Labels per item", "dtick": 1},
        yaxis={"title": "Expected accuracy of the consensus", "tickformat": ".0%"},
        legend={"orientation": "h", "y": -0.25},
        height=420,
        margin={"t": 30},
    )
    return fig


def planner_panel(ctx: PageContext) -> None:
    """The planner: how many more items (for the chosen class, else alpha), how many labels per item."""
    items_needed_panel(ctx)
    labels_per_item_panel(ctx)


def items_needed_panel(ctx: PageContext) -> None:
    """Items to add so that the interval of the class's specific agreement (or of alpha) narrows to a goal."""
    dataset = ctx.require_dataset()
    cls = ctx.view.cls
    st.subheader("How many more items?")
    left, right = st.columns([1, 2])
    width = left.number_input(
        "Goal: width of the 95% interval (high minus low)",
        min_value=0.01,
        max_value=1.0,
        value=CI_WIDTH,
        step=0.01,
        key=CI_PARAM,
        bind="query-params",
        help="Of the specific agreement of the chosen class; of alpha when no class is chosen.",
    )
    with right:
        try:
            with computing("Bootstrapping the interval."):
                every = view_draws(ctx)
                need = ctx.cached(
                    items_plan,
                    dataset,
                    ctx.filter,
                    float(width),
                    cls,
                    ctx.view.level,
                    N_BOOT,
                    profile=view_profile(ctx),
                    draws=every[cls].to_numpy(dtype=float) if cls in every.columns else None,
                )
        except ConsistencyError as exc:
            st.info(md(sentence_case(str(exc))))
            return
        st.metric(
            f"Items to add ({'class ' + md(cls) if cls else 'alpha'})",
            fmt.number(int(need["items_to_add"])),
        )
        st.caption(md(items_plan_sentence(need)))


def labels_per_item_panel(ctx: PageContext) -> None:
    """Expected accuracy of majority vote and Dawid–Skene for 1 to 7 labels per item."""
    dataset = ctx.require_dataset()
    cls = ctx.view.cls
    st.subheader("How many labels per item?")
    try:
        with computing("Fitting Dawid–Skene and simulating the consensus."):
            plan = ctx.cached(overlap_plan, dataset, ctx.filter, PLANNER_DRAWS)
    except ConsistencyError as exc:
        st.info(md(sentence_case(str(exc))))
        return
    st.caption(
        "Expected accuracy of the consensus, simulated from a Dawid–Skene model of the "
        f"labelers fitted on this view ({PLANNER_DRAWS:,} items per class and per number "
        "of labels). Dawid–Skene here knows the fitted parameters: an upper reference."
        + (f" Dashed: class {md(cls)}." if cls else "")
    )
    frame = overlap_frame(plan, cls)
    st.plotly_chart(overlap_chart(plan, cls), key="overlap_chart")
    st.dataframe(
        frame,
        placeholder=fmt.MISSING,
        hide_index=True,
        column_config={name: percent_column(name) for name in frame.columns[1:]},
    )
