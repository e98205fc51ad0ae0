"""Toloka results TSV: ``INPUT:``, ``OUTPUT:``, ``GOLDEN:``, ``ASSIGNMENT:`` columns.

One row per (task, assignment). An assignment is a page of one or more tasks
done by one Toloker; its ``started``/``submitted`` times are the page's, so
the time of one task is the page's time divided by its number of tasks.
"""

from __future__ import annotations

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
    looks_like_ref,
    optional_label,
    parse_times,
    required_text,
    split_extras,
)
from consistency.io._parse import Loc, Parsed, Table, columns_text
from consistency.schema import ALIASES, ITEM_COLUMNS, ImportResult

PREFIXES = ("INPUT:", "OUTPUT:", "GOLDEN:", "ASSIGNMENT:")
#: Assignment statuses whose rows are left out (and counted by status, lower case).
LEFT_OUT = ("REJECTED", "SKIPPED", "EXPIRED", "ACTIVE")
WORKER = "ASSIGNMENT:worker_id"
STARTED, SUBMITTED = "ASSIGNMENT:started", "ASSIGNMENT:submitted"
_GROUP_COLUMNS = ("ASSIGNMENT:assignment_id", "ASSIGNMENT:task_suite_id")


def sniff(parsed: Parsed) -> str | None:
    """None when a table has columns prefixed INPUT:, OUTPUT:, GOLDEN: or ASSIGNMENT:."""
    table = parsed.table
    if table is None:
        return f"{parsed.kind_text()}, not a table"
    if any(c.startswith(PREFIXES) for c in table.columns):
        return None
    return f"no INPUT:, OUTPUT: or ASSIGNMENT: columns among columns {columns_text(table.columns)}"


def _output_column(table: Table, field: str | None, problems: Problems) -> str | None:
    outputs = [c for c in table.columns if c.startswith("OUTPUT:")]
    if field is not None:
        name = field if field.startswith("OUTPUT:") else f"OUTPUT:{field}"
        if name in outputs:
            return name
        problems.error(
            "unknown_field", f"an output column '{name}'", f"output columns {columns_text(outputs)}"
        )
    elif len(outputs) > 1:
        problems.error(
            "ambiguous_field",
            "one OUTPUT: column (choose one with --field)",
            f"several output columns: {', '.join(outputs)}",
        )
    elif not outputs:
        problems.error(
            "missing_column",
            "an OUTPUT: column with the answers",
            f"columns {columns_text(table.columns)}",
        )
    else:
        return outputs[0]
    return None


def _item_column(columns: list[str]) -> str | None:
    """``INPUT:item_id``, else ``ASSIGNMENT:task_id``, else the first INPUT: column."""
    for name in ("INPUT:item_id", "ASSIGNMENT:task_id"):
        if name in columns:
            return name
    return next((c for c in columns if c.startswith("INPUT:")), None)


def read(parsed: Parsed, field: str | None = None) -> ImportResult:
    """Read a Toloka results TSV. See ``docs/formats.md`` for the details."""
    problems = Problems(parsed.name)
    table = parsed.table
    if table is None:
        problems.error("not_a_table", "toloka: a TSV table", parsed.describe())
        problems.fail()
    output = _output_column(table, field, problems)
    item_col = _item_column(table.columns)
    columns = columns_text(table.columns)
    if item_col is None:
        expected = "an item column: INPUT:item_id, ASSIGNMENT:task_id or an INPUT: column"
        problems.error("missing_column", expected, f"columns {columns}")
    if WORKER not in table.columns:
        problems.error(
            "missing_column", f"the labeler column '{WORKER}'", f"columns {columns}", field=WORKER
        )
    if output is None or item_col is None or problems.has_errors:
        problems.fail()
    return _Reader(table, output, item_col, problems).run()


