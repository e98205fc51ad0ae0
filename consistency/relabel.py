"""The relabel queue: which items to send back for labeling, best first, and the task files.

:func:`queue` picks the items of a target (a class, a metadata slice, a
labeler, or what a recommendation points at) and ranks them by the exact gain
in the dataset's Krippendorff's alpha if the item's labels became unanimous on
its current consensus (:func:`unanimity_gains`). :func:`to_labelstudio`,
:func:`to_toloka` and :func:`to_csv` turn a queue into a file the labeling
tool imports as it is; the item id travels in it (``data.item_id``,
``INPUT:item_id``), so the relabeled export re-imports with ``--round R`` onto
the same items (:func:`check_reimport` refuses one whose ids match nothing).
See ``docs/relabel-loop.md``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from consistency.engine import Profile, profile
from consistency.errors import ImportFailed, InvalidArgument, NotComputable, Problem
from consistency.io._build import MULTI_CHOICE_SEPARATOR
from consistency.io.labelstudio import CONSENSUS_MODEL, QUEUE_FIELD_PREFIX
from consistency.metrics.alpha import (
    Level,
    alpha_from_coincidence,
    check_level,
    coincidence,
    distance,
)
from consistency.schema import ImportResult
from consistency.store import Store, ViewFilter, slugify

#: Columns of :func:`queue`, in order.
QUEUE_COLUMNS: tuple[str, ...] = (
    "rank",
    "item_id",
    "gain",
    "votes",
    "n_labels",
    "consensus",
    "confidence",
    "tie",
    "gold_label",
    "data_ref",
    "reason",
    "metadata",
)

#: Columns of the CSV export, in order.
CSV_COLUMNS: tuple[str, ...] = (
    "item_id",
    "data_ref",
    "votes",
    "consensus",
    "tie",
    "confidence",
    "gain",
    "reason",
)

#: Gains closer than this count as equal when ranking (then the item id decides).
GAIN_TIE = 1e-12

#: How many ids or values an error message lists before "... and N more".
LISTED = 20


def _listed(values: list[str]) -> str:
    shown = ", ".join(values[:LISTED])
    return shown + (f" ... and {len(values) - LISTED} more" if len(values) > LISTED else "")


# ---- the gain ------------------------------------------------------------------------
def unanimity_gains(
    profile_: Profile,
    counts: np.ndarray,
    target: np.ndarray,
    level: Level = "nominal",
) -> np.ndarray:
    """The exact change in alpha if each item's labels all became its target label.

    Item u has value counts x_u (a row of ``counts``, in the profile's label
    order) and m_u labels. Making it unanimous on c* keeps m_u and replaces
    its coincidence contribution C_u = (x_u x_u^T - diag(x_u)) / (m_u - 1)
    by m_u e_c* e_c*^T, so with o and n_c the profile's coincidences and
    marginals (Krippendorff 2011):

    * o' = o - C_u + m_u e_c* e_c*^T and n'_c = n_c - x_uc + m_u [c = c*]
      (n is unchanged);
    * D_o' = sum o_ck d_ck - x_u^T d x_u / (m_u - 1) (d_cc = 0);
    * D_e' = n'^T d n';
    * gain_u = (1 - (n - 1) D_o' / D_e') - alpha.

    d is the level's distance; at the ordinal level it is recomputed from the
    new marginals n'. Items with fewer than two labels, or already unanimous
    on their target, gain exactly 0. NaN where alpha after the change is
    undefined (every pairable label would be the same).

    Args:
        profile_: the profile of the whole view (every item, not just the queue).
        counts: U x K value counts of the items to score, columns in
            ``profile_.labels`` order.
        target: length-U label codes (positions in ``profile_.labels``).
        level: level of measurement.

    Raises:
        NotComputable: alpha of the view is undefined.

    The worked example of ``docs/relabel-loop.md`` (alpha = 1/3; making i3
    unanimous gives 2/3, i2 gives 9/14):

    >>> from consistency.engine import profile_from_rows
    >>> items = {"i1": "xxx", "i2": "xxy", "i3": "xyy", "i4": "yy"}
    >>> p = profile_from_rows([(i, lab) for i, labs in items.items() for lab in labs])
    >>> counts = np.array([[3, 0], [2, 1], [1, 2], [0, 2]])
    >>> gains = unanimity_gains(p, counts, np.array([0, 0, 1, 1]))
    >>> [round(float(g), 6) for g in gains], round(13 / 42, 6)
    ([0.0, 0.309524, 0.333333, 0.0], 0.309524)
    """
    level = check_level(level)
    o = coincidence(profile_)
    n_c = o.sum(axis=1)
    n = float(n_c.sum())
    d0 = distance(level, profile_.values, n_c)
    before = alpha_from_coincidence(o, d0)
    if not np.isfinite(before):
        raise NotComputable(
            "alpha is undefined on this view (fewer than two pairable labels, or a single "
            "class): there is no disagreement to remove by relabeling"
        )
    counts = np.asarray(counts, dtype=np.int64).reshape(-1, len(profile_.labels))
    target = np.asarray(target, dtype=np.int64)
    if len(counts) == 0:
        return np.zeros(0)
    combos, inverse = np.unique(np.column_stack([counts, target]), axis=0, return_inverse=True)
    x = combos[:, :-1].astype(float)
    t = combos[:, -1]
    m = x.sum(axis=1)
    pairable = m >= 2
    onehot = np.zeros_like(x)
    onehot[np.arange(len(x)), t] = 1.0
    new_n = n_c[None, :] + pairable[:, None] * (m[:, None] * onehot - x)
    scale = np.where(pairable, 1.0 / np.maximum(m - 1, 1), 0.0)
    if level == "ordinal":
        d = np.stack([distance(level, profile_.values, row) for row in new_n])
        d_o = np.einsum("ck,jck->j", o, d) - np.einsum("jc,jck,jk->j", x, d, x) * scale
        d_e = np.einsum("jc,jck,jk->j", new_n, d, new_n)
    else:
        d_o = float((o * d0).sum()) - np.einsum("jc,ck,jk->j", x, d0, x) * scale
        d_e = np.einsum("jc,ck,jk->j", new_n, d0, new_n)
    with np.errstate(invalid="ignore", divide="ignore"):
        after = np.where((d_e > 0) & (n >= 2), 1.0 - (n - 1) * d_o / d_e, np.nan)
    gain = after - before
    unchanged = ~pairable | (x[np.arange(len(x)), t] == m)
    gain[unchanged] = 0.0
    return gain[inverse.ravel()]


# ---- per-item counts and consensus -----------------------------------------------------
def item_counts(ann: ir.Table, labels: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Item ids (sorted) and their U x K value counts n_uc, columns in ``labels`` order.

    One group-by (item, label) in the engine; linear in the number of items.
    Labels of ``ann`` missing from ``labels`` raise InvalidArgument.
    """
    vc = ann.group_by(["item_id", "label"]).agg(n=ann.count()).execute()
    code = {lab: i for i, lab in enumerate(labels)}
    missing = sorted(set(vc["label"].astype(str)) - set(code))
    if missing:
        raise InvalidArgument(f"labels {_listed(missing)} are not among {_listed(list(labels))}")
    ids, row = np.unique(vc["item_id"].astype(str).to_numpy(dtype=object), return_inverse=True)
    counts = np.zeros((len(ids), len(labels)), dtype=np.int64)
    cols = vc["label"].astype(str).map(code).to_numpy(dtype=np.int64)
    np.add.at(counts, (row.ravel(), cols), vc["n"].to_numpy(dtype=np.int64))
    return ids.astype(str), counts


