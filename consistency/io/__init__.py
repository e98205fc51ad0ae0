"""Importers: every supported export format to the canonical tables.

Each format is one :class:`Importer` in :data:`IMPORTERS`: a name, a ``sniff``
function that says why a parsed file does *not* fit (or ``None`` when it
does), and a ``read`` function. Detection tries them in :data:`DETECTION_ORDER`
and takes the first that fits; when none fits, :class:`UnknownFormat` lists
why each was ruled out. Adding a format is one module, one tuple entry and
its golden fixtures (see ``docs/formats.md``).

>>> result = read_source(Source("votes.csv", b"item,worker,label\\n1,ann,cat\\n1,bob,dog\\n"))
>>> result.format, list(result.annotations["label"])
('long', ['cat', 'dog'])
"""

from __future__ import annotations

import csv
import gc
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from consistency.errors import ImportFailed, InvalidArgument, Problem, UnknownFormat
from consistency.io import labelstudio, prodigy, sidecar, tables, toloka
from consistency.io._parse import Loc, Parsed, Source, parse
from consistency.schema import ImportResult
from consistency.settings import Limits, load_settings

T = TypeVar("T")

__all__ = [
    "DETECTION_ORDER",
    "FORMATS",
    "IMPORTERS",
    "Importer",
    "Source",
    "read_gold",
    "read_path",
    "read_predictions",
    "read_source",
]


@dataclass(frozen=True)
class Importer:
    """One supported format.

    Attributes:
        name: the name accepted by ``--format``.
        needs: what a file of this format looks like, in words (for messages).
        sniff: ``None`` when a parsed file fits, else the reason it does not.
        read: reads a parsed file (``field`` chooses the label where a format
            has several) into an :class:`ImportResult`, or raises ImportFailed.
    """

    name: str
    needs: str
    sniff: Callable[[Parsed], str | None]
    read: Callable[[Parsed, str | None], ImportResult]


IMPORTERS: tuple[Importer, ...] = (
    Importer(
        "long",
        "a table with item, labeler and label columns (aliases accepted)",
        tables.sniff_long,
        tables.read_long,
    ),
    Importer(
        "wide",
        "a table with an item id column and one column per labeler",
        tables.sniff_wide,
        tables.read_wide,
    ),
    Importer(
        "labelstudio-json",
        "a JSON array of Label Studio tasks with 'annotations'",
        labelstudio.sniff_json,
        labelstudio.read_json,
    ),
    Importer(
        "labelstudio-json-min",
        "a JSON array of records with 'annotator' and 'annotation_id'",
        labelstudio.sniff_json_min,
        labelstudio.read_json_min,
    ),
    Importer(
        "labelstudio-csv",
        "a CSV or TSV table with 'annotator' and 'annotation_id' columns",
        labelstudio.sniff_csv,
        labelstudio.read_csv,
    ),
    Importer(
        "toloka",
        "a TSV table with INPUT:, OUTPUT: and ASSIGNMENT: columns",
        toloka.sniff,
        toloka.read,
    ),
    Importer(
        "prodigy",
        "JSON Lines with 'answer' (accept, reject, ignore) and '_input_hash' or '_task_hash'",
        prodigy.sniff,
        prodigy.read,
    ),
    Importer(
        "crowdkit",
        "a table with exactly the columns task, worker, label (and optionally true_label)",
        tables.sniff_crowdkit,
        tables.read_crowdkit,
    ),
)

#: Names accepted by ``--format``.
FORMATS: tuple[str, ...] = tuple(imp.name for imp in IMPORTERS)
_BY_NAME = {imp.name: imp for imp in IMPORTERS}

#: The order in which detection tries the formats: the most specific first.
DETECTION_ORDER: tuple[Importer, ...] = tuple(
    _BY_NAME[name]
    for name in (
        "labelstudio-json",
        "labelstudio-json-min",
        "labelstudio-csv",
        "toloka",
        "prodigy",
        "crowdkit",
        "long",
        "wide",
    )
)


