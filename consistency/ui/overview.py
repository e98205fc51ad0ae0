"""The Overview page's panels, one function each, and what the analysis pages share.

Each panel takes the :class:`~consistency.ui.page.PageContext` and draws one
part of the page; the figures come from Streamlit-free functions of the store
(cached through ``ctx.cached``), which are tested on their own. Add a panel as
one more function here and one call in ``app.py``.

Shared by the Overview, Classes, Confusion and Recommendations pages: the
view's analysis (:func:`view_analysis`, cached per view, read with
:func:`get_analysis`), notes beside a figure (:func:`show_notes`), markdown
escaping of labels and ids (:func:`md`) and tables of items linking to the
Items page (:func:`items_table`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd
import streamlit as st

from consistency.analysis import AnalysisOptions, analyze, dataset_profile, overall
from consistency.engine import Profile, profile
from consistency.errors import ConsistencyError
from consistency.notes import notes_for
from consistency.store import Store, ViewFilter
from consistency.ui import fmt
from consistency.ui.fmt import md
from consistency.ui.page import PageContext, go, link, page_url
from consistency.ui.state import DEFAULT_LEVEL, View


def view_counts(store: Store, dataset: str, view: ViewFilter) -> dict[str, int]:
    """Annotations, items, labelers and classes in a view of a dataset."""
    ann = store.annotations(dataset, view)
    row = ann.aggregate(
        annotations=ann.count(),
        items=ann.item_id.nunique(),
        labelers=ann.labeler_id.nunique(),
        classes=ann.label.nunique(),
    ).execute()
    return {k: int(row[k].iat[0]) for k in ("annotations", "items", "labelers", "classes")}


def view_glance(store: Store, dataset: str, view: ViewFilter) -> dict[str, Any]:
    """The Overview's first figures, from one profile of the view (one pass in the engine).

    ``counts`` as :func:`view_counts`, ``labels_per_item`` as
    :func:`labels_per_item`, and the ``profile`` itself, from which
    :func:`glance_agreement` draws the agreement figures.
    """
    p = profile(store.annotations(dataset, view), repeats=False)
    return {
        "profile": p,
        "counts": {
            "annotations": p.annotations,
            "items": p.items,
            "labelers": p.labelers,
            "classes": len(p.labels),
        },
        "labels_per_item": p.labels_per_item(),
    }


def glance_agreement(
    store: Store, dataset: str, view: ViewFilter, level: str, profile: Profile
) -> dict[str, Any]:
    """Alpha with its interval, Fleiss' kappa, Gwet's AC1 and percent agreement of a glance.

    As :func:`view_analysis` gives them (the same profile, draws and seed, so
    the figures do not change when the analysis arrives), with
    ``dataset.pairable_items``; empty when agreement is not computable here
    (the analysis then says why). No notes, no recommendations: those need
    the whole analysis.
    """
    if not profile.annotations:
        return {}
    with suppress(ConsistencyError):
        figures = overall(profile, analysis_options(level))
        return {**figures, "dataset": {"pairable_items": profile.pairable_items}}
    return {}


def view_profile(ctx: PageContext) -> Profile:
    """The profile of the page's view (cached): figures of a class or a pair are computed from it."""
    return ctx.cached(dataset_profile, ctx.require_dataset(), ctx.filter)


def get_glance(ctx: PageContext) -> dict[str, Any]:
    """The view's :func:`view_glance` (cached)."""
    return ctx.cached(view_glance, ctx.require_dataset(), ctx.filter)


def datasets_frame(store: Store) -> pd.DataFrame:
    """The store's datasets with their counts, for display."""
    df = store.datasets()
    return df.rename(columns={"id": "dataset", "created_at": "created"})


def summary_panel(ctx: PageContext, glance: Mapping[str, Any] | None = None) -> None:
    """What the current view holds: annotations, items, labelers, classes."""
    dataset = ctx.require_dataset()
    counts = glance["counts"] if glance else ctx.cached(view_counts, dataset, ctx.filter)
    st.subheader("In this view")
    cols = st.columns(4)
    for col, (key, label) in zip(
        cols,
        (
            ("items", "Items"),
            ("annotations", "Annotations"),
            ("labelers", "Labelers"),
            ("classes", "Classes"),
        ),
        strict=True,
    ):
        col.metric(label, fmt.number(counts[key]))
    if counts["annotations"] == 0:
        st.warning("No annotations match these filters. Widen them in the sidebar.")


