"""The Recommendations page's panels, and the relabel batch any page can offer.

The ranked table comes from the view's analysis
(:func:`consistency.ui.overview.get_analysis`); each row opens to its
evidence and example items. "Relabel these items" previews the batch of
:func:`consistency.relabel.queue` for the items a recommendation (or a class)
points at, and offers it as Label Studio tasks, a Toloka task file and a CSV.
The tables are built by Streamlit-free functions tested on their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd
import streamlit as st

from consistency.errors import ConsistencyError
from consistency.relabel import EXPORTERS, TaskShape, queue, task_shape
from consistency.store import Store, ViewFilter
from consistency.ui import fmt
from consistency.ui.fmt import md
from consistency.ui.overview import (
    analysis_options,
    as_percent,
    computing,
    items_table,
    percent_column,
    sentence_case,
)
from consistency.ui.page import PageContext

#: Items a relabel batch holds unless the user asks for another number.
DEFAULT_BUDGET = 50

#: The downloads of a batch: (format, button label, file extension, MIME type).
BATCH_FILES: tuple[tuple[str, str, str, str], ...] = (
    ("labelstudio", "Label Studio tasks (JSON)", "json", "application/json"),
    ("toloka", "Toloka tasks (TSV)", "tsv", "text/tab-separated-values"),
    ("csv", "Batch as CSV", "csv", "text/csv"),
)

#: Columns of :func:`recommendations_frame`, in order.
TABLE_COLUMNS: tuple[str, ...] = (
    "rank",
    "action",
    "target",
    "alpha",
    "change",
    "share of data",
    "score",
)

#: Columns of the batch preview, in order.
PREVIEW_COLUMNS: tuple[str, ...] = (
    "rank",
    "item_id",
    "gain",
    "votes",
    "consensus",
    "confidence",
    "tie",
    "gold_label",
    "reason",
)


# ---- the ranked table ---------------------------------------------------------------
def _alpha_change(before: Any, after: Any) -> tuple[str, str]:
    """``0.52 → 0.61`` and ``+0.09``; the change is blank when the labels stay as they are."""
    text = f"{fmt.number(before)} → {fmt.number(after)}"
    if before is None or after is None or abs(after - before) < 5e-4:
        return text, ""
    return text, f"{after - before:+.2f}"


def recommendations_frame(result: Mapping[str, Any]) -> pd.DataFrame:
    """The ranked recommendations as a table for people (columns :data:`TABLE_COLUMNS`).

    ``alpha`` reads "before → after"; ``change`` is after minus before (blank
    for model work, which leaves the labels as they are); ``share of data`` is
    in percent.

    >>> recs = [{"rank": 1, "action": "merge classes", "target": "a + b", "alpha_before": 0.5,
    ...          "alpha_after": 0.61, "share": 0.2, "score": 0.022}]
    >>> row = recommendations_frame({"recommendations": recs}).to_dict("records")[0]
    >>> row["alpha"], row["change"], row["share of data"]
    ('0.50 → 0.61', '+0.11', 20.0)
    """
    rows = []
    for r in result.get("recommendations") or []:
        alpha, change = _alpha_change(r.get("alpha_before"), r.get("alpha_after"))
        share = as_percent(r["share"])
        rows.append((r["rank"], r["action"], r["target"], alpha, change, share, r["score"]))
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))


def table_panel(ctx: PageContext, result: Mapping[str, Any]) -> None:
    """The ranked table: what to do first, to what, and what it would do to alpha."""
    frame = recommendations_frame(result)
    if frame.empty:
        st.info(
            "No recommendation for this view: no rule found anything worth doing. "
            "Widen the filters in the sidebar, or see the Classes and Labelers pages."
        )
        return
    st.dataframe(
        frame,
        placeholder=fmt.MISSING,
        hide_index=True,
        column_config={
            "rank": st.column_config.NumberColumn("rank", width="small"),
            "alpha": st.column_config.TextColumn("alpha: now → after", help=ALPHA_HELP),
            "change": st.column_config.TextColumn("change"),
            "share of data": percent_column("share of data", "The share of the labels it touches."),
            "score": st.column_config.NumberColumn("score", format="%.4f", help=SCORE_HELP),
        },
    )


ALPHA_HELP = (
    "Krippendorff's alpha of the view now, and after the action: exact for a merge, "
    "an uncertain tag and a labeler review; an estimate for clearer instructions and "
    "a fixed input."
)
SCORE_HELP = (
    "The rise in alpha times the share of data it touches (for model work: the gap "
    "between people and the model times the share). Highest first."
)


def details_panel(ctx: PageContext, result: Mapping[str, Any]) -> None:
    """Each recommendation opened up: its evidence, its example items, a relabel batch."""
    recs = result.get("recommendations") or []
    if recs:
        st.caption("Open a recommendation for its evidence, its example items and a relabel batch.")
    for r in recs:
        alpha, change = _alpha_change(r.get("alpha_before"), r.get("alpha_after"))
        title = f"{r['rank']}. {r['action'].capitalize()}: {r['target']} (alpha {alpha})"
        with st.expander(md(title), expanded=r["rank"] == 1):
            st.markdown(md(sentence_case(r["evidence"])))
            cols = st.columns(3)
            cols[0].metric("Alpha: now → after", alpha, help=ALPHA_HELP)
            cols[1].metric("Change", change or "none", help="After minus now.")
            cols[2].metric("Share of data", fmt.percent(r["share"]))
            examples = list(r.get("example_items") or [])
            st.markdown("**Example items**, most disputed first")
            items_table(ctx, examples, key=f"rec_{r['rank']}")
            if st.toggle("Relabel these items", key=f"relabel_rec_{r['rank']}"):
                relabel_panel(ctx, relabel_target(r), key=f"rec_{r['rank']}")


# ---- the relabel batch --------------------------------------------------------------
@dataclass(frozen=True)
class RelabelTarget:
    """The items a relabel batch takes, as :func:`consistency.relabel.queue` selects them.

    At most one of: ``classes`` (items with a label among them), ``slice``
    ((field, value)), ``labeler``, ``action_rank`` (the items of that
    recommendation, recomputed by the queue).
    """

    classes: tuple[str, ...] = ()
    slice: tuple[str, str] | None = None
    labeler: str | None = None
    action_rank: int | None = None


def relabel_target(rec: Mapping[str, Any]) -> RelabelTarget:
    """The items a recommendation row points at: its slice, its labeler, or its classes.

    A recommendation on the whole dataset (an uncertain tag, say) is selected
    by its rank.

    >>> relabel_target({"rank": 1, "slice": "camera=cam_C", "labeler_id": None, "classes": []})
    RelabelTarget(classes=(), slice=('camera', 'cam_C'), labeler=None, action_rank=None)
    >>> relabel_target({"rank": 4, "slice": None, "labeler_id": None, "classes": ["a", "b"]}).classes
    ('a', 'b')
    >>> relabel_target({"rank": 5, "slice": None, "labeler_id": None, "classes": []}).action_rank
    5
    """
    slice_ = rec.get("slice")
    if isinstance(slice_, str) and "=" in slice_:
        field_name, value = slice_.split("=", 1)
        return RelabelTarget(slice=(field_name, value))
    if rec.get("labeler_id"):
        return RelabelTarget(labeler=str(rec["labeler_id"]))
    classes = tuple(str(c) for c in rec.get("classes") or ())
    if classes:
        return RelabelTarget(classes=classes)
    return RelabelTarget(action_rank=int(rec["rank"]))


def relabel_batch(
    store: Store, dataset: str, view: ViewFilter, level: str, target: RelabelTarget, budget: int
) -> dict[str, Any]:
    """The relabel queue of a target: ``{"batch": frame, "selection": words}``.

    ``batch`` has :data:`consistency.relabel.QUEUE_COLUMNS`; the options are
    the dashboard's (:func:`consistency.ui.overview.analysis_options`), so a
    recommendation's rank means the same as on the page.
    """
    batch = queue(
        store,
        dataset,
        classes=target.classes or None,
        slice=target.slice,
        labeler=target.labeler,
        action_rank=target.action_rank,
        budget=budget,
        view=view,
        options=analysis_options(level),
    )
    return {"batch": batch, "selection": str(batch.attrs.get("selection", ""))}


def dataset_task_shape(store: Store, dataset: str) -> TaskShape:
    """The task field names recorded by the dataset's imports (see :func:`consistency.relabel.task_shape`)."""
    return task_shape(store, dataset)


