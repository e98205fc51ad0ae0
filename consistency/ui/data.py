"""The Data page's work: import an uploaded export, attach gold or predictions.

Each function takes the store and the uploaded bytes and returns an
:class:`Outcome` (never raises a :class:`consistency.errors.ConsistencyError`):
the import report, or the problems as a table and nothing written. The page
only renders the outcome, so everything here is tested without a browser.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from consistency.errors import ConsistencyError, ImportFailed, Problem
from consistency.io import Source, read_gold, read_predictions, read_source
from consistency.settings import READ_ONLY_MESSAGE, Limits
from consistency.store import ImportReport, Store

#: Columns of the problems table, in order.
PROBLEM_COLUMNS: tuple[str, ...] = (
    "file",
    "line",
    "path",
    "field",
    "code",
    "expected",
    "found",
    "message",
)

#: Upload size limit (MB) when ``CONSISTENCY_MAX_UPLOAD_MB`` is not set.
DEFAULT_MAX_UPLOAD_MB = 200

#: The kinds of file that can be attached to a dataset.
ATTACH_KINDS: tuple[str, ...] = ("gold", "predictions")

#: What the Data page shows instead of its upload widgets when the dashboard is read-only.
READ_ONLY_NOTE = "This dashboard is read-only: files cannot be imported or attached here."


def max_upload_mb(default: int = DEFAULT_MAX_UPLOAD_MB) -> int:
    """The upload size limit in MB: ``CONSISTENCY_MAX_UPLOAD_MB`` when set, else ``default``.

    The dashboard passes Streamlit's ``server.maxUploadSize`` (set in
    ``.streamlit/config.toml``) as the default, so either setting works; the
    environment variable wins. An unusable value falls back to the default.
    """
    raw = os.environ.get("CONSISTENCY_MAX_UPLOAD_MB", "")
    try:
        value = int(raw)
    except ValueError:
        return default
    return value if value > 0 else default


@dataclass
class Outcome:
    """What an upload did.

    Attributes:
        ok: True when the file was imported (or was already imported).
        message: one line for the user (the summary's first line, or the error).
        report: the import report when ``ok``.
        problems: the problems table when the import failed (PROBLEM_COLUMNS).
        warnings: kept-but-suspicious findings as a table (PROBLEM_COLUMNS).
    """

    ok: bool
    message: str
    report: ImportReport | None = None
    problems: pd.DataFrame = field(default_factory=lambda: problems_frame([]))
    warnings: pd.DataFrame = field(default_factory=lambda: problems_frame([]))

    @property
    def dataset(self) -> str | None:
        """The dataset the file went into (None when the import failed)."""
        return self.report.dataset if self.report else None


def problems_frame(problems: list[Problem]) -> pd.DataFrame:
    """Problems as a table with the columns PROBLEM_COLUMNS, one row per problem."""
    rows = [p.to_dict() for p in problems]
    return pd.DataFrame(rows, columns=list(PROBLEM_COLUMNS)).astype(
        {"line": "Int64"}, errors="ignore"
    )


def _guarded(
    store: Store, name: str, data: bytes, limit_mb: int | None, work: Callable[[], ImportReport]
) -> Outcome:
    """Run ``work`` unless the store is read-only or the file too large; errors become an Outcome."""
    if store.read_only:
        return Outcome(False, READ_ONLY_MESSAGE)
    limit = limit_mb if limit_mb is not None else max_upload_mb()
    try:
        Limits(max_bytes=limit * 1_000_000).check_size(name, len(data))
        report = work()
    except ImportFailed as exc:
        head = str(exc).split("\n", 1)[0].rstrip(":")
        return Outcome(False, head, problems=problems_frame(exc.problems))
    except ConsistencyError as exc:
        return Outcome(False, str(exc))
    return Outcome(
        True,
        report.summary().split("\n", 1)[0],
        report=report,
        warnings=problems_frame(list(report.warnings)),
    )


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def import_upload(
    store: Store,
    name: str,
    data: bytes,
    *,
    dataset: str | None = None,
    round: str | None = None,
    field: str | None = None,
    format: str | None = None,
    limit_mb: int | None = None,
) -> Outcome:
    """Import one uploaded export into a dataset (created when new).

    Args:
        store: the store to write to.
        name: the file name as uploaded.
        data: the file's bytes.
        dataset: the dataset name; blank means the file name's stem.
        round: the labeling round of every annotation; blank keeps the file's own.
        field: the label field (Label Studio ``from_name``, Toloka ``OUTPUT:`` column).
        format: a name of ``consistency.io.FORMATS``; blank means detect.
        limit_mb: size limit; default :func:`max_upload_mb`.

    Returns:
        The outcome; on failure (and always in read-only mode) nothing was written.
    """

    def work() -> ImportReport:
        result = read_source(Source(name, data), format=_clean(format), field=_clean(field))
        return store.import_result(
            result, file_name=name, data=data, dataset=_clean(dataset), round=_clean(round)
        )

    return _guarded(store, name, data, limit_mb, work)


def attach_upload(
    store: Store,
    dataset: str,
    kind: str,
    name: str,
    data: bytes,
    *,
    limit_mb: int | None = None,
) -> Outcome:
    """Attach an uploaded gold-label or predictions file to an existing dataset.

    Args:
        store: the store to write to.
        dataset: the dataset id.
        kind: "gold" (item_id, gold_label) or "predictions" (item_id,
            predicted_label, optional model and confidence).
        name: the file name as uploaded.
        data: the file's bytes.
        limit_mb: size limit; default :func:`max_upload_mb`.
    """

    def work() -> ImportReport:
        source = Source(name, data)
        if kind == "gold":
            frame = read_gold(source)
        elif kind == "predictions":
            frame = read_predictions(source)
        else:
            raise ConsistencyError(
                f"cannot attach '{kind}'; expected one of: {', '.join(ATTACH_KINDS)}"
            )
        return store.attach(
            dataset, kind, frame, file_name=name, data=data, format=_format_of(name)
        )

    return _guarded(store, name, data, limit_mb, work)


def _format_of(name: str) -> str:
    """The format recorded for an attached file: its extension, or "file"."""
    suffix = os.path.splitext(name)[1].lower().lstrip(".")
    return suffix or "file"