def votes_text(counts: np.ndarray, labels: tuple[str, ...]) -> list[str]:
    """Each item's votes as text, most frequent first: ``discoloration: 2, stain: 1``.

    >>> votes_text(np.array([[1, 2, 0]]), ("ok", "stain", "dent"))
    ['stain: 2, ok: 1']
    """
    out = []
    for row in counts:
        order = sorted((i for i in range(len(labels)) if row[i] > 0), key=lambda i: (-row[i], i))
        out.append(", ".join(f"{labels[i]}: {int(row[i])}" for i in order))
    return out


def tied(counts: np.ndarray) -> np.ndarray:
    """Boolean per item: two labels or more share the top count.

    >>> tied(np.array([[2, 2, 1], [3, 1, 0]])).tolist()
    [True, False]
    """
    if not counts.size:
        return np.zeros(len(counts), dtype=bool)
    return (counts == counts.max(axis=1, keepdims=True)).sum(axis=1) > 1


def tie_posteriors(ann: ir.Table) -> pd.DataFrame:
    """The Dawid–Skene posteriors (items x classes) that break majority-vote ties."""
    from consistency.analysis import DS_MAX_ITER
    from consistency.metrics.consensus import dawid_skene

    return dawid_skene(ann, max_iter=DS_MAX_ITER).posteriors


