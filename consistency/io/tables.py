"""Plain tables: the long table, the wide table and crowd-kit's ``task, worker, label``.

All three come as CSV, TSV, Parquet, JSON Lines or a JSON array of records.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from consistency.io._build import (
    AnnotationRows,
    ItemBook,
    Problems,
    as_text,
    attributes_json,
    checked_duration,
    find_column,
    finish,
    id_text,
    is_scalar,
    label_text,
    missing_column,
    no_field,
    number,
    optional_label,
    require_table,
    required_text,
    split_extras,
    texts,
)
from consistency.io._parse import Loc, Parsed, Table, columns_text
from consistency.schema import ImportResult

REQUIRED = ("item_id", "labeler_id", "label")
OPTIONAL = ("gold_label", "round", "duration_s", "started_at", "submitted_at", "data_ref")
CROWDKIT_COLUMNS = {"task", "worker", "label"}
CROWDKIT_OPTIONAL = {"true_label"}
#: A wide table may also name its item column ``id``.
WIDE_ITEM_EXTRA = ("id",)
_ROLE_NAMES = {"item_id": "item", "labeler_id": "labeler", "label": "label"}


def _table_or_reason(parsed: Parsed) -> Table | str:
    table = parsed.as_table()
    return (
        table if table is not None else f"{parsed.kind_text()} whose elements are not all objects"
    )


def sniff_long(parsed: Parsed) -> str | None:
    """None when the file has at least two of the item, labeler and label columns."""
    table = _table_or_reason(parsed)
    if isinstance(table, str):
        return table
    missing = [_ROLE_NAMES[r] for r in REQUIRED if find_column(table.columns, r) is None]
    if len(missing) <= 1:
        return None
    names = ", ".join(missing[:-1]) + " or " + missing[-1]
    return f"no {names} column among columns {columns_text(table.columns)}"


def sniff_crowdkit(parsed: Parsed) -> str | None:
    """None when the columns are exactly task, worker, label (and optionally true_label)."""
    table = _table_or_reason(parsed)
    if isinstance(table, str):
        return table
    lowered = {c.lower() for c in table.columns}
    if CROWDKIT_COLUMNS <= lowered <= CROWDKIT_COLUMNS | CROWDKIT_OPTIONAL:
        return None
    return f"columns {columns_text(table.columns)}"


def sniff_wide(parsed: Parsed) -> str | None:
    """None when there is an item id column, no labeler column, and other columns."""
    table = _table_or_reason(parsed)
    if isinstance(table, str):
        return table
    if find_column(table.columns, "item_id", WIDE_ITEM_EXTRA) is None:
        return f"no item id column among columns {columns_text(table.columns)}"
    if labeler := find_column(table.columns, "labeler_id"):
        return f"a labeler column ('{labeler}'), as in a long table"
    if not _wide_roles(table.columns)[1]:
        return f"no labeler columns besides the item id: columns {columns_text(table.columns)}"
    return None


def read_long(parsed: Parsed, field: str | None = None, *, fmt: str = "long") -> ImportResult:
    """Read a long table: one row per label given.

    Columns ``item_id, labeler_id, label`` (aliases accepted, any case) and
    optionally ``gold_label, round, duration_s, started_at, submitted_at`` and a
    data reference column. Other columns are item metadata when they have one
    value per item, else per-annotation attributes (JSON text).
    """
    no_field(fmt, field)
    problems = Problems(parsed.name)
    table = require_table(parsed, fmt, problems)
    cols = {role: find_column(table.columns, role) for role in REQUIRED + OPTIONAL}
    for role in REQUIRED:
        if cols[role] is None:
            missing_column(problems, role, table.columns)
    problems.raise_if_errors()
    used = {c for c in cols.values() if c}
    control = next((c for c in table.columns if c.lower() == "is_control"), None)
    extras = {c: table.cells[c] for c in table.columns if c not in used and c != control}
    cell = {role: table.cells[c] for role, c in cols.items() if c}
    locs = table.locs
    items = texts(cell["item_id"], problems, locs, cols["item_id"], "an item id")
    labelers = texts(cell["labeler_id"], problems, locs, cols["labeler_id"], "a labeler id")
    labels = texts(cell["label"], problems, locs, cols["label"], "a label", label=True)
    book = ItemBook(problems)
    _item_facts(book, table, items, cols, extras, control)
    stats: dict[str, int] = {"rows_read": len(table)}
    per_row: dict[str, list[Any]] = {"item_id": items, "labeler_id": labelers, "label": labels}
    if "duration_s" in cell:
        per_row["duration_s"] = _durations(
            cell["duration_s"], locs, cols["duration_s"], problems, stats
        )
    if "round" in cell:
        per_row["round"] = [id_text(v) if is_scalar(v) else as_text(v) for v in cell["round"]]
    for k in ("started_at", "submitted_at"):
        if k in cell:
            per_row[k] = cell[k]
    attrs = split_extras(items, extras)[1]
    if attrs:
        per_row["attributes"] = [
            attributes_json({c: extras[c][i] for c in attrs}) for i in range(len(table))
        ]
    keep = [i for i, row in enumerate(zip(items, labelers, labels, strict=True)) if None not in row]
    if len(keep) < len(table):
        per_row = {k: [v[i] for i in keep] for k, v in per_row.items()}
        locs = [locs[i] for i in keep]  # errors were found: the import fails
    rows = AnnotationRows(time_fields={k: cols[k] or k for k in ("started_at", "submitted_at")})
    rows.extend(per_row, locs)
    return finish(fmt, rows, book, problems, stats)


def _durations(
    values: list[Any],
    locs: Sequence[Loc],
    column: str | None,
    problems: Problems,
    stats: dict[str, int],
) -> list[float | None]:
    out: list[float | None] = []
    for i, v in enumerate(values):
        if v is None:
            out.append(None)
            continue
        seconds = number(v, problems, locs[i], column or "duration_s")
        out.append(checked_duration(seconds, problems, locs[i], column or "duration_s", stats))
    return out


def _item_facts(
    book: ItemBook,
    table: Table,
    items: list[str | None],
    cols: dict[str, str | None],
    extras: dict[str, list[Any]],
    control: str | None,
) -> None:
    """Items in order of appearance, with gold, data reference, control flag and metadata."""
    rows = [(i, item) for i, item in enumerate(items) if item is not None]
    first_row: dict[str, int] = {}
    for i, item in rows:
        first_row.setdefault(item, i)
    for item in first_row:
        book.see(item)
    if gold_col := cols["gold_label"]:
        golds = table.cells[gold_col]
        for i, item in rows:
            if golds[i] is None:
                continue
            loc = table.locs[i]
            gold = optional_label(golds[i], book.problems, loc, gold_col, "a gold label")
            if gold is not None:
                book.set_gold(item, gold, loc, gold_col)
    if ref_col := cols["data_ref"]:
        refs = table.cells[ref_col]
        for i, item in rows:
            book.set_ref(item, id_text(refs[i]) if is_scalar(refs[i]) else None)
    if control:
        flags = table.cells[control]
        for i, item in rows:
            if str(flags[i]).strip().lower() in ("true", "1", "yes"):
                book.control.add(item)
    for c in split_extras(items, extras)[0]:
        values = extras[c]
        for item, i in first_row.items():
            book.set_meta(item, c, values[i])


def read_crowdkit(parsed: Parsed, field: str | None = None) -> ImportResult:
    """Read crowd-kit's long format: ``task, worker, label`` and optionally ``true_label`` (gold)."""
    return read_long(parsed, field, fmt="crowdkit")


