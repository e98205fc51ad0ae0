"""What every importer shares: problem collection, values, items, annotations.

An importer walks its records and feeds an :class:`AnnotationRows` (one call
per label kept) and an :class:`ItemBook` (gold, data reference and metadata per
item), collecting problems in a :class:`Problems`. :func:`finish` then flags
repeats, types the metadata and either raises :class:`ImportFailed` with every
error or returns the :class:`ImportResult`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NoReturn

import numpy as np
import pandas as pd

from consistency.errors import ImportFailed, InvalidArgument, Problem, Severity
from consistency.io._parse import Loc, Parsed, RowLocs, Table, columns_text
from consistency.schema import ALIASES, ImportResult, label_value

#: A duration above this many seconds (one day) is kept as empty, with a warning.
MAX_DURATION_S = 86_400.0
#: Separator of the choices of a multi-choice answer, stored as one label.
MULTI_CHOICE_SEPARATOR = "|"

_INT = re.compile(r"^[+-]?(0|[1-9]\d*)$")
_FLOAT = re.compile(r"^[+-]?(0|[1-9]\d*)?(\.\d+)?([eE][+-]?\d+)?$")
_BOOL = {"true": True, "false": False}
_URL_OR_PATH = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*://|/|\./|\.\./|[A-Za-z]:\\)\S+$")

ROLE_WORDS = {
    "item_id": "an item id",
    "labeler_id": "a labeler",
    "label": "a label",
    "gold_label": "a gold label",
    "predicted_label": "a predicted label",
}


class Problems:
    """The problems found in one file, errors and warnings, in the order found."""

    def __init__(self, file: str) -> None:
        self.file = file
        self._found: list[tuple[tuple[Any, ...], Problem]] = []

    @property
    def all(self) -> list[Problem]:
        """Every problem, in the order of the places they concern (file-level first)."""
        return [p for _, p in sorted(self._found, key=lambda t: t[0])]

    def error(
        self, code: str, expected: str, found: str, loc: Loc | None = None, field: str | None = None
    ) -> None:
        """Record an error: the import will fail."""
        self._add(code, expected, found, loc, field, "error")

    def warn(
        self, code: str, expected: str, found: str, loc: Loc | None = None, field: str | None = None
    ) -> None:
        """Record a warning: the data is kept, the problem is reported."""
        self._add(code, expected, found, loc, field, "warning")

    def _add(
        self,
        code: str,
        expected: str,
        found: str,
        loc: Loc | None,
        field: str | None,
        severity: Severity,
    ) -> None:
        line = loc.line if loc else None
        path = loc.path if loc else None
        problem = Problem(self.file, code, expected, found, line, path, field, severity)
        place = (loc.record, _natural(path)) if loc else (0, ())
        self._found.append(((*place, len(self._found)), problem))

    @property
    def has_errors(self) -> bool:
        return any(p.severity == "error" for _, p in self._found)

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.all if p.severity == "warning"]

    def raise_if_errors(self) -> None:
        """Raise :class:`ImportFailed` carrying every problem, when any is an error."""
        if self.has_errors:
            self.fail()

    def fail(self) -> NoReturn:
        """Raise :class:`ImportFailed` carrying every problem found so far."""
        raise ImportFailed(self.all)


def _natural(path: str | None) -> tuple[Any, ...]:
    """A sort key putting ``$[2]`` before ``$[10]``."""
    parts = re.split(r"(\d+)", path or "")
    return tuple(int(p) if i % 2 else p for i, p in enumerate(parts))


# --- columns --------------------------------------------------------------------------


def find_column(columns: Iterable[str], role: str, extra: tuple[str, ...] = ()) -> str | None:
    """The column holding ``role``: the first alias of ALIASES (then ``extra``) present.

    Matching is case-insensitive; when several columns match, the alias listed
    first in :data:`consistency.schema.ALIASES` wins.
    """
    by_lower: dict[str, str] = {}
    for c in columns:
        by_lower.setdefault(c.strip().lower(), c)
    for alias in ALIASES[role] + extra:
        if alias in by_lower:
            return by_lower[alias]
    return None


def missing_column(
    problems: Problems, role: str, columns: list[str], extra: tuple[str, ...] = ()
) -> None:
    """Report a required column that is not there, with the columns found and aliases."""
    names = ", ".join(ALIASES[role] + extra)
    problems.error(
        "missing_column",
        f"{ROLE_WORDS[role]} column (one of: {names}; any case)",
        f"columns {columns_text(columns)}",
        field=role,
    )


def require_table(parsed: Parsed, fmt: str, problems: Problems) -> Table:
    """The parsed file as a table, or raise when it is JSON that is not a list of objects."""
    table = parsed.as_table()
    if table is None:
        problems.error("not_a_table", f"{fmt}: a table or JSON records", parsed.describe())
        problems.fail()
    return table


def no_field(fmt: str, field: str | None) -> None:
    """Reject ``field=`` for formats with one label column."""
    if field is not None:
        raise InvalidArgument(
            f"field '{field}' cannot be used with the {fmt} format, which has one label "
            "column; field chooses the label of Label Studio and Toloka files"
        )


# --- values ---------------------------------------------------------------------------


def as_text(value: Any) -> str | None:
    """A cell as text: numbers without a spurious ``.0``, JSON for lists and objects."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return str(int(value)) if value.is_integer() and abs(value) < 2**63 else repr(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def id_text(value: Any) -> str | None:
    """An id: text without surrounding whitespace, or None when empty."""
    text = as_text(value)
    if text is None:
        return None
    text = text.strip()
    return text or None