def datasets_table(ctx: PageContext) -> None:
    """The table of datasets with their counts (also shown on the Data page)."""
    counts = {
        name: st.column_config.NumberColumn(name, format="localized")
        for name in ("files", "annotations", "items", "labelers")
    }
    st.dataframe(
        ctx.cached(datasets_frame),
        hide_index=True,
        column_config={
            "created": st.column_config.DatetimeColumn("created", format="YYYY-MM-DD HH:mm"),
            **counts,
        },
    )


def datasets_panel(ctx: PageContext) -> None:
    """Every dataset of the store, and where to import more."""
    st.subheader("Datasets")
    datasets_table(ctx)
    link("data", ctx.view.for_page("data"), label="Import data or see provenance")


# ---- shared by the pages that show the analysis -------------------------------------
#: Bootstrap draws behind the dashboard's intervals (cached per view, so paid once).
N_BOOT = 1000


def sentence_case(message: str) -> str:
    """A library message as a sentence: first letter up, a full stop at the end.

    >>> sentence_case("no annotations in this view")
    'No annotations in this view.'
    """
    message = message.strip()
    if not message:
        return message
    end = "" if message[-1] in ".!?" else "."
    return message[:1].upper() + message[1:] + end


#: What to do when the view's level of measurement does not fit the labels.
LEVEL_HINT = (
    "This view reads the labels at the {level} level. Choose another level of measurement "
    "in the sidebar (nominal fits any labels)."
)


def analysis_options(level: str) -> AnalysisOptions:
    """The options of the dashboard's analysis: the view's level, :data:`N_BOOT` draws."""
    return AnalysisOptions(level=level, n_boot=N_BOOT)


def view_analysis(store: Store, dataset: str, view: ViewFilter, level: str) -> dict[str, Any]:
    """:func:`consistency.analysis.analyze` of a view with :func:`analysis_options`.

    The Overview, Classes and Recommendations pages read this one result
    (cached per view), so their figures agree with each other and with
    ``consistency analyze --json``.
    """
    return analyze(store, dataset, view, analysis_options(level))


def get_analysis(ctx: PageContext) -> dict[str, Any]:
    """The view's analysis (cached); an error message and a stopped page when it cannot be computed."""
    dataset = ctx.require_dataset()
    try:
        with computing(
            f"Agreement figures, with {N_BOOT:,} bootstrap draws for the intervals: "
            "the first time for a view takes a few seconds."
        ):
            return ctx.cached(view_analysis, dataset, ctx.filter, ctx.view.level)
    except ConsistencyError as exc:
        st.error(md(sentence_case(str(exc))))
        if ctx.view.level != DEFAULT_LEVEL:
            st.info(LEVEL_HINT.format(level=ctx.view.level))
        st.stop()
        raise  # st.stop() does not return; this keeps type checkers content


def percent_column(label: str, help: str | None = None, digits: int = 1) -> Any:
    """A table column of percentages held as numbers from 0 to 100 (``12.5`` shows ``12.5%``)."""
    return st.column_config.NumberColumn(label, format=f"%.{digits}f%%", help=help)


def as_percent(x: Any) -> float | None:
    """A share in [0, 1] as a number of percent for :func:`percent_column` (None stays None).

    >>> as_percent(0.125), as_percent(None)
    (12.5, None)
    """
    return None if x is None or pd.isna(x) else 100.0 * float(x)


@contextmanager
def computing(message: str) -> Iterator[None]:
    """Say what is being computed while the block runs (beside the cache's own spinner)."""
    placeholder = st.empty()
    placeholder.caption(f":material/hourglass_top: {md(message)}")
    try:
        yield
    finally:
        placeholder.empty()