#: Why the Label Studio file waits, when no import recorded the tag names.
NAMES_NEEDED = (
    "The Label Studio tasks pre-annotate each item with its consensus, so they need the "
    "from_name and to_name of the labeling config's Choices tag: fill them in above."
)


def batch_files(batch: pd.DataFrame, shape: TaskShape) -> dict[str, bytes | str]:
    """Each format of :data:`BATCH_FILES`: the file's bytes, or why it cannot be written."""
    out: dict[str, bytes | str] = {}
    for name, *_ in BATCH_FILES:
        if name == "labelstudio" and not (shape.from_name and shape.to_name):
            out[name] = NAMES_NEEDED
            continue
        try:
            out[name] = EXPORTERS[name](batch, shape)
        except ConsistencyError as exc:
            out[name] = sentence_case(str(exc))
    return out


def relabel_panel(ctx: PageContext, target: RelabelTarget, key: str) -> None:
    """Preview the batch of a target and offer its three files."""
    dataset = ctx.require_dataset()
    budget = st.columns(3)[0].number_input(
        "Items in the batch",
        min_value=1,
        max_value=100_000,
        value=DEFAULT_BUDGET,
        step=10,
        key=f"budget_{key}",
    )
    try:
        with computing("Ranking the items by what relabeling them would do to alpha."):
            out = ctx.cached(
                relabel_batch, dataset, ctx.filter, ctx.view.level, target, int(budget)
            )
    except ConsistencyError as exc:
        st.warning(md(sentence_case(str(exc))))
        return
    batch: pd.DataFrame = out["batch"]
    st.caption(
        md(
            f"{fmt.count(len(batch), 'item')}: {out['selection']}. Ranked by how much alpha "
            "would rise if the item's labels agreed on its consensus."
        )
    )
    st.dataframe(
        batch[list(PREVIEW_COLUMNS)],
        placeholder=fmt.MISSING,
        hide_index=True,
        column_config={
            "item_id": st.column_config.TextColumn("item"),
            "gain": st.column_config.NumberColumn("alpha gain", format="%.5f"),
            "confidence": st.column_config.NumberColumn(
                "confidence",
                format="%.2f",
                help="Share of the item's labels that are its consensus.",
            ),
            "gold_label": st.column_config.TextColumn("gold"),
        },
    )
    recorded = ctx.cached(dataset_task_shape, dataset)
    left, right = st.columns(2)
    shape = replace(
        recorded,
        from_name=left.text_input(
            "Label Studio from_name",
            value=recorded.from_name or "",
            key=f"from_name_{key}",
            help="The name of the Choices tag of the labeling config.",
        )
        or None,
        to_name=right.text_input(
            "Label Studio to_name",
            value=recorded.to_name or "",
            key=f"to_name_{key}",
            help="The object tag the choices label (the image, say).",
        )
        or None,
    )
    files = batch_files(batch, shape)
    for col, (name, label, ext, mime) in zip(st.columns(3), BATCH_FILES, strict=True):
        data = files[name]
        col.download_button(
            label,
            data if isinstance(data, bytes) else b"",
            file_name=f"{dataset}-relabel.{ext}",
            mime=mime,
            key=f"download_{name}_{key}",
            on_click="ignore",
            disabled=not isinstance(data, bytes),
            icon=":material/download:",
        )
        if not isinstance(data, bytes):
            col.caption(md(data))