def _wide_roles(columns: list[str]) -> tuple[dict[str, str | None], list[str]]:
    roles = {r: find_column(columns, r) for r in ("gold_label", "data_ref")}
    roles["item_id"] = find_column(columns, "item_id", WIDE_ITEM_EXTRA)
    labelers = [c for c in columns if c not in roles.values()]
    return roles, labelers


def read_wide(parsed: Parsed, field: str | None = None) -> ImportResult:
    """Read a wide table: one row per item, one column per labeler.

    An id column (an alias of ``item_id``), optionally a gold column and a data
    reference column; every other column is a labeler, named by its header.
    An empty cell means the labeler did not label the item.
    """
    no_field("wide", field)
    problems = Problems(parsed.name)
    table = require_table(parsed, "wide", problems)
    roles, labelers = _wide_roles(table.columns)
    if roles["item_id"] is None:
        missing_column(problems, "item_id", table.columns, WIDE_ITEM_EXTRA)
    elif not labelers:
        problems.error(
            "missing_column", "one column per labeler", f"columns {columns_text(table.columns)}"
        )
    item_col = roles["item_id"]
    if item_col is None or not labelers:
        problems.fail()
    rows = AnnotationRows()
    book = ItemBook(problems)
    stats = {"rows_read": 0, "empty_cells": 0}
    for i, loc in enumerate(table.locs):
        item = required_text(table.cells[item_col][i], problems, loc, item_col, "an item id")
        if item is None:
            continue
        book.see(item)
        if roles["gold_label"]:
            gold = optional_label(
                table.cells[roles["gold_label"]][i],
                problems,
                loc,
                roles["gold_label"],
                "a gold label",
            )
            if gold is not None:
                book.set_gold(item, gold, loc, roles["gold_label"])
        if roles["data_ref"]:
            book.set_ref(item, id_text(table.cells[roles["data_ref"]][i]))
        for labeler in labelers:
            value = table.cells[labeler][i]
            if label_text(value) is None:
                stats["empty_cells"] += 1
                continue
            stats["rows_read"] += 1
            label = required_text(value, problems, loc, labeler, "a label", label=True)
            if label is None:
                continue
            rows.add(item, labeler.strip(), label, loc)
    return finish("wide", rows, book, problems, stats)
