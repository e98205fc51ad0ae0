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

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pandas as pd

from consistency.errors import ImportFailed, InvalidArgument, Problem, UnknownFormat
from consistency.io import labelstudio, prodigy, sidecar, tables, toloka
from consistency.io._parse import Parsed, Source, parse
from consistency.schema import ImportResult

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
    source: Source, *, format: str | None = None, field: str | None = None
) -> ImportResult:
    """Read one file into the canonical tables.

    Args:
        source: the file's name and bytes.
        format: one of :data:`FORMATS`, or None to detect it from the content.
        field: the label to read when a file holds several (a Label Studio
            ``from_name`` or column, a Toloka ``OUTPUT:`` field).

    Returns:
        The annotations, items and predictions, with warnings and counts.

    Raises:
        InvalidArgument: ``format`` is not a known format name, or ``field``
            was given for a format with a single label.
        UnknownFormat: no format fits; its problems say why each did not.
        ImportFailed: the file has errors; it carries all of them, and
            nothing is returned.
    """
    if format is not None and format not in _BY_NAME:
        raise InvalidArgument(f"unknown format '{format}'; formats: {', '.join(FORMATS)}")
    with _bulk():
        parsed = parse(source)
        if format is not None:
            return _guarded(_BY_NAME[format].name, _BY_NAME[format].read, parsed, field)
        reasons = []
        for imp in DETECTION_ORDER:
            why = imp.sniff(parsed)
            if why is None:
                return _guarded(imp.name, imp.read, parsed, field)
            reasons.append(Problem(source.name, "unknown_format", f"{imp.name}: {imp.needs}", why))
    summary = (
        f"{source.name} is {parsed.describe()}, in none of the known formats; "
        f"choose one with --format if it is close to one (tried {', '.join(i.name for i in DETECTION_ORDER)})"
    )
    raise UnknownFormat(reasons, summary=summary)


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
        file = args[0].name if isinstance(args[0], Parsed) else "input"
        problem = Problem(
            file,
            "internal_error",
            f"a file the {name} importer can read",
            f"{type(e).__name__}: {e} (please report this with the file)",
        )
        raise ImportFailed([problem]) from e


def read_path(
    path: str | Path, *, format: str | None = None, field: str | None = None
) -> ImportResult:
    """Read a file from disk; see :func:`read_source`."""
    return read_source(Source.from_path(path), format=format, field=field)


def read_gold(source: Source) -> pd.DataFrame:
    """Gold labels from a table: columns ``item_id, gold_label`` (aliases accepted).

    CSV, TSV, Parquet or JSON Lines. Returns one row per item with a gold
    label. Two different gold labels for one item are an error.

    >>> read_gold(Source("gold.csv", b"task,label\\nt1,yes\\nt2,no\\n")).to_dict("list")
    {'item_id': ['t1', 't2'], 'gold_label': ['yes', 'no']}
    """
    with _bulk():
        return _guarded("gold", sidecar.read_gold, parse(source))


def read_predictions(source: Source) -> pd.DataFrame:
    """Model predictions from a table: ``item_id, predicted_label[, model, confidence]``.

    Aliases accepted (``label`` for the prediction, ``score`` for the
    confidence, ``model_version`` for the model). Returns the canonical
    prediction columns.
    """
    with _bulk():
        return _guarded("predictions", sidecar.read_predictions, parse(source))
