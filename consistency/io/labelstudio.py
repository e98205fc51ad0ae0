"""Label Studio exports: full JSON, JSON-MIN and CSV/TSV (classification with Choices).

Full JSON is a list of tasks, each with ``annotations[]`` (one per labeler
submission) and ``predictions[]``. JSON-MIN and CSV have one record per
submitted annotation, the task data flattened beside it, and the answer in a
column named after the ``from_name`` of the Choices tag.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pandas as pd

from consistency.io._build import (
    AnnotationRows,
    ItemBook,
    Problems,
    attributes_json,
    checked_duration,
    finish,
    id_text,
    is_scalar,
    join_choices,
    label_text,
    looks_like_ref,
    number,
    quoted,
    require_table,
    split_extras,
)
from consistency.io._parse import Loc, Parsed, Table, columns_text
from consistency.schema import ALIASES, ITEM_COLUMNS, ImportResult

#: Predictions with this model_version are our own consensus pre-annotations.
CONSENSUS_MODEL = "consensus"
#: Task data fields with this prefix are written by the relabel queue (votes, gain, ...);
#: they describe the queue, not the item, and are not read back as metadata or labels.
QUEUE_FIELD_PREFIX = "relabel_"
#: Label Studio's own columns in JSON-MIN and CSV: read as ids and times, or dropped.
_FLAT_OWN = {
    "id", "annotator", "annotation_id", "created_at", "updated_at", "draft_created_at",
    "lead_time", "history",
}  # fmt: skip
#: Columns that cannot hold the label: Label Studio's own, the item id, the round and
#: the task agreement (kept as item metadata).
_NOT_LABEL = _FLAT_OWN | {"item_id", "round", "agreement"}
_CHOOSE = "choose one with --field"


# --- detection ------------------------------------------------------------------------


def sniff_json(parsed: Parsed) -> str | None:
    """None when the file is a JSON list of tasks (objects with ``annotations`` or ``data``)."""
    records = parsed.records
    if records is None:
        return f"{parsed.kind_text()}, not JSON"
    for _, task in records:
        if isinstance(task, dict) and (
            isinstance(task.get("annotations"), list) or isinstance(task.get("data"), dict)
        ):
            return None
    return "no task with 'annotations' or 'data'"


def sniff_json_min(parsed: Parsed) -> str | None:
    """None when the file is JSON records with ``annotator`` and ``annotation_id``."""
    records = parsed.records
    if records is None:
        return f"{parsed.kind_text()}, not JSON"
    if any(isinstance(r, dict) and "annotator" in r and "annotation_id" in r for _, r in records):
        return None
    return "no record with both 'annotator' and 'annotation_id'"


def sniff_csv(parsed: Parsed) -> str | None:
    """None when the file is a CSV/TSV table with ``annotator`` and ``annotation_id`` columns."""
    if parsed.table is None or parsed.kind == "parquet":
        return f"{parsed.kind_text()}, not a CSV or TSV table"
    if {"annotator", "annotation_id"} <= set(parsed.table.columns):
        return None
    return f"no 'annotator' and 'annotation_id' columns among columns {columns_text(parsed.table.columns)}"


# --- full JSON ------------------------------------------------------------------------


def _is_choices(result: Any) -> bool:
    return (
        isinstance(result, dict)
        and isinstance(result.get("value"), dict)
        and "choices" in result["value"]
    )


def _results(container: dict[str, Any]) -> list[Any]:
    result = container.get("result")
    return result if isinstance(result, list) else []


def _survey(records: list[tuple[Loc, Any]]) -> tuple[Counter[str], Counter[str]]:
    """The from_names of 'choices' results, and the types of the other results."""
    from_names: Counter[str] = Counter()
    others: Counter[str] = Counter()
    for _, task in records:
        if not isinstance(task, dict):
            continue
        for key in ("annotations", "predictions"):
            entries = task.get(key)
            for entry in entries if isinstance(entries, list) else []:
                for r in _results(entry) if isinstance(entry, dict) else []:
                    if _is_choices(r):
                        from_names[str(r.get("from_name"))] += 1
                    elif isinstance(r, dict):
                        others[str(r.get("type"))] += 1
    return from_names, others


def _choose_from_name(
    from_names: Counter[str], others: Counter[str], field: str | None, problems: Problems
) -> str:
    names = sorted(from_names)
    if field is not None and field not in from_names:
        found = f"'choices' from_names: {', '.join(names)}" if names else _no_choices(others)
        problems.error("unknown_field", f"a 'choices' from_name named '{field}'", found)
    elif field is None and len(names) > 1:
        problems.error(
            "ambiguous_field",
            f"one classification dimension ({_CHOOSE})",
            f"several 'choices' from_names: {', '.join(names)}",
        )
    elif not names:
        problems.error(
            "no_choices",
            "'choices' results (single- or multi-choice classification)",
            _no_choices(others),
        )
    problems.raise_if_errors()
    return field if field is not None else names[0]


def _no_choices(others: Counter[str]) -> str:
    if not others:
        return "no results at all"
    return "only results of type " + ", ".join(sorted(others))


def _labeler(completed_by: Any) -> str | None:
    """The email when ``completed_by`` is an object with one, else the user id, as text."""
    if isinstance(completed_by, dict):
        email = id_text(completed_by.get("email")) if is_scalar(completed_by.get("email")) else None
        return email or (
            id_text(completed_by.get("id")) if is_scalar(completed_by.get("id")) else None
        )
    return id_text(completed_by) if is_scalar(completed_by) else None


def _choice_label(
    entry: dict[str, Any], from_name: str, loc: Loc, problems: Problems
) -> str | None:
    """The answer of one annotation or prediction for ``from_name``: choices sorted, joined."""
    result = entry.get("result")
    if result is not None and not isinstance(result, list):
        problems.error("invalid_value", "a list of results", quoted(result), loc, "result")
        return None
    choices: list[Any] = []
    for r in result or []:
        if _is_choices(r) and str(r.get("from_name")) == from_name:
            value = r["value"]["choices"]
            choices.extend(value if isinstance(value, list) else [value])
    return join_choices(choices)


def read_json(parsed: Parsed, field: str | None = None) -> ImportResult:
    """Read a Label Studio JSON export (a list of tasks, or one task).

    See ``docs/formats.md`` for what is kept, dropped and counted.
    """
    problems = Problems(parsed.name)
    tasks = parsed.records
    if tasks is None:
        problems.error("not_json", "labelstudio-json: a JSON array of tasks", parsed.describe())
        problems.fail()
    from_name = _choose_from_name(*_survey(tasks), field, problems)
    reader = _TaskReader(problems, from_name, _to_name(tasks, from_name))
    for loc, task in tasks:
        reader.task(loc, task)
    notes = [f"classification read from the Choices tag '{from_name}'"]
    return finish(
        "labelstudio-json",
        reader.rows,
        reader.book,
        problems,
        reader.stats,
        predictions=pd.DataFrame(reader.predictions),
        notes=notes,
    )


class _TaskReader:
    """Walks the tasks of a full JSON export."""

    def __init__(self, problems: Problems, from_name: str, to_name: str | None) -> None:
        self.problems = problems
        self.from_name = from_name
        self.to_name = to_name
        self.rows = AnnotationRows(time_fields={"submitted_at": "created_at"})
        self.book = ItemBook(problems)
        self.stats: dict[str, int] = {
            "rows_read": 0, "cancelled": 0, "ground_truth": 0, "no_label": 0,
            "predictions": 0, "prediction_ids": 0, "consensus_predictions": 0,
        }  # fmt: skip
        self.predictions: list[dict[str, Any]] = []
        self._predicted: dict[tuple[str, str], Loc] = {}

    def task(self, loc: Loc, task: Any) -> None:
        if not isinstance(task, dict):
            self.problems.error("invalid_value", "a task (a JSON object)", quoted(task), loc)
            return
        data = task.get("data", {})
        if not isinstance(data, dict):
            self.problems.error(
                "invalid_value", "an object of task data", quoted(data), loc, "data"
            )
            data = {}
        item = _scalar_id(data.get("item_id")) or _scalar_id(task.get("id"))
        if item is None:
            self.problems.error(
                "missing_value", "a task id ('id', or 'item_id' in 'data')", "neither", loc, "id"
            )
            return
        self.book.see(item)
        data_key = _task_data(self.book, item, data)
        round_ = _scalar_id(data.get("round"))
        for j, ann in enumerate(self._list(task, "annotations", loc)):
            self.annotation(loc.child(f".annotations[{j}]"), ann, item, round_, data_key)
        for k, pred in enumerate(self._list(task, "predictions", loc)):
            self.prediction(loc.child(f".predictions[{k}]"), pred, item)

    def _list(self, task: dict[str, Any], key: str, loc: Loc) -> list[Any]:
        value = task.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.problems.error("invalid_value", f"a list of {key}", quoted(value), loc, key)
            return []
        return value

    def annotation(
        self, loc: Loc, ann: Any, item: str, round_: str | None, data_key: str | None
    ) -> None:
        self.stats["rows_read"] += 1
        if not isinstance(ann, dict):
            self.problems.error("invalid_value", "an annotation (a JSON object)", quoted(ann), loc)
            return
        if ann.get("was_cancelled") is True or ann.get("skipped") is True:
            self.stats["cancelled"] += 1
            return
        label = _choice_label(ann, self.from_name, loc, self.problems)
        if label is None:
            self.stats["no_label"] += 1
            self.problems.warn(
                "no_label",
                f"a choice in '{self.from_name}'",
                "none; the annotation is left out",
                loc,
                "result",
            )
            return
        if ann.get("ground_truth") is True:
            self.stats["ground_truth"] += 1
            self.book.set_gold(item, label, loc, "ground_truth")
            return
        labeler = _labeler(ann.get("completed_by"))
        if labeler is None:
            self.problems.error(
                "missing_value",
                "the labeler: a user id, or an object with 'email' or 'id'",
                quoted(ann.get("completed_by")) if "completed_by" in ann else "no such key",
                loc,
                "completed_by",
            )
            return
        seconds = number(ann.get("lead_time"), self.problems, loc, "lead_time")
        self.rows.add(
            item,
            labeler,
            label,
            loc,
            round=round_,
            submitted_at=ann.get("created_at") if is_scalar(ann.get("created_at")) else None,
            duration_s=checked_duration(seconds, self.problems, loc, "lead_time", self.stats),
            attributes=attributes_json(
                {
                    "annotation_id": _scalar_id(ann.get("id")),
                    "from_name": self.from_name,
                    "to_name": self.to_name,
                    "data_key": data_key,
                }
            ),
        )

    def prediction(self, loc: Loc, pred: Any, item: str) -> None:
        if isinstance(pred, int | str) and not isinstance(pred, bool):
            self.stats["prediction_ids"] += 1
            return
        if not isinstance(pred, dict):
            self.problems.error(
                "invalid_value", "a prediction (a JSON object or an id)", quoted(pred), loc
            )
            return
        label = _choice_label(pred, self.from_name, loc, self.problems)
        if label is None:
            return
        model = _scalar_id(pred.get("model_version")) or "model"
        if model == CONSENSUS_MODEL:
            self.stats["consensus_predictions"] += 1
            return
        score = pred.get("score")
        if score is None:
            score = next(
                (
                    r.get("score")
                    for r in _results(pred)
                    if _is_choices(r) and r.get("score") is not None
                ),
                None,
            )
        confidence = number(score, self.problems, loc, "score", what="a number")
        first = self._predicted.get((item, model))
        if first is not None:
            self.problems.warn(
                "repeat_prediction",
                "one prediction per model and item",
                f"model '{model}' predicted item '{item}' again (first at {first.describe()}); the first is kept",
                loc,
            )
            return
        self._predicted[item, model] = loc
        self.stats["predictions"] += 1
        self.predictions.append(
            {"item_id": item, "model": model, "predicted_label": label, "confidence": confidence}
        )


def _scalar_id(value: Any) -> str | None:
    return id_text(value) if is_scalar(value) else None


def _is_ref_key(key: str) -> bool:
    return key.lower() in ALIASES["data_ref"]


def _to_name(records: list[tuple[Loc, Any]], from_name: str) -> str | None:
    """The ``to_name`` of the first 'choices' result of ``from_name`` (the object tag it labels)."""
    for _, task in records:
        for key in ("annotations", "predictions"):
            entries = task.get(key) if isinstance(task, dict) else None
            for entry in entries if isinstance(entries, list) else []:
                for r in _results(entry) if isinstance(entry, dict) else []:
                    if _is_choices(r) and str(r.get("from_name")) == from_name:
                        to_name = r.get("to_name")
                        if isinstance(to_name, str) and to_name:
                            return to_name
    return None


def _task_data(book: ItemBook, item: str, data: dict[str, Any]) -> str | None:
    """Scalar task data as metadata; the first URL- or path-like field as the data reference.

    Returns the key of the data reference field (None when there is none).
    Fields written by the relabel queue (prefix ``relabel_``) are skipped.
    """
    ref_key = next(
        (
            k
            for k, v in data.items()
            if isinstance(v, str) and v.strip() and (looks_like_ref(v) or _is_ref_key(k))
        ),
        None,
    )
    if ref_key is not None:
        book.set_ref(item, data[ref_key].strip())
    for key, value in data.items():
        if (
            key in ("item_id", "round", ref_key)
            or key in ITEM_COLUMNS
            or str(key).startswith(QUEUE_FIELD_PREFIX)
            or not is_scalar(value)
        ):
            continue
        book.set_meta(item, key, value)
    return ref_key


# --- JSON-MIN and CSV -----------------------------------------------------------------


def read_json_min(parsed: Parsed, field: str | None = None) -> ImportResult:
    """Read a Label Studio JSON-MIN export: one record per submitted annotation."""
    return _read_flat(parsed, field, "labelstudio-json-min")


def read_csv(parsed: Parsed, field: str | None = None) -> ImportResult:
    """Read a Label Studio CSV or TSV export: one row per submitted annotation."""
    return _read_flat(parsed, field, "labelstudio-csv")


def _structured(value: Any) -> Any:
    """A list or object, parsed from JSON text when a CSV cell holds one; else the value."""
    if isinstance(value, str) and value.lstrip()[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except (json.JSONDecodeError, RecursionError):
            return value
    return value


def _is_choice_value(value: Any) -> bool:
    v = _structured(value)
    return isinstance(v, dict) and isinstance(v.get("choices"), list)


def _label_column(
    table: Table, items: list[str | None], field: str | None, problems: Problems
) -> tuple[str | None, str]:
    """The column holding the answer, and why it was chosen."""
    candidates = [
        c for c in table.columns if c not in _NOT_LABEL and not c.startswith(QUEUE_FIELD_PREFIX)
    ]
    if field is not None:
        if field in table.columns:
            return field, f"the label is read from the column '{field}'"
        problems.error(
            "unknown_field",
            f"a label column named '{field}'",
            f"columns {columns_text(candidates)}",
        )
        return None, ""
    choice = [c for c in candidates if any(_is_choice_value(v) for v in table.cells[c])]
    plain = [
        c
        for c in candidates
        if c not in choice
        and all(is_scalar(_structured(v)) for v in table.cells[c])
        and not all(looks_like_ref(v) for v in table.cells[c] if v is not None)
    ]
    varying = [c for c in plain if not _constant_per_item(items, table.cells[c])]
    chosen, why, ambiguous = None, "", []
    if len(choice) == 1:
        chosen, why = choice[0], "the only column holding Choices answers"
    elif len(choice) > 1:
        ambiguous = choice
    elif len(plain) == 1:
        chosen, why = plain[0], "the only column besides Label Studio's own and the data reference"
    elif len(varying) == 1:
        chosen, why = varying[0], "the only column that differs between annotations of one task"
    else:
        ambiguous = varying or plain
    if chosen is not None:
        return chosen, f"the label is read from the column '{chosen}' ({why}; {_CHOOSE})"
    if ambiguous:
        problems.error(
            "ambiguous_field",
            f"one label column ({_CHOOSE})",
            f"several candidate columns: {', '.join(ambiguous)}",
        )
    else:
        problems.error(
            "missing_column",
            "a label column, named after the from_name of a Choices tag",
            f"columns {columns_text(table.columns)}",
        )
    return None, ""


def _constant_per_item(items: list[str | None], values: list[Any]) -> bool:
    return not split_extras(items, {"c": values})[1]


def _flat_label(value: Any) -> str | None:
    """The answer of a JSON-MIN/CSV record; raises ValueError for a region or other result."""
    v = _structured(value)
    if isinstance(v, dict) and isinstance(v.get("choices"), list):
        return join_choices(v["choices"])
    if isinstance(v, list | dict):
        raise ValueError(value)
    return label_text(value)


def _read_flat(parsed: Parsed, field: str | None, fmt: str) -> ImportResult:
    problems = Problems(parsed.name)
    table = require_table(parsed, fmt, problems)
    for column in ("annotator", "id"):
        if column not in table.columns:
            problems.error(
                "missing_column",
                "the Label Studio columns id, annotator and annotation_id",
                f"columns {columns_text(table.columns)}",
                field=column,
            )
    problems.raise_if_errors()
    item_values = table.cells.get("item_id") or [None] * len(table)
    items = [
        _scalar_id(a) or _scalar_id(b) for a, b in zip(item_values, table.cells["id"], strict=True)
    ]
    label_col, note = _label_column(table, items, field, problems)
    problems.raise_if_errors()
    label_col = str(label_col)
    ref_col, meta, attrs = _flat_extras(table, items, label_col)

    rows = AnnotationRows(time_fields={"submitted_at": "created_at"})
    book = ItemBook(problems)
    stats = {"rows_read": len(table), "no_label": 0}
    cell = table.cells
    empty = [None] * len(table)
    for i, loc in enumerate(table.locs):
        item = items[i]
        if item is None:
            problems.error(
                "missing_value", "a task id ('id' or 'item_id')", "an empty value", loc, "id"
            )
            continue
        book.see(item)
        if ref_col:
            book.set_ref(item, id_text(cell[ref_col][i]))
        for c in meta:
            book.set_meta(item, c, cell[c][i])
        labeler = _scalar_id(cell["annotator"][i])
        if labeler is None:
            problems.error("missing_value", "a labeler id", "an empty value", loc, "annotator")
        try:
            label = _flat_label(cell[label_col][i])
        except ValueError:
            found = f"a region or other result: {quoted(cell[label_col][i])}"
            problems.error(
                "not_classification", "a single- or multi-choice answer", found, loc, label_col
            )
            continue
        if label is None:
            stats["no_label"] += 1
            problems.warn(
                "no_label",
                f"a choice in '{label_col}'",
                "none; the annotation is left out",
                loc,
                label_col,
            )
            continue
        if labeler is None:
            continue
        seconds = number((cell.get("lead_time") or empty)[i], problems, loc, "lead_time")
        rows.add(
            item,
            labeler,
            label,
            loc,
            round=_scalar_id((cell.get("round") or empty)[i]),
            submitted_at=(cell.get("created_at") or empty)[i],
            duration_s=checked_duration(seconds, problems, loc, "lead_time", stats),
            attributes=attributes_json(
                {"annotation_id": _scalar_id((cell.get("annotation_id") or empty)[i])}
                | {c: cell[c][i] for c in attrs}
            ),
        )
    return finish(fmt, rows, book, problems, stats, notes=[note])


def _flat_extras(
    table: Table, items: list[str | None], label_col: str
) -> tuple[str | None, list[str], list[str]]:
    """The data reference column, the metadata columns and the per-annotation columns."""
    data_cols = [
        c
        for c in table.columns
        if c not in _FLAT_OWN
        and c not in ("item_id", "round", label_col)
        and c not in ITEM_COLUMNS
        and not c.startswith(QUEUE_FIELD_PREFIX)
    ]
    scalar = [c for c in data_cols if all(is_scalar(_structured(v)) for v in table.cells[c])]
    ref_col = next(
        (
            c
            for c in scalar
            if c.lower() in ALIASES["data_ref"] or any(looks_like_ref(v) for v in table.cells[c])
        ),
        None,
    )
    rest = {c: table.cells[c] for c in scalar if c != ref_col}
    meta, attrs = split_extras(items, rest)
    return ref_col, meta, attrs
