"""From bytes to a parsed file: decoding, then a table or JSON records.

Every importer starts from a :class:`Parsed` file, so decoding problems (not
UTF-8, empty, truncated JSON, a CSV row with the wrong number of fields) are
reported the same way whatever the format.

Detection of the *kind* of file is from content, not from the extension:

- Parquet: the magic bytes ``PAR1`` at both ends;
- JSON: the first non-blank character is ``[`` or ``{``; a file whose first
  line is a complete JSON value is JSON Lines, otherwise one JSON document;
- otherwise a delimited table: the separator is the one of tab, comma and
  semicolon found most often in the header line (tab wins ties).
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple, overload

from consistency.errors import ImportFailed, Problem

Kind = Literal["csv", "tsv", "parquet", "jsonl", "json"]

_PARQUET_MAGIC = b"PAR1"
_INDEX_COLUMN = re.compile(r"^__index_level_\d+__$")
_DELIMITERS = ("\t", ",", ";")
_MAX_LISTED_COLUMNS = 12


@dataclass(frozen=True)
class Source:
    """A file to import: the name shown to the user and its bytes.

    Args:
        name: the file name as the user knows it (a basename or an upload name).
        data: the raw bytes of the file.
    """

    name: str
    data: bytes

    @classmethod
    def from_path(cls, path: str | Path) -> Source:
        """Read a file from disk.

        Raises:
            ImportFailed: the file is missing, a directory or unreadable.
        """
        p = Path(path)
        try:
            return cls(p.name, p.read_bytes())
        except FileNotFoundError:
            found = f"no file at '{path}'"
        except IsADirectoryError:
            found = f"'{path}' is a directory"
        except PermissionError:
            found = f"no permission to read '{path}'"
        except OSError as e:
            found = f"'{path}' cannot be read ({e.strerror or e})"
        raise ImportFailed([Problem(p.name, "unreadable_file", "a readable file", found)])


class Loc(NamedTuple):
    """Where a record is: a line (text files), a JSON path, and its record number.

    ``record`` is the 1-based number stored as ``source_line``: the line for
    CSV/TSV/JSON Lines, the row for Parquet, the element for a JSON array.
    """

    line: int | None = None
    path: str | None = None
    record: int = 0

    def child(self, suffix: str) -> Loc:
        """The location of a part of this record (``.annotations[0]``)."""
        return Loc(self.line, (self.path or "$") + suffix, self.record)

    def describe(self) -> str:
        """``line 4`` / ``$[2].annotations[0]`` / ``line 4, $.meta``."""
        parts = []
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.path is not None:
            parts.append(self.path)
        return ", ".join(parts) or "the file"


class RowLocs(Sequence[Loc]):
    """The locations of a table's rows, made on demand (a big table has millions).

    ``records`` are the rows' line numbers (CSV/TSV) or row numbers (Parquet).
    """

    def __init__(self, records: list[int], by_line: bool) -> None:
        self.records = records
        self._by_line = by_line

    def _loc(self, record: int) -> Loc:
        return Loc(record, None, record) if self._by_line else Loc(None, f"row {record}", record)

    @overload
    def __getitem__(self, index: int) -> Loc: ...
    @overload
    def __getitem__(self, index: slice) -> list[Loc]: ...
    def __getitem__(self, index: int | slice) -> Loc | list[Loc]:
        if isinstance(index, slice):
            return [self._loc(r) for r in self.records[index]]
        return self._loc(self.records[index])

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[Loc]:
        return (self._loc(r) for r in self.records)

    def take(self, indices: list[int]) -> RowLocs:
        """The locations of some rows."""
        return RowLocs([self.records[i] for i in indices], self._by_line)


@dataclass
class Table:
    """A table read from a file: column names, cells by column, and row locations.

    Cells are ``None`` when empty. Values from CSV/TSV are strings; values from
    Parquet and JSON keep their types.
    """

    columns: list[str]
    cells: dict[str, list[Any]]
    locs: Sequence[Loc]

    def __len__(self) -> int:
        return len(self.locs)


@dataclass
class Parsed:
    """A decoded file: its kind, and a table or JSON records."""

    name: str
    kind: Kind
    table: Table | None = None
    records: list[tuple[Loc, Any]] | None = None
    json_root: Literal["array", "object", "lines"] | None = None
    _records_table: Table | None = field(default=None, repr=False)

    def kind_text(self) -> str:
        """``a CSV table`` / ``JSON Lines`` / ``a JSON array`` / ``a JSON object``."""
        if self.table is not None:
            return f"a {self.kind.upper()} table"
        return "JSON Lines" if self.json_root == "lines" else f"a JSON {self.json_root}"

    def describe(self) -> str:
        """What the file looks like, with its columns when it is a table."""
        if self.table is not None:
            return f"{self.kind_text()} with columns {columns_text(self.table.columns)}"
        return self.kind_text()

    def as_table(self) -> Table | None:
        """The file as a table: itself, or JSON records when they are all objects."""
        if self.table is not None:
            return self.table
        if self._records_table is None and self.records:
            if not all(isinstance(r, dict) for _, r in self.records):
                return None
            self._records_table = records_table(self.records)
        return self._records_table


def columns_text(columns: list[str]) -> str:
    """Column names for a message, capped: ``a, b, c`` / ``a, b, ... (40 columns)``."""
    shown = [c if c else "''" for c in columns[:_MAX_LISTED_COLUMNS]]
    text = ", ".join(shown)
    if len(columns) > _MAX_LISTED_COLUMNS:
        text += f", ... ({len(columns)} columns)"
    return text or "none"


def records_table(records: list[tuple[Loc, Any]]) -> Table:
    """JSON objects as a table: the union of their keys, in order of first appearance."""
    columns: dict[str, None] = {}
    for _, rec in records:
        for key in rec:
            columns.setdefault(str(key), None)
    cells = {c: [rec.get(c) for _, rec in records] for c in columns}
    return Table(list(columns), cells, [loc for loc, _ in records])


def parse(source: Source) -> Parsed:
    """Decode and parse a source, or raise :class:`ImportFailed` with every problem."""
    data = source.data
    if data.startswith(_PARQUET_MAGIC) and data.endswith(_PARQUET_MAGIC) and len(data) > 8:
        return _parse_parquet(source.name, data)
    text = decode(source.name, data)
    stripped = text.lstrip()
    if stripped[:1] in ("[", "{"):
        return _parse_json(source.name, text)
    return _parse_delimited(source.name, text)


def _fail(name: str, code: str, expected: str, found: str, line: int | None = None) -> ImportFailed:
    return ImportFailed([Problem(name, code, expected, found, line=line)])


def decode(name: str, data: bytes) -> str:
    """UTF-8 text without a BOM; problems name the line of the first bad byte."""
    utf8 = "UTF-8 text (re-save the file as UTF-8)"
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise _fail(name, "not_utf8", utf8, "a UTF-16 byte order mark: the file is UTF-16", 1)
    if not data.strip():
        found = "0 bytes" if not data else f"only whitespace ({len(data)} bytes)"
        raise _fail(name, "empty_file", "a non-empty file", found)
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        found = "NUL bytes: the file looks like UTF-16 or binary"
        raise _fail(name, "not_utf8", utf8, found, line)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        column = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        found = f"byte 0x{data[e.start]:02X} at column {column}, which is not UTF-8"
        raise _fail(name, "not_utf8", utf8, found, line) from None


def _parse_parquet(name: str, data: bytes) -> Parsed:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(io.BytesIO(data))
    except (pa.ArrowException, OSError, ValueError) as e:
        raise _fail(name, "invalid_parquet", "a readable Parquet file", str(e)) from None
    columns = [c for c in table.column_names if not _INDEX_COLUMN.match(c)]
    cells = {c: table.column(c).to_pylist() for c in columns}
    locs = RowLocs(list(range(1, table.num_rows + 1)), by_line=False)
    return Parsed(name, "parquet", table=Table(columns, cells, locs))


def _json_problem(name: str, e: json.JSONDecodeError, text: str, line_offset: int = 0) -> Problem:
    msg = e.msg.removesuffix(" at")
    found = f"{msg[:1].lower()}{msg[1:]} at column {e.colno}"
    rest = text[e.pos :].strip()
    if not rest or (e.msg.startswith("Unterminated string") and '"' not in rest[1:]):
        what = "line" if line_offset or "\n" not in text.strip() else "file"
        found += f" (the {what} ends in the middle of a value: is it truncated?)"
    return Problem(name, "invalid_json", "valid JSON", found, line=e.lineno + line_offset)


def _parse_json(name: str, text: str) -> Parsed:
    lines = text.split("\n")
    first = next(i for i, ln in enumerate(lines) if ln.strip())
    try:
        json.loads(lines[first])
        first_line_is_value = True
    except json.JSONDecodeError:
        first_line_is_value = False
    if first_line_is_value and any(ln.strip() for ln in lines[first + 1 :]):
        return _parse_json_lines(name, lines)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise ImportFailed([_json_problem(name, e, text)]) from None
    except RecursionError:
        raise _fail(name, "invalid_json", "valid JSON", "nesting too deep to read") from None
    if value == []:
        raise _fail(name, "empty_file", "at least one record", "an empty JSON array")
    if isinstance(value, list):
        records = [(Loc(path=f"$[{i}]", record=i + 1), v) for i, v in enumerate(value)]
        return Parsed(name, "json", records=records, json_root="array")
    if isinstance(value, dict):
        return Parsed(name, "json", records=[(Loc(path="$", record=1), value)], json_root="object")
    found = f"a single JSON {type(value).__name__}"
    raise _fail(name, "invalid_json", "a JSON array or object", found)


def _parse_json_lines(name: str, lines: list[str]) -> Parsed:
    records: list[tuple[Loc, Any]] = []
    problems: list[Problem] = []
    for i, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as e:
            problems.append(_json_problem(name, e, raw, line_offset=i - 1))
            continue
        except RecursionError:
            problems.append(Problem(name, "invalid_json", "valid JSON", "nesting too deep", line=i))
            continue
        if not isinstance(value, dict):
            found = f"a JSON {_json_type(value)}"
            problems.append(
                Problem(name, "invalid_json", "one JSON object per line", found, line=i)
            )
            continue
        records.append((Loc(line=i, record=i), value))
    if problems:
        raise ImportFailed(problems)
    return Parsed(name, "jsonl", records=records, json_root="lines")


def _json_type(value: Any) -> str:
    return {list: "array", dict: "object", str: "string", bool: "boolean"}.get(
        type(value), "number" if isinstance(value, int | float) else "null"
    )


def _sniff_delimiter(text: str) -> str:
    header = text.lstrip("\r\n").split("\n", 1)[0]
    best = max(_DELIMITERS, key=header.count)
    return best if header.count(best) else ","


def _parse_delimited(name: str, text: str) -> Parsed:
    delimiter = _sniff_delimiter(text)
    csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    raw: list[list[str]] = []
    ends: list[int] = []  # the line each record ends on
    problems: list[Problem] = []
    try:
        for row in reader:
            raw.append(row)
            ends.append(reader.line_num)
    except csv.Error as e:
        line = reader.line_num + 1
        problems.append(
            Problem(name, "invalid_csv", "a well-formed CSV/TSV row", str(e), line=line)
        )
    starts = [1, *(end + 1 for end in ends[:-1])]
    kept = [k for k, row in enumerate(raw) if row and (len(row) > 1 or row[0].strip())]
    kept = [k for k in kept if "".join(raw[k]).strip()]
    if not kept:
        raise _fail(name, "empty_file", "a non-empty file", "only blank lines")
    header, header_line = [c.strip() for c in raw[kept[0]]], starts[kept[0]]
    n = len(header)
    expected = f"{n} fields, as in the header (line {header_line})"
    for k in kept[1:]:
        if len(raw[k]) != n:
            found = f"{len(raw[k])} fields"
            problems.append(Problem(name, "field_count", expected, found, line=starts[k]))
    problems.extend(_header_problems(name, header, header_line))
    if problems:
        raise ImportFailed(sorted(problems, key=lambda p: p.line or 0))
    body = kept[1:]
    rows = [raw[k] for k in body] if len(body) != len(raw) - 1 else raw[1:]
    columns = list(zip(*rows, strict=True)) if rows else [()] * n
    cells = {c: [v or None for v in col] for c, col in zip(header, columns, strict=True)}
    locs = RowLocs([starts[k] for k in body], by_line=True)
    kind: Kind = "tsv" if delimiter == "\t" else "csv"
    return Parsed(name, kind, table=Table(header, cells, locs))


def _header_problems(name: str, header: list[str], line: int) -> list[Problem]:
    problems = []
    seen: set[str] = set()
    for i, col in enumerate(header, start=1):
        if not col:
            problems.append(
                Problem(
                    name,
                    "unnamed_column",
                    "a name for every column",
                    f"column {i} has no name",
                    line=line,
                )
            )
        elif col in seen:
            problems.append(
                Problem(
                    name, "duplicate_column", "unique column names", f"'{col}' twice", line=line
                )
            )
        seen.add(col)
    return problems