def selected_value(state: Any, values: Sequence[Any] | None) -> tuple[bool, Any]:
    """What a table row or chart point selection chose: (whether it chose, the value).

    A table (``values``: the value of each row) chooses the value of its
    selected row; a chart (``values`` None) the first value of the chosen
    point's ``customdata``. An empty selection chooses nothing: a table clears
    its selection by itself when it is drawn again with other rows, so an
    empty selection does not say the user wants no class (the sidebar's
    select box clears it).

    >>> selected_value({"selection": {"rows": [1]}}, ("a", "b")), selected_value(None, ("a",))
    ((True, 'b'), (False, None))
    >>> selected_value({"selection": {"points": [{"customdata": ["dent"]}]}}, None)
    (True, 'dent')
    >>> selected_value({"selection": {"points": []}}, None)
    (False, None)
    """
    selection = (state or {}).get("selection") or {}
    if values is not None:
        rows = selection.get("rows") or []
        return (True, values[rows[0]]) if rows and rows[0] < len(values) else (False, None)
    points = selection.get("points") or []
    if not points:
        return False, None
    data = points[0].get("customdata")
    return True, (data[0] if isinstance(data, list | tuple) and data else data)


def select_into_view(key: str, view: View, field: str, values: Sequence[Any] | None) -> None:
    """Selection callback: the chosen row or point sets ``field`` of the view in the URL.

    Use it as ``on_select=partial(select_into_view, key, ctx.view, "cls", values)``
    of an ``st.dataframe`` (``values``: the value of each row) or an
    ``st.plotly_chart`` whose points carry the value in ``customdata``
    (``values`` None). ``view`` is the view the table or chart was drawn for:
    a selection that says what the view already holds changes nothing (a
    table reports its state again when another widget changes).
    """
    says, value = selected_value(st.session_state.get(key), values)
    if says and value != getattr(view, field):
        go(replace(view, **{field: value}))


def note_icon(severity: str) -> str:
    """The Material icon of a note: a warning sign, or an info sign."""
    return ":material/warning:" if severity == "warning" else ":material/info:"


def show_notes(notes: Sequence[Mapping[str, str]], container: Any = None) -> None:
    """Each note as a caption with its icon, beside the figure it qualifies."""
    target = container if container is not None else st
    for note in notes:
        target.caption(f"{note_icon(note['severity'])} {md(sentence_case(note['message']))}")


def item_link(view: View, item_id: str) -> str:
    """The Items page's link showing one item, with the view's dataset and filters."""
    return page_url("items", replace(view.for_page("items"), item=str(item_id)))


def item_votes(
    store: Store, dataset: str, view: ViewFilter, items: tuple[str, ...]
) -> pd.DataFrame:
    """The labels of some items in a view: ``item_id``, ``votes`` (``dent: 2, ok: 1``), ``labels``.

    Rows in the order of ``items``; an item without a label in the view has
    empty votes and 0 labels.
    """
    ann = store.annotations(dataset, view)
    wanted = ann.filter(ann.item_id.isin(list(items)))
    counts = wanted.group_by(["item_id", "label"]).agg(n=wanted.count()).execute()
    counts = counts.astype({"item_id": str, "label": str})
    counts = counts.sort_values(["item_id", "n", "label"], ascending=[True, False, True])
    votes = counts.groupby("item_id").apply(
        lambda g: ", ".join(f"{lab}: {n}" for lab, n in zip(g["label"], g["n"], strict=True)),
        include_groups=False,
    )
    labels = counts.groupby("item_id")["n"].sum()
    return pd.DataFrame(
        {
            "item_id": list(items),
            "votes": [votes.get(i, "") for i in items],
            "labels": [int(labels.get(i, 0)) for i in items],
        }
    )


def items_table(
    ctx: PageContext, items: Sequence[str], extra: pd.DataFrame | None = None, key: str = ""
) -> None:
    """A table of items (id, votes, labels, a link to the Items page), worst first as given.

    ``extra``: more columns for the same items, indexed by item id.
    """
    dataset = ctx.require_dataset()
    if not items:
        st.caption("No item to show.")
        return
    frame = ctx.cached(item_votes, dataset, ctx.filter, tuple(str(i) for i in items))
    if extra is not None:
        frame = frame.join(extra, on="item_id")
    frame["open"] = [item_link(ctx.view, i) for i in frame["item_id"]]
    st.dataframe(
        frame,
        placeholder=fmt.MISSING,
        hide_index=True,
        key=f"items_{key}" if key else None,
        column_config={
            "item_id": st.column_config.TextColumn("item"),
            "labels": st.column_config.NumberColumn("labels"),
            "open": st.column_config.LinkColumn("Items page", display_text="open"),
        },
    )


