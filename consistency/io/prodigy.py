"""Prodigy JSON Lines (``prodigy db-out``): one record per (annotator session, example).

Choice tasks carry ``options`` and the ids chosen in ``accept``; binary tasks
carry one ``label`` and the answer ``accept`` or ``reject``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from consistency.io._build import (
    AnnotationRows,
    ItemBook,
    Problems,
    attributes_json,
    finish,
    id_text,
    is_scalar,
    join_choices,
    label_text,
    looks_like_ref,
    no_field,
    number,
    quoted,
    split_extras,
)
from consistency.io._parse import Loc, Parsed
from consistency.schema import ALIASES, ITEM_COLUMNS, ImportResult

ANSWERS = ("accept", "reject", "ignore")
#: Prefix of the label stored for a rejected binary question: ``not CRACK``.
REJECTED_PREFIX = "not "
_HASHES = ("_input_hash", "_task_hash")
_RESERVED = {
    "answer",
    "accept",
    "options",
    "label",
    "config",
    "spans",
    "tokens",
    "meta",
    "item_id",
    "relations",
}


def sniff(parsed: Parsed) -> str | None:
    """None when some record has ``answer`` (accept/reject/ignore) and a Prodigy hash."""
    if parsed.records is None:
        return f"{parsed.kind_text()}, not JSON Lines"
    for _, r in parsed.records:
        if isinstance(r, dict) and r.get("answer") in ANSWERS and any(h in r for h in _HASHES):
            return None
    return "no record with 'answer' (accept, reject or ignore) and '_input_hash' or '_task_hash'"


def _labeler(record: dict[str, Any]) -> str | None:
    """``_annotator_id``, else ``_session_id``, as text."""
    for key in ("_annotator_id", "_session_id"):
        value = record.get(key)
        if is_scalar(value) and (text := id_text(value)):
            return text
    return None


def _base_id(record: dict[str, Any]) -> str | None:
    """``item_id``, else ``meta.item_id``, else ``_input_hash``, as text."""
    meta = record.get("meta")
    for value in (
        record.get("item_id"),
        meta.get("item_id") if isinstance(meta, dict) else None,
        record.get("_input_hash"),
    ):
        if is_scalar(value) and (text := id_text(value)):
            return text
    return None


def _extras(record: dict[str, Any]) -> dict[str, Any]:
    """Top-level scalar fields (not ``_...``) and scalar ``meta`` fields."""
    out = {
        k: v
        for k, v in record.items()
        if not k.startswith("_") and k not in _RESERVED and is_scalar(v)
    }
    meta = record.get("meta")
    if isinstance(meta, dict):
        for k, v in meta.items():
            if k != "item_id" and is_scalar(v):
                out.setdefault(k, v)
    return {k: v for k, v in out.items() if k not in ITEM_COLUMNS}


@dataclass(frozen=True)
class _Record:
    """A record with a usable item id; ``label`` is None when it is left out."""

    loc: Loc
    record: dict[str, Any]
    item: str
    labeler: str | None
    label: str | None
    question: str | None  # the label asked, for a binary task


def read(parsed: Parsed, field: str | None = None) -> ImportResult:
    """Read Prodigy JSON Lines. See ``docs/formats.md`` for the choices made."""
    no_field("prodigy", field)
    problems = Problems(parsed.name)
    if parsed.records is None:
        problems.error("not_json", "prodigy: JSON Lines", parsed.describe())
        problems.fail()
    stats = {"rows_read": 0, "ignored": 0, "rejected": 0, "no_label": 0}
    records: list[_Record] = []
    for loc, record in parsed.records:
        stats["rows_read"] += 1
        if not isinstance(record, dict):
            problems.error("invalid_value", "a JSON object", quoted(record), loc)
            continue
        answer = record.get("answer")
        if answer not in ANSWERS:
            problems.error(
                "invalid_value", "'accept', 'reject' or 'ignore'", quoted(answer), loc, "answer"
            )
            continue
        item = _base_id(record)
        if item is None:
            found = "none of them"
            problems.error(
                "missing_value",
                "an item id: 'item_id', 'meta.item_id' or '_input_hash'",
                found,
                loc,
            )
        if answer == "ignore":
            stats["ignored"] += 1
            label, question = None, _question(record)
        else:
            label, question = _label(record, answer, loc, problems, stats)
        labeler = _labeler(record)
        if labeler is None and label is not None:
            problems.error(
                "missing_value", "the annotator: '_annotator_id' or '_session_id'", "neither", loc
            )
        if item is not None:
            records.append(_Record(loc, record, item, labeler, label, question))
    return _build(records, problems, stats)


def _question(record: dict[str, Any]) -> str | None:
    """The label asked in a binary task, or None for a choice task."""
    if "options" in record or isinstance(record.get("accept"), list):
        return None
    return label_text(record.get("label")) if is_scalar(record.get("label")) else None


def _label(
    record: dict[str, Any], answer: str, loc: Loc, problems: Problems, stats: dict[str, int]
) -> tuple[str | None, str | None]:
    """The label of a record, and the question's label for a binary task (else None)."""
    if "options" in record or isinstance(record.get("accept"), list):
        if answer == "reject":
            stats["rejected"] += 1
            return None, None
        accepted = record.get("accept")
        if not isinstance(accepted, list):
            problems.error(
                "invalid_value", "a list of accepted option ids", quoted(accepted), loc, "accept"
            )
            return None, None
        label = join_choices(accepted)
        if label is None:
            stats["no_label"] += 1
            problems.warn(
                "no_label",
                "at least one accepted option",
                "none; the record is left out",
                loc,
                "accept",
            )
        return label, None
    question = _question(record)
    if question is None:
        found = "neither 'options'/'accept' nor 'label'" + (
            " but 'spans'" if "spans" in record else ""
        )
        problems.error(
            "not_classification",
            "a choice task ('options' and 'accept') or a binary task ('label')",
            found,
            loc,
        )
        return None, None
    return (question if answer == "accept" else REJECTED_PREFIX + question), question