def label_text(value: Any) -> str | None:
    """A label, verbatim, or None when empty or only whitespace."""
    text = as_text(value)
    if text is None or not text.strip():
        return None
    return text


def join_choices(choices: Iterable[Any]) -> str | None:
    """The choices of one answer as one label: sorted, joined with ``|``."""
    texts = sorted({t for t in (label_text(c) for c in choices) if t is not None})
    return MULTI_CHOICE_SEPARATOR.join(texts) or None


def quoted(value: Any, limit: int = 60) -> str:
    """A value for a message: ``'cat'``, shortened past ``limit`` characters."""
    text = as_text(value)
    if text is None:
        return "an empty value"
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return repr(text) if ("\n" in text or "\t" in text or "'" in text) else f"'{text}'"


def looks_like_ref(value: Any) -> bool:
    """True for a URL (``scheme://...``) or a file path (``/a/b.jpg``, ``./x``)."""
    return isinstance(value, str) and bool(_URL_OR_PATH.match(value.strip()))


def is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def required_text(
    value: Any, problems: Problems, loc: Loc, field: str | None, what: str, *, label: bool = False
) -> str | None:
    """An id (stripped) or a label (verbatim) from a cell, or None with an error.

    ``what`` names the value in the message ("an item id", "a label").
    """
    if not is_scalar(value):
        kind = "array" if isinstance(value, list | tuple) else "object"
        problems.error("invalid_value", f"{what} (text or a number)", f"a JSON {kind}", loc, field)
        return None
    text = label_text(value) if label else id_text(value)
    if text is None:
        found = "only whitespace" if isinstance(value, str) and value else "an empty value"
        problems.error("empty_label" if label else "missing_value", what, found, loc, field)
    return text


def texts(
    values: list[Any],
    problems: Problems,
    locs: Sequence[Loc],
    field: str | None,
    what: str,
    *,
    label: bool = False,
) -> list[str | None]:
    """:func:`required_text` over a column, with a fast path for non-empty strings."""
    out: list[str | None] = []
    append = out.append
    for i, v in enumerate(values):
        if type(v) is str:
            if label:
                if v and not v.isspace():
                    append(v)
                    continue
            elif t := v.strip():
                append(t)
                continue
        append(required_text(v, problems, locs[i], field, what, label=label))
    return out


def optional_label(
    value: Any, problems: Problems, loc: Loc, field: str | None, what: str
) -> str | None:
    """A label that may be missing (a gold label): None when empty, an error for a list/object."""
    if is_scalar(value) and label_text(value) is None:
        return None
    return required_text(value, problems, loc, field, what, label=True)