def read_source(
    source: Source,
    *,
    format: str | None = None,
    field: str | None = None,
    limits: Limits | None = None,
) -> ImportResult:
    """Read one file into the canonical tables.

    Args:
        source: the file's name and bytes.
        format: one of :data:`FORMATS`, or None to detect it from the content.
        field: the label to read when a file holds several (a Label Studio
            ``from_name`` or column, a Toloka ``OUTPUT:`` field).
        limits: the upload limits (size, rows, columns); default from the
            environment (see :mod:`consistency.settings`).

    Returns:
        The annotations, items and predictions, with warnings and counts.

    Raises:
        InvalidArgument: ``format`` is not a known format name, or ``field``
            was given for a format with a single label.
        UnknownFormat: no format fits; its problems say why each did not.
        ImportFailed: the file has errors, or is over a limit; it carries
            all of them, and nothing is returned.
    """
    if format is not None and format not in _BY_NAME:
        raise InvalidArgument(f"unknown format '{format}'; formats: {', '.join(FORMATS)}")
    limits = _limits(limits)
    with _bulk():
        parsed = _parse_within(source, limits)
        if format is not None:
            return _counted(
                source.name,
                limits,
                _guarded(_BY_NAME[format].name, _BY_NAME[format].read, parsed, field),
            )
        reasons = []
        for imp in DETECTION_ORDER:
            why = imp.sniff(parsed)
            if why is None:
                return _counted(source.name, limits, _guarded(imp.name, imp.read, parsed, field))
            reasons.append(Problem(source.name, "unknown_format", f"{imp.name}: {imp.needs}", why))
    summary = (
        f"{source.name} is {parsed.describe()}, in none of the known formats; "
        f"choose one with --format if it is close to one (tried {', '.join(i.name for i in DETECTION_ORDER)})"
    )
    raise UnknownFormat(reasons, summary=summary)


def _parse_within(source: Source, limits: Limits) -> Parsed:
    """Parse a file that is within the upload limits; every refusal is an ImportFailed.

    The size and the header's width are checked before parsing (a header of a
    million columns is refused at once), the records and columns after.
    """
    limits.check_size(source.name, len(source.data))
    limits.check_columns(source.name, _header_width(source.data))
    parsed = _guarded("file", _parse_json_safe, source)
    table = parsed.table
    if table is not None:
        limits.check_rows(source.name, len(table))
        limits.check_columns(source.name, len(table.columns))
    else:
        records = parsed.records or []
        limits.check_rows(source.name, len(records))
        limits.check_columns(source.name, _key_count(records, limits.max_columns))
    return parsed


def _parse_json_safe(source: Source) -> Parsed:
    """:func:`parse`; JSON nested too deep, too long a number or a lone surrogate is a problem.

    A lone surrogate is an escape such as ``"\\ud800"``: half of a character
    pair, which is not text and cannot be stored.
    """
    try:
        parsed = parse(source)
        if parsed.records is not None and re.search(rb"\\u[dD][89a-fA-F]", source.data):
            _refuse_surrogates(source.name, parsed.records)
        return parsed
    except RecursionError:
        found = "nesting too deep to read"
    except ValueError as e:  # json.loads of an integer longer than Python converts
        if "digits" not in str(e):
            raise
        found = "a number with more digits than can be read"
    raise ImportFailed([Problem(source.name, "invalid_json", "valid JSON", found)])


_SURROGATE = re.compile("[\ud800-\udfff]")


