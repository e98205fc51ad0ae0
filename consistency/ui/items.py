"""The Items page: the most disputed items, and one item in detail with its image.

Figures (Streamlit-free, tested on their own, cached by the page):

* :func:`disputed_rows`: the most disputed items of a view (optionally those
  with a label of some classes, or labeled by one labeler), each with every
  label given, the majority vote (ties shown), gold, the model's prediction
  and the item's metadata;
* :func:`dawid_skene_labels` and :func:`with_dawid_skene`: the Dawid–Skene
  label and its posterior probability beside them;
* :func:`item_annotations`: every label of some items (the per-item detail query);
* :func:`resolve_image`: where an item's image is, refusing anything that is
  not an http(s) link or a file inside the data folder.

Images: a path is read only from a data folder, the bundled ``sample_data``
folder for the sample dataset, else the folder of the setting
``CONSISTENCY_DATA_DIR`` (:mod:`consistency.settings`); a path that leads
outside it (``..``, an absolute path, a symbolic link) is refused, by
:func:`consistency.settings.resolve_data_ref`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache, partial
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import pandas as pd
import streamlit as st
from PIL import Image, UnidentifiedImageError

from consistency.analysis import consensus_table
from consistency.engine import disputed_items
from consistency.metrics.consensus import majority_vote
from consistency.sample import SAMPLE_ANNOTATIONS, SAMPLE_DATASET, sample_dir
from consistency.settings import ENV_DATA_DIR, resolve_data_ref
from consistency.store import Store, ViewFilter
from consistency.ui import fmt
from consistency.ui.fmt import md
from consistency.ui.overview import select_into_view
from consistency.ui.page import PageContext, dashboard_settings, page_url
from consistency.ui.slices import computed

#: File types shown as images.
IMAGE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp")
#: Larger image files are not shown.
MAX_IMAGE_BYTES = 20_000_000
#: How many disputed items the page lists.
LIMIT = 50

#: The fixed columns of :func:`item_rows` (the item's metadata fields follow).
ITEM_COLUMNS: tuple[str, ...] = (
    "item_id",
    "labels",
    "votes",
    "majority",
    "tie",
    "gold_label",
    "model",
    "predicted_label",
    "model_confidence",
    "data_ref",
)


# ---- images -------------------------------------------------------------------------------
@dataclass(frozen=True)
class ImageRef:
    """Where an item's image is, or why it is not shown.

    Attributes:
        kind: ``url`` (an http(s) link), ``file`` (a file inside the data
            folder) or ``none``.
        location: the link, or the resolved file path; "" for ``none``.
        reason: why nothing is shown (``none`` only).
    """

    kind: Literal["url", "file", "none"]
    location: str = ""
    reason: str | None = None


def _refused(reason: str) -> ImageRef:
    return ImageRef("none", "", reason)


@lru_cache(maxsize=4)
def _sha256(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def is_sample(store: Store, dataset: str) -> bool:
    """Whether ``dataset`` is the bundled sample: its id, and the sample file with the same sha256."""
    if dataset != SAMPLE_DATASET:
        return False
    source = sample_dir() / SAMPLE_ANNOTATIONS
    if not source.is_file():
        return False
    prov = store.provenance(dataset)
    mine = prov[prov["file_name"] == SAMPLE_ANNOTATIONS]
    return bool((mine["sha256"] == _sha256(str(source))).any())


def data_folder(sample: bool, configured: Path | None) -> Path | None:
    """The folder image paths are read from (None: local images are not shown).

    The sample's own folder for the sample dataset, else the ``configured``
    one (the setting ``CONSISTENCY_DATA_DIR``).

    >>> data_folder(False, None) is None, data_folder(True, None) == sample_dir()
    (True, True)
    """
    return sample_dir() if sample else configured


def _readable_image(path: Path) -> bool:
    try:
        with Image.open(path) as image:
            image.verify()
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError):
        return False
    return True


def resolve_image(ref: str | None, folder: Path | None) -> ImageRef:
    """Where the image an item refers to is, inside the data folder or at an http(s) link.

    * ``http://`` or ``https://`` links are returned as they are (the browser loads them);
      other schemes (``file:``, ``data:``, ``javascript:``...) are refused.
    * A path must name a file inside ``folder``, symbolic links followed
      (:func:`consistency.settings.resolve_data_ref` decides), of an image
      type (:data:`IMAGE_SUFFIXES`), at most :data:`MAX_IMAGE_BYTES`, that
      can be read as an image.

    >>> resolve_image("https://example.com/a.png", None).kind
    'url'
    >>> resolve_image("../secret.png", Path(".")).reason
    "'../secret.png' is not a file inside the data folder; it is not shown"
    """
    ref = (ref or "").strip()
    if not ref:
        return _refused("this item names no image")
    parts = urlsplit(ref)
    scheme = parts.scheme.lower()
    if scheme in ("http", "https") and parts.netloc:
        return ImageRef("url", ref)
    if len(scheme) > 1:
        return _refused(f"only http and https links are shown; '{scheme}:' links are not")
    if folder is None:
        return _refused(
            f"'{ref}' is a local path: set {ENV_DATA_DIR} to the folder that holds the images "
            "to show it"
        )
    path = resolve_data_ref(ref, folder)
    if path is None:
        return _refused(f"'{ref}' is not a file inside the data folder; it is not shown")
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        return _refused(
            f"'{ref}' is not an image file; expected one of {', '.join(IMAGE_SUFFIXES)}"
        )
    if path.stat().st_size > MAX_IMAGE_BYTES:
        return _refused(f"image '{ref}' is larger than {MAX_IMAGE_BYTES // 1_000_000} MB")
    if not _readable_image(path):
        return _refused(f"'{ref}' cannot be read as an image")
    return ImageRef("file", str(path))


# ---- the items ----------------------------------------------------------------------------
def item_annotations(
    store: Store, dataset: str, view: ViewFilter, item_ids: Sequence[str]
) -> pd.DataFrame:
    """Every label of the given items in a view: item_id, labeler_id, label, round, duration_s, submitted_at.

    Sorted by item (in the order given), round and labeler. Meant for a page
    of items, not for a whole dataset.
    """
    ids = [str(i) for i in item_ids]
    ann = store.annotations(dataset, view)
    cols = ["item_id", "labeler_id", "label", "round", "duration_s", "submitted_at"]
    df = ann.filter(ann.item_id.isin(ids)).select(*cols).execute()
    df = df.astype({"item_id": str, "labeler_id": str, "label": str, "round": str})
    order = {item: n for n, item in enumerate(ids)}
    df = df.assign(_order=df["item_id"].map(order))
    df = df.sort_values(["_order", "round", "labeler_id"], kind="stable")
    return df.drop(columns="_order").reset_index(drop=True)[cols]


def labels_text(labels: pd.DataFrame) -> str:
    """One item's labels in a line: ``insp_01: ok, insp_07: dent`` (rounds named when several).

    >>> labels_text(pd.DataFrame({"labeler_id": ["b", "a"], "label": ["x", "y"], "round": ["1", "1"]}))
    'a: y, b: x'
    """
    several = labels["round"].nunique() > 1
    rows = labels.sort_values(["round", "labeler_id"], kind="stable").to_dict("records")
    return ", ".join(
        f"{r['labeler_id']}: {r['label']}" + (f" (round {r['round']})" if several else "")
        for r in rows
    )


def _majority(mv: pd.DataFrame, item: str) -> tuple[str | None, bool, int]:
    if item not in mv.index:
        return None, False, 0
    row = mv.loc[item]
    tie = bool(row["tie"])
    label = "tie: " + " | ".join(row["tied_labels"]) if tie else str(row["label"])
    return label, tie, int(row["votes"])


def _predictions(store: Store, dataset: str, ids: list[str]) -> pd.DataFrame:
    """The predictions of the first model by name for these items: item_id, model, label, confidence."""
    preds = store.predictions(dataset)
    models = sorted(str(m) for m in preds.select("model").distinct().execute()["model"])
    if not models:
        return pd.DataFrame(columns=["item_id", "model", "predicted_label", "confidence"])
    chosen = preds.filter((preds.model == models[0]) & preds.item_id.isin(ids))
    out = chosen.select("item_id", "model", "predicted_label", "confidence").execute()
    return out.astype({"item_id": str})


def _text(value: Any) -> str | None:
    return None if value is None or pd.isna(value) else str(value)


def item_rows(
    store: Store, dataset: str, view: ViewFilter, item_ids: Sequence[str]
) -> pd.DataFrame:
    """One row per item (in the order given): its labels in the view, consensus, gold, model, metadata.

    Columns :data:`ITEM_COLUMNS` then one per metadata field (a field named
    like a fixed column gets `` (metadata)`` appended). ``majority`` is the
    majority vote, or ``tie: a | b`` when labels tie (``tie`` true); the
    model is the first by name when there are several.
    """
    ids = [str(i) for i in item_ids]
    ann = store.annotations(dataset, view)
    labels = item_annotations(store, dataset, view, ids)
    mv = majority_vote(ann.filter(ann.item_id.isin(ids))).set_index("item_id")
    items = store.items(dataset)
    known = (
        items.filter(items.item_id.isin(ids))
        .select("item_id", "gold_label", "data_ref")
        .execute()
        .astype({"item_id": str})
        .set_index("item_id")
    )
    preds = _predictions(store, dataset, ids).set_index("item_id")
    rows = []
    for item in ids:
        majority, tie, votes = _majority(mv, item)
        mine = labels[labels["item_id"] == item]
        pred = preds.loc[item] if item in preds.index else None
        rows.append(
            {
                "item_id": item,
                "labels": labels_text(mine) if len(mine) else "",
                "votes": votes,
                "majority": majority,
                "tie": tie,
                "gold_label": _text(known["gold_label"].get(item)),
                "model": None if pred is None else str(pred["model"]),
                "predicted_label": None if pred is None else _text(pred["predicted_label"]),
                "model_confidence": None if pred is None else float(pred["confidence"]),
                "data_ref": _text(known["data_ref"].get(item)),
            }
        )
    out = pd.DataFrame(rows, columns=list(ITEM_COLUMNS))
    out["model_confidence"] = out["model_confidence"].astype(float)
    meta = store.item_metadata_wide(dataset, ids)
    meta = meta.rename(
        columns={c: f"{c} (metadata)" for c in meta.columns if c in ITEM_COLUMNS[1:]}
    )
    return out.merge(meta.astype({"item_id": str}), on="item_id", how="left")


def disputed_rows(
    store: Store,
    dataset: str,
    view: ViewFilter,
    classes: tuple[str, ...] = (),
    labeler: str | None = None,
    limit: int = LIMIT,
) -> pd.DataFrame:
    """The most disputed items of a view, worst first, as :func:`item_rows` plus ``disagreement``.

    Items whose labels all agree are not disputed and are left out.

    ``disagreement`` is the share of pairs of the item's labels that differ
    (:func:`consistency.engine.disputed_items`). With ``classes``: items with at
    least one label of those classes; with ``labeler``: items that labeler labeled.
    """
    ann = store.annotations(dataset, view)
    if labeler is not None:
        theirs = ann.filter(ann.labeler_id == labeler).select("item_id").distinct()
        ann = ann.semi_join(theirs, "item_id")
    top = disputed_items(ann, limit, list(classes) or None)
    top = top[top["disagreement"] > 0]
    ids = top["item_id"].astype(str).tolist()
    rows = item_rows(store, dataset, view, ids)
    rows.insert(1, "disagreement", top["disagreement"].astype(float).to_numpy())
    return rows


def dawid_skene_labels(store: Store, dataset: str, view: ViewFilter) -> pd.DataFrame:
    """The Dawid–Skene label of every item of a view and its posterior: item_id, label, confidence."""
    return consensus_table(store, dataset, view, "dawid-skene")[["item_id", "label", "confidence"]]


def with_dawid_skene(rows: pd.DataFrame, ds: pd.DataFrame) -> pd.DataFrame:
    """``rows`` with ``ds_label`` and ``ds_confidence`` after ``majority`` (missing: not in the view).

    >>> rows = pd.DataFrame({"item_id": ["a", "b"], "majority": ["x", "tie: x | y"]})
    >>> ds = pd.DataFrame({"item_id": ["b"], "label": ["y"], "confidence": [0.9]})
    >>> with_dawid_skene(rows, ds).values.tolist()
    [['a', 'x', nan, nan], ['b', 'tie: x | y', 'y', 0.9]]
    """
    ids = rows["item_id"].astype(str)
    table = ds[ds["item_id"].isin(ids)]  # a few rows out of every item of the view
    table = table.rename(columns={"label": "ds_label", "confidence": "ds_confidence"})
    table = table.astype({"item_id": str})
    out = rows.merge(table[["item_id", "ds_label", "ds_confidence"]], on="item_id", how="left")
    at = (
        list(rows.columns).index("majority") + 1
        if "majority" in rows.columns
        else len(rows.columns)
    )
    cols = [*rows.columns[:at], "ds_label", "ds_confidence", *rows.columns[at:]]
    return out[cols]


def describe_list(classes: Sequence[str], labeler: str | None, shown: int) -> str:
    """What the list of disputed items holds, in words.

    >>> describe_list(["dent"], "insp_07", 12)
    "The 12 most disputed items with a label 'dent', labeled by insp_07."
    """
    head = f"The {shown} most disputed items" if shown != 1 else "The most disputed item"
    if classes:
        head += " with a label " + " or ".join(f"'{c}'" for c in classes)
    if labeler is not None:
        head += f", labeled by {labeler}" if classes else f" labeled by {labeler}"
    return head + "."


# ---- panels -----------------------------------------------------------------------------
#: The first columns of the list of disputed items, in this order (the metadata follow).
LIST_COLUMNS: tuple[str, ...] = (
    "item_id",
    "disagreement",
    "majority",
    "ds_label",
    "ds_confidence",
    "gold_label",
    "predicted_label",
    "model_confidence",
    "votes",
    "labels",
)


def list_columns(table: pd.DataFrame) -> list[str]:
    """The columns the list shows: :data:`LIST_COLUMNS`, then the metadata fields.

    The tie flag, the image reference and the model's name are left to the item in focus.
    """
    hidden = {"tie", "data_ref", "model"}
    rest = [c for c in table.columns if c not in LIST_COLUMNS and c not in hidden]
    return [c for c in LIST_COLUMNS if c in table.columns] + rest


def _missing(x: Any) -> bool:
    return x is None or (isinstance(x, float) and pd.isna(x))


def _value(x: Any) -> str:
    return fmt.MISSING if _missing(x) else str(x)


def consensus_figures(row: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The figure cards of the item in focus, (label, value): majority, Dawid–Skene, gold, model.

    >>> consensus_figures({"majority": "tie: a | b", "ds_label": "a", "ds_confidence": 0.8,
    ...     "gold_label": None, "model": "m", "predicted_label": "b", "model_confidence": 0.7})
    [('Majority vote', 'tie: a | b'), ('Dawid–Skene, 80% sure', 'a'), ('Gold label', '—'), ('Model m, 70% confident', 'b')]
    """
    ds_label = "Dawid–Skene"
    if not _missing(row.get("ds_label")):
        ds_label += f", {fmt.percent(row.get('ds_confidence'))} sure"
    model = row.get("model")
    model_label = "Model"
    if not _missing(model):
        model_label = f"Model {model}"
        if not _missing(row.get("model_confidence")):
            model_label += f", {fmt.percent(row['model_confidence'])} confident"
    return [
        ("Majority vote", _value(row.get("majority"))),
        (ds_label, _value(row.get("ds_label"))),
        ("Gold label", _value(row.get("gold_label"))),
        (model_label, _value(row.get("predicted_label"))),
    ]