def number(
    value: Any, problems: Problems, loc: Loc, field: str, what: str = "a number of seconds"
) -> float | None:
    """A finite number, or None (with an error when the value is not one)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        v = math.nan
    else:
        try:
            v = float(value)
        except (TypeError, ValueError):
            v = math.nan
    if not math.isfinite(v):
        problems.error("invalid_number", what, quoted(value), loc, field)
        return None
    return v


def checked_duration(
    seconds: float | None, problems: Problems, loc: Loc, field: str, stats: dict[str, int]
) -> float | None:
    """A duration, or None with a warning when it is negative or longer than a day."""
    if seconds is None or 0 <= seconds <= MAX_DURATION_S:
        return seconds
    stats["absurd_durations"] = stats.get("absurd_durations", 0) + 1
    days = f" ({seconds / 86400:.1f} days)" if seconds > MAX_DURATION_S else ""
    problems.warn(
        "absurd_duration",
        "a duration between 0 and 86400 s (one day)",
        f"{seconds:.12g} s{days}; the duration is left empty",
        loc,
        field,
    )
    return None


# --- items ----------------------------------------------------------------------------


@dataclass
class ItemBook:
    """Per-item facts: order of first appearance, gold label, data reference, metadata."""

    problems: Problems
    order: dict[str, None] = field(default_factory=dict)
    gold: dict[str, tuple[str, Loc]] = field(default_factory=dict)
    control: set[str] = field(default_factory=set)
    refs: dict[str, str] = field(default_factory=dict)
    meta: dict[str, dict[str, Any]] = field(default_factory=dict)

    def see(self, item: str) -> None:
        self.order.setdefault(item, None)

    def set_gold(self, item: str, gold: str, loc: Loc, field: str) -> None:
        """Record the gold label of an item; a different second one is an error."""
        self.see(item)
        first = self.gold.get(item)
        if first is None:
            self.gold[item] = (gold, loc)
        elif first[0] != gold:
            self.problems.error(
                "conflicting_gold",
                f"one gold label per item (item '{item}')",
                f"{quoted(gold)} here and {quoted(first[0])} at {first[1].describe()}",
                loc,
                field,
            )

    def set_ref(self, item: str, ref: str | None) -> None:
        if ref:
            self.refs.setdefault(item, ref)

    def set_meta(self, item: str, column: str, value: Any) -> None:
        """Metadata value of an item (the first non-empty value wins)."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return
        self.meta.setdefault(column, {}).setdefault(item, value)

    def frame(self) -> pd.DataFrame:
        """The items table: canonical columns, then typed metadata columns."""
        ids = list(self.order)
        data: dict[str, Any] = {
            "item_id": ids,
            "gold_label": [self.gold[i][0] if i in self.gold else None for i in ids],
            "is_control": [i in self.gold or i in self.control for i in ids],
            "data_ref": [self.refs.get(i) for i in ids],
        }
        for column, values in self.meta.items():
            if column in data:
                continue
            data[column] = typed_column([values.get(i) for i in ids])
        return pd.DataFrame(data)


def typed_column(values: list[Any]) -> pd.Series:
    """Metadata values typed: booleans, integers, floats, else text.

    Strings count as numbers when they look like one (``12``, ``-0.5``,
    ``1e3``); a leading zero (``007``) keeps a column as text. ``true`` and
    ``false`` (any case) are booleans.
    """
    present = [v for v in values if v is not None]
    if present and all(_as_bool(v) is not None for v in present):
        return pd.Series([_as_bool(v) for v in values], dtype="boolean")
    if present and all(_is_int(v) for v in present):
        ints = [int(v) if v is not None else None for v in values]
        if all(abs(i) < 2**63 for i in ints if i is not None):
            return pd.Series(ints, dtype="Int64")
    if present and all(_is_float(v) for v in present):
        return pd.Series([float(v) if v is not None else None for v in values], dtype="Float64")
    return pd.Series([as_text(v) for v in values], dtype="string")


def _as_bool(v: Any) -> bool | None:
    if isinstance(v, bool):
        return v
    return _BOOL.get(v.strip().lower()) if isinstance(v, str) else None


def _is_int(v: Any) -> bool:
    if isinstance(v, bool):
        return False
    if isinstance(v, int):
        return True
    return isinstance(v, str) and bool(_INT.match(v.strip()))


def _is_float(v: Any) -> bool:
    if isinstance(v, bool):
        return False
    if isinstance(v, int | float):
        return math.isfinite(v)
    if not isinstance(v, str):
        return False
    s = v.strip()
    return bool(s) and bool(_FLOAT.match(s)) and any(ch.isdigit() for ch in s)


def split_extras(
    items: list[str | None], extras: dict[str, list[Any]]
) -> tuple[list[str], list[str]]:
    """Which extra columns are item metadata (one value per item) and which per annotation."""
    meta, attrs = [], []
    for column, values in extras.items():
        seen: dict[str, str] = {}
        constant = True  # empty counts as a value: a column filled on some rows only is per row
        for item, value in zip(items, values, strict=True):
            if item is None:
                continue
            text = value if type(value) is str else (as_text(value) or "")
            if seen.setdefault(item, text) != text:
                constant = False
                break
        (meta if constant else attrs).append(column)
    return meta, attrs


def attributes_json(pairs: dict[str, Any]) -> str | None:
    """Per-annotation extra fields as JSON text (empty values left out)."""
    kept = {k: v for k, v in pairs.items() if v is not None and v != ""}
    if not kept:
        return None
    return json.dumps(kept, ensure_ascii=False, sort_keys=True, default=str)


# --- annotations ----------------------------------------------------------------------