def consensus_of(
    ann: ir.Table,
    ids: np.ndarray,
    counts: np.ndarray,
    labels: tuple[str, ...],
    posteriors: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Majority-vote consensus of items, a tie broken by the Dawid–Skene label and marked.

    For item u with counts n_uc: the label with the most votes, confidence
    max_c n_uc / m_u. When t >= 2 labels share the top count, ``tie`` is True
    and the label among them with the highest Dawid–Skene posterior wins
    (equal posteriors fall to the first label in class order). The posteriors
    are ``posteriors`` when given, else those of the model fitted on ``ann``
    (the whole view), fitted only when there is a tie.

    Returns:
        One row per item of ``ids``: item_id, code (position in ``labels``),
        consensus, confidence, tie, tied_labels (tuple).
    """
    top = counts.max(axis=1) if counts.size else np.zeros(0, dtype=np.int64)
    winners = counts == top[:, None]
    tie = tied(counts)
    code = np.argmax(winners, axis=1)
    if tie.any():
        post = tie_posteriors(ann) if posteriors is None else posteriors
        post = post.reindex(index=list(ids), columns=list(labels)).fillna(0.0).to_numpy()
        code[tie] = np.argmax(np.where(winners[tie], post[tie], -1.0), axis=1)
    m = counts.sum(axis=1)
    return pd.DataFrame(
        {
            "item_id": ids,
            "code": code,
            "consensus": [labels[c] for c in code],
            "confidence": np.where(m > 0, top / np.maximum(m, 1), np.nan),
            "tie": tie,
            "tied_labels": [
                tuple(labels[i] for i in np.flatnonzero(w)) if t else ()
                for w, t in zip(winners, tie, strict=True)
            ],
        }
    )


# ---- what to queue ---------------------------------------------------------------------
@dataclass(frozen=True)
class Selection:
    """Which items a queue takes (at most one of the four; none: the top recommendation).

    Attributes:
        classes: items where at least one label is one of these classes.
        slice: (metadata field, value): the items of that slice.
        labeler: the items this labeler labeled.
        action_rank: the items the recommendation of this rank points at.
    """

    classes: tuple[str, ...] = ()
    slice: tuple[str, str] | None = None
    labeler: str | None = None
    action_rank: int | None = None

    def describe(self) -> str:
        """The selection in words."""
        if self.classes:
            return "items with a label " + " or ".join(self.classes)
        if self.slice is not None:
            return f"items with {self.slice[0]} = {self.slice[1]}"
        if self.labeler is not None:
            return f"items labeled by {self.labeler}"
        return f"the items of recommendation {self.action_rank or 1}"


def _check_selection(selection: Selection) -> None:
    chosen = [
        bool(selection.classes),
        selection.slice is not None,
        selection.labeler is not None,
        selection.action_rank is not None,
    ]
    if sum(chosen) > 1:
        raise InvalidArgument(
            "choose the items with one of --action-rank, --class, --slice or --labeler; "
            f"found {sum(chosen)}"
        )
    if selection.action_rank is not None and selection.action_rank < 1:
        raise InvalidArgument(f"--action-rank must be 1 or more; found {selection.action_rank}")


def _from_recommendation(
    store: Store, dataset: str, view: ViewFilter, options: Any, rank: int
) -> tuple[Selection, str]:
    """The selection a recommendation points at, and the words that say so."""
    from consistency.analysis import recommendations_table

    recs = recommendations_table(store, dataset, view, options)
    if not len(recs):
        raise NotComputable(
            f"no recommendation for dataset '{dataset}' ({view.describe()}): choose the items "
            "with --class, --slice or --labeler"
        )
    if rank > len(recs):
        raise InvalidArgument(
            f"--action-rank {rank}: there are {len(recs)} recommendations "
            f"(see `consistency recommend {dataset}`)"
        )
    r = recs.iloc[rank - 1]
    said = f"recommendation {rank} ({r['action']}: {r['target']})"
    if isinstance(r["slice"], str) and "=" in r["slice"]:
        field, value = r["slice"].split("=", 1)
        return Selection(slice=(field, value)), said
    if isinstance(r["labeler_id"], str):
        return Selection(labeler=r["labeler_id"]), said
    classes = tuple(str(c) for c in (r["classes"] if isinstance(r["classes"], list) else []))
    return Selection(classes=classes), said


def _selected_ids(
    store: Store, dataset: str, ann: ir.Table, labels: tuple[str, ...], selection: Selection
) -> ir.Table | None:
    """An engine table of the selected item ids (None: every item of the view)."""
    if selection.classes:
        unknown = [c for c in selection.classes if c not in labels]
        if unknown:
            raise InvalidArgument(f"class '{unknown[0]}' not found. Classes: {', '.join(labels)}")
        having = ann.filter(ann.label.isin(list(selection.classes)))
        return having.select("item_id").distinct()
    if selection.slice is not None:
        field, value = selection.slice
        fields = store.metadata_fields(dataset)["field"].tolist()
        if field not in fields:
            raise InvalidArgument(
                f"metadata field '{field}' not found in dataset '{dataset}'. "
                f"Fields: {_listed(fields) or 'none'}"
            )
        values = store.metadata_values(dataset, field)
        if value not in values:
            raise InvalidArgument(
                f"no item has {field} = {value}. Values of {field}: {_listed(values)}"
            )
        m = store.table("item_metadata")
        m = m.filter((m.dataset == dataset) & (m.field == field) & (m.value == value))
        return m.select("item_id").distinct()
    if selection.labeler is not None:
        mine = ann.filter(ann.labeler_id == selection.labeler).select("item_id").distinct()
        if not mine.count().execute():
            known = sorted(ann.select("labeler_id").distinct().execute()["labeler_id"].astype(str))
            raise InvalidArgument(
                f"labeler '{selection.labeler}' has no label in this view. Labelers: "
                f"{_listed(known)}"
            )
        return mine
    return None


def _reasons(frame: pd.DataFrame, selection: Selection, prefix: str | None) -> list[str]:
    """Why each item is in the batch, in words."""
    out = []
    for r in frame.itertuples():
        if selection.classes:
            present = [c for c in selection.classes if c in r.present]
            why = ("has a label " if len(present) == 1 else "has labels ") + ", ".join(present)
        elif selection.slice is not None:
            why = f"{selection.slice[0]} = {selection.slice[1]}"
        elif selection.labeler is not None:
            why = f"labeled by {selection.labeler}"
        else:
            why = ""
        text = ": ".join(p for p in (prefix, why) if p) or "queued"
        if r.tie:
            tied = " and ".join(r.tied_labels)
            text += f"; votes tied between {tied}, Dawid-Skene picks {r.consensus}"
        out.append(text)
    return out


def _check_counts(budget: int | None, min_labels: int, controls: int) -> None:
    if budget is not None and budget < 1:
        raise InvalidArgument(f"--budget must be 1 or more (items to relabel); found {budget}")
    if min_labels < 1:
        raise InvalidArgument(f"--min-labels must be 1 or more; found {min_labels}")
    if controls < 0:
        raise InvalidArgument(f"--controls must be 0 or more; found {controls}")


def queue(
    store: Store,
    dataset: str,
    *,
    classes: list[str] | tuple[str, ...] | None = None,
    slice: tuple[str, str] | None = None,
    labeler: str | None = None,
    action_rank: int | None = None,
    budget: int | None = None,
    min_labels: int = 2,
    controls: int = 0,
    view: ViewFilter | None = None,
    options: Any = None,
) -> pd.DataFrame:
    """The items to relabel, best first.

    Selection (at most one): ``classes`` (items where at least one label is
    one of them), ``slice`` ((field, value): the items of that metadata slice),
    ``labeler`` (the items this labeler labeled), ``action_rank`` (the items
    the recommendation of that rank points at); none: the top recommendation.
    Of those, the items with at least ``min_labels`` labels are ranked by
    their gain (:func:`unanimity_gains`: how much the view's alpha would rise
    if the item's labels became unanimous on its consensus), highest first,
    ties by item id, and the first ``budget`` are kept. ``controls`` appends up
    to that many control items (with a gold label, not already in the batch,
    by item id) for the labeling tool's quality control.

    Args:
        store, dataset: where the labels are.
        view: the view measured (default: each item's latest round).
        options: :class:`consistency.analysis.AnalysisOptions` (the level of
            measurement, and the bootstrap of the recommendations).

    Returns:
        One row per item with :data:`QUEUE_COLUMNS`: rank, item_id, gain
        (float), votes (``stain: 2, ok: 1``), n_labels, consensus (majority
        vote; a tie broken by Dawid–Skene), confidence (top votes / labels),
        tie, gold_label, data_ref, reason, metadata (dict of the item's
        metadata, typed). ``attrs["selection"]`` says which items were
        chosen, in words.

    Raises:
        DatasetNotFound, InvalidArgument (an unknown class, field, value or
        labeler; a budget below 1; two selectors), NotComputable (nothing to
        queue, or alpha undefined).
    """
    from consistency.analysis import AnalysisOptions

    options = options or AnalysisOptions()
    view = view or ViewFilter()
    store.require(dataset)
    selection = Selection(tuple(classes or ()), slice, labeler, action_rank)
    _check_selection(selection)
    _check_counts(budget, min_labels, controls)
    ann = store.annotations(dataset, view)
    p = profile(ann)
    if not p.pairable_items:
        raise NotComputable(
            f"dataset '{dataset}' ({view.describe()}) has no item with two labels: "
            "nothing to rank by agreement"
        )
    prefix = None
    if not (selection.classes or selection.slice or selection.labeler):
        selection, prefix = _from_recommendation(
            store, dataset, view, options, selection.action_rank or 1
        )
    chosen = _selected_ids(store, dataset, ann, p.labels, selection)
    scored = _score(store, dataset, ann, p, chosen, controls, options.level)
    picked = scored[scored["selected"] & (scored["n_labels"] >= min_labels)]
    if not len(picked):
        raise NotComputable(
            f"nothing to queue: no item among {selection.describe()} has at least "
            f"{min_labels} labels in this view ({view.describe()})"
        )
    picked = _ranked(picked).head(budget) if budget else _ranked(picked)
    picked = picked.assign(reason=_reasons(picked, selection, prefix))
    if controls:
        gold = scored[scored["gold_label"].notna() & ~scored["item_id"].isin(picked["item_id"])]
        gold = gold.sort_values("item_id", kind="stable").head(controls)
        gold = gold.assign(reason=[f"control item (gold label {g})" for g in gold["gold_label"]])
        picked = pd.concat([picked, gold], ignore_index=True)
    picked = picked.assign(rank=np.arange(1, len(picked) + 1))
    out = _with_metadata(store, dataset, picked)[list(QUEUE_COLUMNS)].reset_index(drop=True)
    out.attrs["selection"] = prefix or selection.describe()
    return out


def _ranked(frame: pd.DataFrame) -> pd.DataFrame:
    """Highest gain first (gains within GAIN_TIE are equal), then by item id; NaN last."""
    key = (-frame["gain"]).round(int(-np.log10(GAIN_TIE)))
    return (
        frame.assign(_key=key.fillna(np.inf))
        .sort_values(["_key", "item_id"], kind="stable")
        .drop(columns="_key")
    )


def _score(
    store: Store,
    dataset: str,
    ann: ir.Table,
    p: Profile,
    chosen: ir.Table | None,
    controls: int,
    level: str,
) -> pd.DataFrame:
    """Votes, consensus, gain, gold and data reference of the selected (and control) items."""
    items = store.items(dataset)
    wanted = ann
    if chosen is not None:
        keys = chosen
        if controls:
            keys = ibis.union(chosen, items.filter(items.gold_label.notnull()).select("item_id"))
        wanted = ann.semi_join(keys, "item_id")
    ids, counts = item_counts(wanted, p.labels)
    cons = consensus_of(ann, ids, counts, p.labels)
    gains = unanimity_gains(p, counts, cons["code"].to_numpy(), level)  # type: ignore[arg-type]
    info = items.semi_join(_id_table(ids), "item_id").execute()
    info = info.astype({"item_id": str}).drop_duplicates("item_id")
    frame = cons.assign(
        gain=gains,
        votes=votes_text(counts, p.labels),
        n_labels=counts.sum(axis=1),
        present=[{p.labels[i] for i in np.flatnonzero(row)} for row in counts],
    ).merge(info[["item_id", "gold_label", "data_ref"]], on="item_id", how="left")
    if chosen is None:
        frame["selected"] = True
    else:
        selected = set(chosen.execute()["item_id"].astype(str))
        frame["selected"] = frame["item_id"].isin(selected)
    return frame


def _id_table(ids: Any) -> ir.Table:
    """Item ids as an engine table, to join on (a long IN list would be slow to compile)."""
    return ibis.memtable(pd.DataFrame({"item_id": pd.Series(list(ids), dtype="string")}))


def _with_metadata(store: Store, dataset: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with a ``metadata`` column: each item's metadata as a dict of typed values."""
    fields = store.metadata_fields(dataset)
    dtypes = dict(zip(fields["field"], fields["dtype"], strict=True))
    m = store.table("item_metadata")
    ids = frame["item_id"].astype(str).tolist()
    rows = m.filter(m.dataset == dataset).semi_join(_id_table(ids), "item_id").execute()
    meta: dict[str, dict[str, Any]] = {i: {} for i in ids}
    for r in rows.sort_values(["item_id", "field"]).itertuples():
        meta[str(r.item_id)][str(r.field)] = _typed(r.value, r.value_num, dtypes.get(r.field))
    return frame.assign(metadata=[meta[i] for i in ids])


def _typed(value: Any, number: Any, dtype: str | None) -> Any:
    """A stored metadata value as the type of its field (number, boolean, else text)."""
    if dtype == "number" and number is not None and np.isfinite(number):
        return int(number) if float(number).is_integer() else float(number)
    if dtype == "boolean" and isinstance(value, str):
        return value.strip().lower() == "true"
    return value


# ---- task files ----------------------------------------------------------------------
@dataclass(frozen=True)
class TaskShape:
    """The field names of the labeling project a task file must match.

    Attributes:
        from_name: Label Studio: the ``name`` of the Choices tag (the
            pre-annotation's ``from_name``).
        to_name: Label Studio: the object tag the choices label (``to_name``).
        data_key: the task data field holding the data reference (``image`` for
            ``$image``; Toloka: the ``INPUT:`` field).
        output_field: Toloka: the output field whose ``GOLDEN:`` column holds
            the control answers.
    """

    from_name: str | None = None
    to_name: str | None = None
    data_key: str = "data_ref"
    output_field: str = "result"


#: The attribute keys the importers record, and the TaskShape field each fills.
_RECORDED = ("from_name", "to_name", "data_key", "output_field")


def task_shape(
    store: Store,
    dataset: str,
    *,
    from_name: str | None = None,
    to_name: str | None = None,
    data_key: str | None = None,
    output_field: str | None = None,
) -> TaskShape:
    """The field names for a dataset's task files: given ones first, else the original import's.

    The Label Studio importer records ``from_name``, ``to_name`` and the data
    field (``data_key``) with each annotation, the Toloka importer the
    ``INPUT:`` data field and the output field; the latest import that
    recorded a name gives it. Without any: ``data_key`` is ``data_ref``,
    ``output_field`` is ``result``, and the Label Studio names stay unknown.
    """
    store.require(dataset)
    given = {
        "from_name": from_name,
        "to_name": to_name,
        "data_key": data_key,
        "output_field": output_field,
    }
    t = store.annotations(dataset, ViewFilter(rounds=("*",)))
    found: dict[str, str] = {}
    for key in _RECORDED:
        if given[key]:
            found[key] = str(given[key])
            continue
        hit = t.filter(t.attributes.contains(f'"{key}": '))
        rows = hit.order_by(ibis.desc("import_id")).select("attributes").limit(1).execute()
        if len(rows):
            value = json.loads(rows["attributes"].iat[0]).get(key)
            if isinstance(value, str) and value:
                found[key] = value
    return TaskShape(**found)


def _json_number(x: Any) -> float | None:
    f = float(x)
    return f if np.isfinite(f) else None


def _choices(label: str) -> list[str]:
    """The choices of a label (a multi-choice label was joined with ``|`` on import)."""
    return label.split(MULTI_CHOICE_SEPARATOR)


def _queue_fields(r: Any) -> dict[str, Any]:
    """The queue's own task data fields (prefixed; the importers skip them)."""
    return {
        f"{QUEUE_FIELD_PREFIX}rank": int(r.rank),
        f"{QUEUE_FIELD_PREFIX}gain": _json_number(r.gain),
        f"{QUEUE_FIELD_PREFIX}votes": r.votes,
        f"{QUEUE_FIELD_PREFIX}consensus": r.consensus,
        f"{QUEUE_FIELD_PREFIX}confidence": _json_number(r.confidence),
        f"{QUEUE_FIELD_PREFIX}tie": bool(r.tie),
        f"{QUEUE_FIELD_PREFIX}reason": r.reason,
    }


def to_labelstudio(batch: pd.DataFrame, shape: TaskShape) -> bytes:
    """A Label Studio tasks file (JSON) for the batch, importable as it is.

    Each task's ``data`` is the item's original task data (its metadata and
    the data reference under ``shape.data_key``), plus ``item_id`` (so the
    labels re-import onto the same item) and the queue's fields
    (``relabel_rank``, ``relabel_gain``, ``relabel_votes``,
    ``relabel_consensus``, ``relabel_confidence``, ``relabel_tie``,
    ``relabel_reason``) for the Data Manager's filters. ``predictions`` holds
    the consensus as a pre-annotation: ``model_version`` ``consensus``,
    ``score`` = its confidence, one ``choices`` result in the project's
    ``from_name``/``to_name``.

    Raises:
        InvalidArgument: ``shape`` has no from_name or to_name.
    """
    if not (shape.from_name and shape.to_name):
        raise InvalidArgument(
            "the Label Studio tasks need the from_name and to_name of the labeling config's "
            "Choices tag for the consensus pre-annotation, and no Label Studio JSON import of "
            "this dataset records them: give --from-name NAME --to-name NAME"
        )
    tasks = []
    for r in batch.itertuples():
        data: dict[str, Any] = {}
        if isinstance(r.data_ref, str) and r.data_ref:
            data[shape.data_key] = r.data_ref
        for key, value in (r.metadata or {}).items():
            data.setdefault(key, value)
        data["item_id"] = r.item_id
        data.update(_queue_fields(r))
        result = {
            "from_name": shape.from_name,
            "to_name": shape.to_name,
            "type": "choices",
            "value": {"choices": _choices(r.consensus)},
        }
        prediction = {
            "model_version": CONSENSUS_MODEL,
            "score": _json_number(r.confidence),
            "result": [result],
        }
        tasks.append({"data": data, "predictions": [prediction]})
    return (json.dumps(tasks, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _tsv_cell(value: Any, item: str, what: str) -> str:
    text = "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)
    if any(ch in text for ch in "\t\n\r"):
        raise InvalidArgument(
            f"cannot write item '{item}' to a Toloka TSV: its {what} contains a tab or a line break"
        )
    return text


def to_toloka(batch: pd.DataFrame, shape: TaskShape) -> bytes:
    """A Toloka task upload TSV: ``INPUT:item_id``, ``INPUT:<data_key>``, ``GOLDEN:<output>``.

    ``GOLDEN:`` is filled for control items (those with a gold label), so the
    new pool keeps its quality control; it is empty for the others. Tabs and
    line breaks cannot be written in a Toloka TSV: a value holding one is an
    InvalidArgument naming the item.
    """
    header = ["INPUT:item_id", f"INPUT:{shape.data_key}", f"GOLDEN:{shape.output_field}"]
    lines = ["\t".join(header)]
    for r in batch.itertuples():
        gold = r.gold_label if isinstance(r.gold_label, str) else None
        cells = [
            _tsv_cell(r.item_id, r.item_id, "id"),
            _tsv_cell(r.data_ref, r.item_id, "data reference"),
            _tsv_cell(gold, r.item_id, "gold label"),
        ]
        lines.append("\t".join(cells))
    return ("\n".join(lines) + "\n").encode("utf-8")


def to_csv(batch: pd.DataFrame, shape: TaskShape | None = None) -> bytes:
    """The batch as CSV: item_id, data_ref, votes, consensus, tie, confidence, gain, reason.

    Numbers are written at full precision (``repr``), so the gain read back is
    the float computed. ``shape`` is accepted for a uniform signature and unused.
    """
    text = batch[list(CSV_COLUMNS)].to_csv(index=False, lineterminator="\n")
    return text.encode("utf-8")


#: Output formats of the queue and the function writing each.
EXPORTERS = {"labelstudio": to_labelstudio, "toloka": to_toloka, "csv": to_csv}


def export(batch: pd.DataFrame, fmt: str, shape: TaskShape) -> bytes:
    """The batch in one of :data:`EXPORTERS`' formats (labelstudio, toloka, csv)."""
    if fmt not in EXPORTERS:
        raise InvalidArgument(f"unknown queue format '{fmt}'. Formats: {', '.join(EXPORTERS)}")
    return EXPORTERS[fmt](batch, shape)


# ---- coming back ---------------------------------------------------------------------
def check_reimport(store: Store, dataset: str, result: ImportResult, file_name: str) -> None:
    """Refuse a relabeled export, meant as a new round of ``dataset``, whose item ids match nothing.

    A new round must land on the dataset's items: a file whose ids are all
    unknown (the item id was lost on the way, say) would add a disconnected
    set of items instead. ``dataset`` is a name as given to the import (it is
    slugified as the store does). Nothing is checked when the dataset does not
    exist yet.

    Raises:
        ImportFailed: with one ``unknown_items`` problem listing the file's ids.
    """
    dataset = slugify(dataset)
    if dataset not in store.dataset_ids():
        return
    ids = sorted(set(result.annotations["item_id"].astype(str)))
    known = store.items(dataset).select("item_id").execute()["item_id"].astype(str)
    if not ids or set(ids) & set(known):
        return
    shown = _listed([f"'{x}'" for x in ids])
    raise ImportFailed(
        [
            Problem(
                file=file_name,
                code="unknown_items",
                field="item_id",
                expected=(
                    f"item ids of dataset '{dataset}' (a relabel queue's tasks carry them in "
                    "data.item_id or INPUT:item_id)"
                ),
                found=f"{len(ids)} ids, none of them in the dataset: {shown}",
            )
        ]
    )