# ---- the Overview's figures ---------------------------------------------------------
@dataclass(frozen=True)
class Figure:
    """One figure card: a label, the value as text, and the tooltip that explains it."""

    label: str
    value: str
    help: str | None = None


def labels_per_item(store: Store, dataset: str, view: ViewFilter) -> dict[int, int]:
    """How many items of the view have each number of labels, e.g. ``{3: 777, 4: 756}``."""
    return dataset_profile(store, dataset, view).labels_per_item()


def labels_per_item_figure(distribution: Mapping[int, int]) -> Figure:
    """The "labels per item" card: the range, with the mean and the spread in the tooltip.

    >>> labels_per_item_figure({3: 2, 5: 2})
    Figure(label='Labels per item', value='3 to 5', help='4.0 on average: 2 items with 3, 2 items with 5.')
    >>> labels_per_item_figure({2: 10}).value
    '2'
    """
    dist = {int(k): int(v) for k, v in distribution.items() if int(v) > 0}
    if not dist:
        return Figure("Labels per item", fmt.MISSING)
    low, high = min(dist), max(dist)
    items = sum(dist.values())
    mean = sum(k * v for k, v in dist.items()) / items
    spread = ", ".join(f"{fmt.count(v, 'item')} with {k}" for k, v in sorted(dist.items()))
    value = str(low) if low == high else f"{low} to {high}"
    return Figure("Labels per item", value, f"{mean:.1f} on average: {spread}.")


def rounds_figure(rounds: Sequence[str], view: View) -> Figure:
    """The "rounds" card: how many labeling rounds the dataset has, and which this view reads.

    >>> rounds_figure(["1", "2"], View(dataset="d")).help
    "Rounds 1, 2. This view: each item's latest round."
    """
    if not rounds:
        return Figure("Rounds", "0", "The dataset names no labeling round.")
    shown = view.describe_filters().split(", ")[0]
    listed = md(", ".join(rounds))
    return Figure("Rounds", str(len(rounds)), f"Rounds {listed}. This view: {md(shown)}.")


def agreement_figures(result: Mapping[str, Any]) -> list[Figure]:
    """The overall agreement cards of an analysis: alpha, Fleiss' kappa, Gwet's AC1, percent agreement.

    Fleiss' kappa shows "undefined" with the reason in its tooltip when it
    cannot be computed (unequal numbers of labels per item, for one).

    >>> result = {"alpha": {"level": "nominal", "value": 0.7412, "ci_low": 0.7013,
    ...           "ci_high": 0.7791, "confidence": 0.95, "draws": 1000},
    ...           "fleiss_kappa": None, "fleiss_kappa_note": "needs equal labels per item",
    ...           "gwet_ac1": 0.8, "percent_agreement": 0.85,
    ...           "dataset": {"pairable_items": 40}}
    >>> [(f.label, f.value) for f in agreement_figures(result)]
    [("Krippendorff's alpha (nominal)", '0.74 [0.70, 0.78]'), ("Fleiss' kappa", 'undefined'), ("Gwet's AC1", '0.80'), ('Percent agreement', '85%')]
    """
    a = result["alpha"]
    pairable = (result.get("dataset") or {}).get("pairable_items")
    on = f" on {fmt.count(int(pairable), 'pairable item')}" if pairable is not None else ""
    confidence = fmt.percent(a.get("confidence") or 0.95)
    draws = a.get("draws")
    alpha_help = (
        f"Agreement beyond chance{on}, at the {a['level']} level: 1 is perfect, 0 is chance. "
        f"In brackets: the {confidence} bootstrap interval over items"
        + (f" ({fmt.number(int(draws))} draws)." if draws else ".")
    )
    fleiss = result.get("fleiss_kappa")
    if fleiss is None:
        fleiss_figure = Figure(
            "Fleiss' kappa",
            "undefined",
            sentence_case(result.get("fleiss_kappa_note") or "Fleiss' kappa is undefined here"),
        )
    else:
        fleiss_figure = Figure(
            "Fleiss' kappa",
            fmt.number(fleiss),
            "Agreement beyond chance for the same number of labels on every item (Fleiss 1971).",
        )
    return [
        Figure(f"Krippendorff's alpha ({a['level']})", _interval(a), alpha_help),
        fleiss_figure,
        Figure(
            "Gwet's AC1",
            fmt.number(result.get("gwet_ac1")),
            "Agreement beyond chance that stays stable when one class dominates (Gwet 2008).",
        ),
        Figure(
            "Percent agreement",
            fmt.percent(result.get("percent_agreement")),
            "The share of pairs of labels on the same item that agree (no chance correction).",
        ),
    ]