@dataclass
class AnnotationRows:
    """The kept labels, one call of :meth:`add` each, with their locations."""

    time_fields: dict[str, str] = field(default_factory=dict)
    columns: dict[str, list[Any]] = field(
        default_factory=lambda: {
            k: []
            for k in (
                "item_id",
                "labeler_id",
                "label",
                "round",
                "started_at",
                "submitted_at",
                "duration_s",
                "source_line",
                "attributes",
            )
        }
    )
    locs: list[Loc] | Sequence[Loc] = field(default_factory=list)

    def add(
        self,
        item: str,
        labeler: str,
        label: str,
        loc: Loc,
        *,
        round: str | None = None,
        started_at: Any = None,
        submitted_at: Any = None,
        duration_s: float | None = None,
        attributes: str | None = None,
    ) -> None:
        values = {
            "item_id": item,
            "labeler_id": labeler,
            "label": label,
            "round": round,
            "started_at": started_at,
            "submitted_at": submitted_at,
            "duration_s": duration_s,
            "source_line": loc.record,
            "attributes": attributes,
        }
        for k, v in values.items():
            self.columns[k].append(v)
        if not isinstance(self.locs, list):
            self.locs = list(self.locs)
        self.locs.append(loc)

    def extend(self, columns: dict[str, list[Any]], locs: Sequence[Loc]) -> None:
        """Add many labels at once: a list per column (missing columns are empty)."""
        n = len(locs)
        records = locs.records if isinstance(locs, RowLocs) else [loc.record for loc in locs]
        for k, values in self.columns.items():
            values.extend(records if k == "source_line" else columns.get(k) or [None] * n)
        if not self.locs:
            self.locs = locs  # kept lazy
        else:
            self.locs = [*self.locs, *locs]

    def __len__(self) -> int:
        return len(self.locs)


def parse_times(rows: AnnotationRows, column: str, problems: Problems) -> None:
    """Parse a timestamp column in place; values that are not ISO 8601 are errors.

    Timestamps without a time zone are taken as UTC.
    """
    raw = pd.Series(rows.columns[column], dtype=object)
    present = raw.notna()
    if not present.any():
        return
    parseable = raw.map(lambda v: v if isinstance(v, str | datetime) else None)
    parsed = pd.to_datetime(parseable, utc=True, errors="coerce", format="ISO8601")
    for i in raw.index[present & parsed.isna()]:
        problems.error(
            "invalid_timestamp",
            "an ISO 8601 timestamp such as 2024-05-01T10:00:00Z",
            quoted(raw[i]),
            rows.locs[i],
            rows.time_fields.get(column, column),
        )
    rows.columns[column] = list(parsed)


def flag_repeats(rows: AnnotationRows, problems: Problems) -> int:
    """Warn for each label after the first that a labeler gives one item in one round.

    Labels of the same labeler and item in different rounds are relabels, not repeats.
    Returns how many repeats there are.
    """
    items, labelers = rows.columns["item_id"], rows.columns["labeler_id"]
    rounds = rows.columns["round"]
    keys = pd.DataFrame({"i": items, "l": labelers, "r": [str(r) for r in rounds]})
    twice = keys.duplicated(keep=False).to_numpy()
    first: dict[tuple[str, str, str], int] = {}
    repeats = 0
    for idx in np.flatnonzero(twice):
        item, labeler = items[idx], labelers[idx]
        seen = first.setdefault((item, labeler, str(rounds[idx])), idx)
        if seen != idx:
            repeats += 1
            problems.warn(
                "repeat",
                "one label per labeler and item",
                f"labeler '{labeler}' labeled item '{item}' again (first at "
                f"{rows.locs[seen].describe()}); both labels are kept",
                rows.locs[idx],
            )
    return repeats


def finish(
    fmt: str,
    rows: AnnotationRows,
    book: ItemBook,
    problems: Problems,
    stats: dict[str, int],
    *,
    predictions: pd.DataFrame | None = None,
    notes: list[str] | None = None,
) -> ImportResult:
    """Check what every import must satisfy, then raise with every error or build the result."""
    for column in ("started_at", "submitted_at"):
        parse_times(rows, column, problems)
    stats["repeats"] = flag_repeats(rows, problems)
    if not len(rows) and not problems.has_errors:
        left_out = {k: v for k, v in stats.items() if k not in ("rows_read", "repeats") and v}
        why = ", ".join(f"{k} {v}" for k, v in left_out.items())
        read = stats.get("rows_read", 0)
        found = f"none of {read} rows" + (f" ({why})" if why else "") if read else "no rows"
        problems.error("no_annotations", "at least one label to import", found)
    problems.raise_if_errors()
    for item in dict.fromkeys(rows.columns["item_id"]):
        book.see(item)
    read = stats.setdefault("rows_read", len(rows))
    stats["rows_kept"] = len(rows)
    stats["rows_rejected"] = read - len(rows)
    stats["items"] = len(book.order)
    labels = rows.columns["label"]
    values = {label: label_value(label) for label in set(labels)}
    annotations = pd.DataFrame(rows.columns | {"label_value": [values[x] for x in labels]})
    return ImportResult(
        format=fmt,
        annotations=annotations,
        items=book.frame(),
        predictions=predictions,
        warnings=problems.warnings,
        stats=dict(sorted(stats.items())),
        notes=notes or [],
    )