class _Reader:
    def __init__(self, table: Table, output: str, item_col: str, problems: Problems) -> None:
        self.table, self.output, self.item_col, self.problems = table, output, item_col, problems
        self._empty: list[Any] = [None] * len(table)
        golden = "GOLDEN:" + output.removeprefix("OUTPUT:")
        self.golden = golden if golden in table.columns else None
        self.items = [id_text(v) for v in table.cells[item_col]]
        self.stats: dict[str, int] = {"rows_read": len(table)}
        self.book = ItemBook(problems)
        self.rows = AnnotationRows(time_fields={"started_at": STARTED, "submitted_at": SUBMITTED})

    def col(self, name: str) -> list[Any]:
        """A column's cells, or empty cells when the column is not there."""
        return self.table.cells.get(name) or self._empty

    def _inputs(self) -> tuple[str | None, list[str], list[str]]:
        """The data reference column, then INPUT: columns as metadata / as attributes."""
        inputs = [c for c in self.table.columns if c.startswith("INPUT:") and c != "INPUT:item_id"]
        ref = next(
            (
                c
                for c in inputs
                if c.removeprefix("INPUT:").lower() in ALIASES["data_ref"]
                or any(looks_like_ref(v) for v in self.table.cells[c])
            ),
            None,
        )
        rest = {
            c: self.table.cells[c]
            for c in inputs
            if c != ref and c.removeprefix("INPUT:") not in ITEM_COLUMNS
        }
        meta, attrs = split_extras(self.items, rest)
        return ref, meta, attrs

    def run(self) -> ImportResult:
        ref, meta, attrs = self._inputs()
        durations = self._durations()
        status = self.col("ASSIGNMENT:status")
        for i, loc in enumerate(self.table.locs):
            item = required_text(
                self.table.cells[self.item_col][i], self.problems, loc, self.item_col, "an item id"
            )
            if item is None:
                continue
            self.book.see(item)
            if ref:
                self.book.set_ref(item, id_text(self.table.cells[ref][i]))
            for c in meta:
                self.book.set_meta(item, c.removeprefix("INPUT:"), self.table.cells[c][i])
            if self.golden:
                gold = optional_label(
                    self.table.cells[self.golden][i],
                    self.problems,
                    loc,
                    self.golden,
                    "a gold label",
                )
                if gold is not None:
                    self.book.set_gold(item, gold, loc, self.golden)
            state = (id_text(status[i]) or "").upper()
            if state in LEFT_OUT:
                self.stats[state.lower()] = self.stats.get(state.lower(), 0) + 1
                continue
            self._annotation(i, item, loc, durations[i], attrs, ref)
        for state in LEFT_OUT:
            self.stats.setdefault(state.lower(), 0)
        return finish("toloka", self.rows, self.book, self.problems, self.stats)

    def _annotation(
        self,
        i: int,
        item: str,
        loc: Loc,
        duration: float | None,
        attrs: list[str],
        ref: str | None,
    ) -> None:
        worker = required_text(
            self.table.cells[WORKER][i], self.problems, loc, WORKER, "a worker id"
        )
        value = self.table.cells[self.output][i]
        label = required_text(value, self.problems, loc, self.output, "a label", label=True)
        if worker is None or label is None:
            return
        extra = {c.removeprefix("INPUT:"): self.table.cells[c][i] for c in attrs}
        self.rows.add(
            item,
            worker,
            label,
            loc,
            started_at=self.col(STARTED)[i],
            submitted_at=self.col(SUBMITTED)[i],
            duration_s=checked_duration(duration, self.problems, loc, SUBMITTED, self.stats),
            attributes=attributes_json(
                {
                    "assignment_id": self.col("ASSIGNMENT:assignment_id")[i],
                    # the pool's field names, for a relabel queue of the same project
                    "data_key": ref.removeprefix("INPUT:") if ref else None,
                    "output_field": self.output.removeprefix("OUTPUT:"),
                }
                | extra
            ),
        )

    def _durations(self) -> list[float | None]:
        """Per-task seconds: (submitted - started) / number of rows of the same assignment.

        Rows of one assignment share ``ASSIGNMENT:assignment_id`` (else
        ``task_suite_id``, else the worker and start time).
        """
        n = len(self.table)
        if STARTED not in self.table.columns or SUBMITTED not in self.table.columns:
            return [None] * n
        times = AnnotationRows(time_fields={"started_at": STARTED, "submitted_at": SUBMITTED})
        times.columns["started_at"] = list(self.col(STARTED))
        times.columns["submitted_at"] = list(self.col(SUBMITTED))
        times.locs = self.table.locs
        check = Problems(self.problems.file)  # timestamps are reported once, by finish()
        parse_times(times, "started_at", check)
        parse_times(times, "submitted_at", check)
        group_col = next((c for c in _GROUP_COLUMNS if c in self.table.columns), None)
        if group_col:
            keys: list[Any] = list(self.table.cells[group_col])
        else:
            keys = list(zip(self.table.cells[WORKER], self.col(STARTED), strict=True))
        sizes = Counter(keys)
        out: list[float | None] = []
        for key, start, end in zip(
            keys, times.columns["started_at"], times.columns["submitted_at"], strict=True
        ):
            if key is None or pd.isna(start) or pd.isna(end):
                out.append(None)
            else:
                out.append((end - start).total_seconds() / sizes[key])
        return out