def _percent_columns(table: pd.DataFrame) -> pd.DataFrame:
    out = table.copy()
    for col in ("disagreement", "ds_confidence", "model_confidence"):
        if col in out.columns:
            out[col] = out[col] * 100
    return out


_COLUMN_CONFIG: dict[str, Any] = {
    "item_id": st.column_config.TextColumn("item"),
    "disagreement": st.column_config.NumberColumn(
        format="%.0f%%", help="Share of the pairs of the item's labels that differ"
    ),
    "majority": st.column_config.TextColumn(help="Majority vote; 'tie' lists the tied labels"),
    "ds_label": st.column_config.TextColumn("Dawid–Skene", help="Dawid–Skene consensus label"),
    "ds_confidence": st.column_config.NumberColumn(
        "D–S confidence", format="%.0f%%", help="Posterior probability of the Dawid–Skene label"
    ),
    "gold_label": st.column_config.TextColumn("gold"),
    "predicted_label": st.column_config.TextColumn("model says"),
    "model_confidence": st.column_config.NumberColumn("model confidence", format="%.0f%%"),
}


def disputed_panel(ctx: PageContext) -> None:
    """The most disputed items of the view; clicking one puts it in focus."""
    dataset = ctx.require_dataset()
    view = ctx.view
    classes = (view.cls,) if view.cls else ()
    st.subheader("The most disputed items")
    rows = computed(ctx, disputed_rows, dataset, ctx.filter, classes, view.labeler, LIMIT)
    ds = computed(ctx, dawid_skene_labels, dataset, ctx.filter)
    if rows is None:
        return
    if rows.empty:
        st.info("No item of this view has labels that disagree.")
        return
    if ds is None:
        ds = pd.DataFrame(columns=["item_id", "label", "confidence"])
    table = with_dawid_skene(rows, ds)
    st.caption(md(describe_list(classes, view.labeler, len(table))) + " Click a row to see it.")
    ids = table["item_id"].tolist()
    key = f"item_rows_{view.item}"
    shown = list_columns(table)
    st.dataframe(
        _percent_columns(table[shown]),
        hide_index=True,
        key=key,
        on_select=partial(select_into_view, key, view, "item", ids),
        selection_mode="single-row",
        selection_default={
            "selection": {"rows": [ids.index(view.item)] if view.item in ids else []}
        },
        placeholder=fmt.MISSING,
        column_config=_COLUMN_CONFIG,
    )