def _refuse_surrogates(name: str, records: list[tuple[Loc, Any]]) -> None:
    """Problems for JSON strings holding a lone surrogate: they are not text and cannot be stored."""
    problems = []
    for loc, record in records:
        stack = [record]
        while stack:
            value = stack.pop()
            if isinstance(value, dict):
                stack.extend(value.keys())
                stack.extend(value.values())
            elif isinstance(value, list):
                stack.extend(value)
            elif isinstance(value, str) and (bad := _SURROGATE.search(value)):
                found = (
                    f"the escape \\u{ord(bad.group()):04x}, half of a character pair "
                    "(a lone surrogate), which is not text"
                )
                problems.append(
                    Problem(name, "invalid_json", "valid JSON text", found, loc.line, loc.path)
                )
                break
    if problems:
        raise ImportFailed(problems)


def _header_width(data: bytes) -> int:
    """How many fields the first line of a delimited file has (0 for JSON and Parquet)."""
    end = data.find(b"\n", 0, 1 << 24)
    line = data[: end if end >= 0 else 1 << 24].decode("utf-8", "replace").strip("\r\ufeff")
    if not line.strip() or line.lstrip()[:1] in ("[", "{") or data.startswith(b"PAR1"):
        return 0
    delimiter = max(("\t", ",", ";"), key=line.count)
    try:
        return max((len(row) for row in csv.reader([line], delimiter=delimiter)), default=0)
    except csv.Error:  # the parser reports the malformed line with its number
        return 0


def _key_count(records: list[tuple[object, object]], cap: int) -> int:
    """The number of distinct top-level keys of JSON records, counted up to just past ``cap``."""
    keys: set[str] = set()
    for _, rec in records:
        if isinstance(rec, dict):
            keys.update(map(str, rec))
            if len(keys) > cap:
                break
    return len(keys)


def _counted(name: str, limits: Limits, result: ImportResult) -> ImportResult:
    """The result, unless it holds more annotations than the row limit."""
    limits.check_rows(name, len(result.annotations), "annotations")
    return result


@contextmanager
def _bulk() -> Iterator[None]:
    """Pause the cyclic garbage collector while a big file becomes millions of small objects.

    None of them form cycles; collecting while they are made costs more than the reading.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _guarded(name: str, read: Callable[..., T], *args: object) -> T:
    """Run an importer; an unexpected exception becomes a problem, never a traceback."""
    try:
        return read(*args)
    except (
        KeyError,
        TypeError,
        ValueError,
        AttributeError,
        IndexError,
    ) as e:  # a bug, not user data
        file = args[0].name if isinstance(args[0], Parsed | Source) else "input"
        problem = Problem(
            file,
            "internal_error",
            f"a file the {name} importer can read",
            f"{type(e).__name__}: {e} (please report this with the file)",
        )
        raise ImportFailed([problem]) from e


def read_path(
    path: str | Path,
    *,
    format: str | None = None,
    field: str | None = None,
    limits: Limits | None = None,
) -> ImportResult:
    """Read a file from disk; see :func:`read_source`."""
    return read_source(Source.from_path(path), format=format, field=field, limits=limits)


def read_gold(source: Source, *, limits: Limits | None = None) -> pd.DataFrame:
    """Gold labels from a table: columns ``item_id, gold_label`` (aliases accepted).

    CSV, TSV, Parquet or JSON Lines. Returns one row per item with a gold
    label. Two different gold labels for one item are an error.

    >>> read_gold(Source("gold.csv", b"task,label\\nt1,yes\\nt2,no\\n")).to_dict("list")
    {'item_id': ['t1', 't2'], 'gold_label': ['yes', 'no']}
    """
    with _bulk():
        return _guarded("gold", sidecar.read_gold, _parse_within(source, _limits(limits)))


def read_predictions(source: Source, *, limits: Limits | None = None) -> pd.DataFrame:
    """Model predictions from a table: ``item_id, predicted_label[, model, confidence]``.

    Aliases accepted (``label`` for the prediction, ``score`` for the
    confidence, ``model_version`` for the model). Returns the canonical
    prediction columns.
    """
    with _bulk():
        return _guarded(
            "predictions", sidecar.read_predictions, _parse_within(source, _limits(limits))
        )


def _limits(limits: Limits | None) -> Limits:
    return limits or load_settings().limits