def _interval(row: Mapping[str, Any]) -> str:
    return fmt.interval(row.get("value"), row.get("ci_low"), row.get("ci_high"))


def top_recommendations(result: Mapping[str, Any], n: int = 3) -> list[dict[str, Any]]:
    """The first ``n`` recommendations of an analysis (rank, action, target, evidence)."""
    return [dict(r) for r in (result.get("recommendations") or [])[:n]]


def show_figures(
    figures: Sequence[Figure], columns: int | None = None, widths: Sequence[int] | None = None
) -> None:
    """Figure cards in rows of ``columns`` (default: one row), ``widths`` relative column widths.

    Give a card holding an interval ("0.52 [0.50, 0.54]") a double width or a
    row of at most three cards, so that the value is not cut.
    """
    per_row = columns or len(figures)
    for start in range(0, len(figures), per_row):
        row = figures[start : start + per_row]
        cols = st.columns(list(widths) if widths else per_row)
        for col, f in zip(cols, row, strict=False):
            col.metric(f.label, f.value, help=f.help)


def design_panel(ctx: PageContext, glance: Mapping[str, Any] | None = None) -> None:
    """How the view was labeled: labels per item and rounds (fast; no bootstrap)."""
    dataset = ctx.require_dataset()
    distribution = (
        glance["labels_per_item"] if glance else ctx.cached(labels_per_item, dataset, ctx.filter)
    )
    show_figures(
        [labels_per_item_figure(distribution), rounds_figure(ctx.catalog.rounds, ctx.view)],
        columns=4,
    )


def agreement_panel(ctx: PageContext, result: Mapping[str, Any]) -> None:
    """Alpha with its interval and level, Fleiss' kappa (or why not), AC1, percent agreement; notes."""
    st.subheader("Agreement")
    show_figures(agreement_figures(result), widths=(2, 1, 1, 1))
    show_notes(notes_for(result, "alpha"))


def analysis_panels(ctx: PageContext, glance: Mapping[str, Any] | None = None) -> None:
    """Agreement, then what to do next: the glance's figures at once, the rest when computed.

    The agreement cards show the :func:`glance_agreement` figures while the whole
    analysis runs (on a large view it takes a while the first time), then
    are drawn again with its notes, followed by the recommendations.
    """
    slot, waiting = st.empty(), st.empty()
    if glance:
        quick = ctx.cached(
            glance_agreement,
            ctx.require_dataset(),
            ctx.filter,
            ctx.view.level,
            profile=glance["profile"],
        )
        if quick:
            with slot.container():
                agreement_panel(ctx, quick)  # no notes: the full panel has as many elements or more
            waiting.caption(
                ":material/hourglass_top: Notes and recommendations are being worked out…"
            )
    result = get_analysis(ctx)
    waiting.empty()
    with slot.container():
        agreement_panel(ctx, result)
    recommendations_panel(ctx, result)


def recommendations_panel(ctx: PageContext, result: Mapping[str, Any]) -> None:
    """The top three recommendations, linking to the Recommendations page."""
    st.subheader("What to do next")
    recs = top_recommendations(result)
    if not recs:
        st.caption("No recommendation: no rule found anything worth doing in this view.")
    for r in recs:
        st.markdown(f"**{r['rank']}. {md(r['action'].capitalize())}:** {md(r['target'])}")
        st.caption(md(sentence_case(r["evidence"])))
    total = len(result.get("recommendations") or [])
    label = f"All {total} recommendations, with example items" if total else "Recommendations"
    link("recommendations", ctx.view.for_page("recommendations"), label=label)
