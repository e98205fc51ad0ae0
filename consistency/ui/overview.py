"""The Overview page's panels, one function each.

Each panel takes the :class:`~consistency.ui.page.PageContext` and draws one
part of the page; the figures come from Streamlit-free functions of the store
(cached through ``ctx.cached``), which are tested on their own. Add a panel as
one more function here and one call in ``app.py``.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from consistency.store import Store, ViewFilter
from consistency.ui import fmt
from consistency.ui.page import PageContext, link


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


def datasets_frame(store: Store) -> pd.DataFrame:
    """The store's datasets with their counts, for display."""
    df = store.datasets()
    return df.rename(columns={"id": "dataset", "created_at": "created"})


def summary_panel(ctx: PageContext) -> None:
    """What the current view holds: annotations, items, labelers, classes."""
    dataset = ctx.require_dataset()
    counts = ctx.cached(view_counts, dataset, ctx.filter)
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