def _image(ctx: PageContext, ref: str | None) -> None:
    dataset = ctx.require_dataset()
    sample = bool(computed(ctx, is_sample, dataset))
    found = resolve_image(ref, data_folder(sample, dashboard_settings().data_dir))
    if found.kind == "url":
        st.image(found.location, width="stretch", caption=md(ref))
    elif found.kind == "file":
        st.image(Path(found.location).read_bytes(), width="stretch", caption=md(ref))
    else:
        st.caption(f":material/hide_image: {md(found.reason)}")


def focus_panel(ctx: PageContext) -> None:
    """The item in focus (``item=``): image, consensus, gold, model, every label, metadata."""
    dataset = ctx.require_dataset()
    item = ctx.view.item
    if item is None:
        return
    st.subheader(f"Item {md(item)}")
    rows = computed(ctx, item_rows, dataset, ctx.filter, (item,))
    ds = computed(ctx, dawid_skene_labels, dataset, ctx.filter)
    if rows is None or ds is None:
        return
    row = with_dawid_skene(rows, ds).to_dict("records")[0]
    left, right = st.columns([1, 3])
    with left:
        _image(ctx, row["data_ref"])
    with right:
        figures = consensus_figures(row)
        for start in (0, 2):
            for col, (label, value) in zip(st.columns(2), figures[start : start + 2], strict=True):
                col.metric(md(label), md(value), border=True)
        if not row["labels"]:
            st.caption("This item has no labels in this view; every round's labels are below.")
    _labels_table(ctx, item)
    meta = {
        k: v
        for k, v in row.items()
        if k not in ITEM_COLUMNS and k not in ("ds_label", "ds_confidence")
    }
    if meta:
        st.markdown("**Metadata**: " + md(", ".join(f"{k} = {_value(v)}" for k, v in meta.items())))


def _labels_table(ctx: PageContext, item: str) -> None:
    every_round = replace(ctx.filter, rounds=("*",))
    labels = computed(ctx, item_annotations, ctx.require_dataset(), every_round, (item,))
    if labels is None:
        return
    st.markdown(f"**Every label of this item** ({fmt.count(len(labels), 'label')}, every round)")
    base = ctx.view.for_page("labelers")
    labels = labels.drop(columns="item_id").assign(
        labeler_page=[page_url("labelers", replace(base, labeler=x)) for x in labels["labeler_id"]]
    )
    st.dataframe(
        labels,
        hide_index=True,
        placeholder=fmt.MISSING,
        column_config={
            "labeler_id": st.column_config.TextColumn("labeler"),
            "labeler_page": st.column_config.LinkColumn(
                "labeler page", display_text="Labelers page", width="small"
            ),
            "duration_s": st.column_config.NumberColumn("duration (s)", format="%.1f"),
            "submitted_at": st.column_config.DatetimeColumn("submitted", format="YYYY-MM-DD HH:mm"),
        },
        key="item_labels",
    )