def _build(records: list[_Record], problems: Problems, stats: dict[str, int]) -> ImportResult:
    per_question = len({r.question for r in records if r.question is not None}) > 1
    items = [
        f"{r.item}:{r.question}" if r.question is not None and per_question else r.item
        for r in records
    ]
    extras_rows = [_extras(r.record) for r in records]
    names = list(dict.fromkeys(k for row in extras_rows for k in row))
    ref = next(
        (
            k
            for k in names
            if k.lower() in ALIASES["data_ref"]
            or any(looks_like_ref(r.get(k)) for r in extras_rows)
        ),
        None,
    )
    meta, attrs = split_extras(
        list(items), {k: [r.get(k) for r in extras_rows] for k in names if k != ref}
    )
    rows = AnnotationRows(time_fields={"submitted_at": "_timestamp"})
    book = ItemBook(problems)
    for r, item, extras in zip(records, items, extras_rows, strict=True):
        book.see(item)
        if ref:
            book.set_ref(item, id_text(extras.get(ref)))
        for k in meta:
            book.set_meta(item, k, extras.get(k))
        if r.label is None or r.labeler is None:
            continue
        submitted = _epoch(r.record.get("_timestamp"), problems, r.loc)
        attributes = attributes_json({k: extras.get(k) for k in attrs})
        rows.add(item, r.labeler, r.label, r.loc, submitted_at=submitted, attributes=attributes)
    notes = (
        ["binary questions are items '<input>:<label>', as several labels were asked"]
        if per_question
        else []
    )
    return finish("prodigy", rows, book, problems, stats, notes=notes)


def _epoch(value: Any, problems: Problems, loc: Loc) -> pd.Timestamp | None:
    seconds = number(value, problems, loc, "_timestamp", what="epoch seconds")
    if seconds is None:
        return None
    try:
        return pd.Timestamp(seconds, unit="s", tz="UTC")
    except (ValueError, OverflowError):
        problems.error("invalid_timestamp", "epoch seconds", quoted(value), loc, "_timestamp")
        return None
