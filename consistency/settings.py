"""Deployment settings: read-only mode, upload limits and the data folder.

Every setting can be passed as a function argument and otherwise comes from an
environment variable, so a shared dashboard is configured once where it is
started:

=============================  ==========================================  ===========
Variable                       Meaning                                     Default
=============================  ==========================================  ===========
``CONSISTENCY_READ_ONLY``      ``1``/``true``/``yes``: refuse uploads and  off
                               changes; the store is opened read-only
                               (also ``--read-only`` after ``--``)
``CONSISTENCY_MAX_UPLOAD_MB``  largest file accepted, in megabytes         200
``CONSISTENCY_MAX_ROWS``       most records (rows) in one file             5,000,000
``CONSISTENCY_MAX_COLUMNS``    most columns (fields) in one file           1,000
``CONSISTENCY_DATA_DIR``       the folder item files (images, texts) are   none: no
                               served from; nothing outside it is read     file is read
=============================  ==========================================  ===========

>>> s = load_settings(env={"CONSISTENCY_READ_ONLY": "yes", "CONSISTENCY_MAX_ROWS": "10"})
>>> s.read_only, s.limits.max_rows
(True, 10)
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from consistency.errors import ImportFailed, InvalidArgument, Problem

ENV_READ_ONLY = "CONSISTENCY_READ_ONLY"
ENV_MAX_UPLOAD_MB = "CONSISTENCY_MAX_UPLOAD_MB"
ENV_MAX_ROWS = "CONSISTENCY_MAX_ROWS"
ENV_MAX_COLUMNS = "CONSISTENCY_MAX_COLUMNS"
ENV_DATA_DIR = "CONSISTENCY_DATA_DIR"

_MB = 1_000_000  # megabytes as Streamlit counts them (server.maxUploadSize)
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")

#: The message shown wherever a change is refused in read-only mode.
READ_ONLY_MESSAGE = (
    "This dashboard is read-only: viewing and sharing links work; uploads and changes are refused."
)
#: The command-line flag of read-only mode (``streamlit run app.py -- --read-only``).
READ_ONLY_FLAG = "--read-only"


@dataclass(frozen=True)
class Limits:
    """The largest upload accepted: bytes, records (rows) and columns.

    Attributes:
        max_bytes: largest file size in bytes.
        max_rows: most records in one file (table rows, JSON array elements,
            JSON Lines lines, or annotations read from them).
        max_columns: most columns in a table header, or distinct fields in
            JSON records.
    """

    max_bytes: int = 200 * _MB
    max_rows: int = 5_000_000
    max_columns: int = 1_000

    def check_size(self, file_name: str, n_bytes: int) -> None:
        """Raise :class:`ImportFailed` (code ``file_too_large``) when a file is too big.

        The message is the one the dashboard shows for an upload over
        Streamlit's own limit, so both read alike.

        >>> Limits(max_bytes=1_000_000).check_size("big.csv", 1_500_000)
        Traceback (most recent call last):
        ...
        consistency.errors.ImportFailed: big.csv is over the upload limit; nothing was imported:
          - big.csv: expected a file of at most 1 MB (set CONSISTENCY_MAX_UPLOAD_MB to change it); found 1.5 MB
        """
        if n_bytes > self.max_bytes:
            _over(
                file_name,
                "file_too_large",
                f"a file of at most {self.max_bytes / _MB:g} MB "
                f"(set {ENV_MAX_UPLOAD_MB} to change it)",
                f"{n_bytes / _MB:.1f} MB",
            )

    def check_rows(self, file_name: str, n_rows: int, unit: str = "rows") -> None:
        """Raise :class:`ImportFailed` (code ``too_many_rows``) over the row limit.

        ``unit`` names what was counted: records of the file (``rows``) or
        the annotations read from them (``annotations``).
        """
        if n_rows > self.max_rows:
            _over(
                file_name,
                "too_many_rows",
                f"at most {self.max_rows:,} {unit} (set {ENV_MAX_ROWS} to change it)",
                f"{n_rows:,} {unit}",
            )

    def check_columns(self, file_name: str, n_columns: int) -> None:
        """Raise :class:`ImportFailed` (code ``too_many_columns``) over the column limit."""
        if n_columns > self.max_columns:
            _over(
                file_name,
                "too_many_columns",
                f"at most {self.max_columns:,} columns (set {ENV_MAX_COLUMNS} to change it)",
                f"{n_columns:,} columns",
            )


@dataclass(frozen=True)
class Settings:
    """How this installation behaves.

    Attributes:
        read_only: refuse imports, attachments and any change; open the store
            read-only.
        limits: the upload limits.
        data_dir: the only folder item files are read from (``None``: none).
    """

    read_only: bool = False
    limits: Limits = field(default_factory=Limits)
    data_dir: Path | None = None


def load_settings(
    env: Mapping[str, str] | None = None,
    *,
    argv: Sequence[str] = (),
    read_only: bool | None = None,
    max_upload_mb: float | None = None,
    max_rows: int | None = None,
    max_columns: int | None = None,
    data_dir: str | Path | None = None,
) -> Settings:
    """The settings from arguments, else environment variables, else defaults.

    Args:
        env: the environment to read (default ``os.environ``).
        argv: command-line arguments; ``--read-only`` among them turns
            read-only mode on (the dashboard passes the arguments given after
            ``--`` to ``streamlit run app.py``).
        read_only: overrides ``CONSISTENCY_READ_ONLY`` and ``argv`` when not None.
        max_upload_mb: overrides ``CONSISTENCY_MAX_UPLOAD_MB``.
        max_rows: overrides ``CONSISTENCY_MAX_ROWS``.
        max_columns: overrides ``CONSISTENCY_MAX_COLUMNS``.
        data_dir: overrides ``CONSISTENCY_DATA_DIR``.

    Raises:
        InvalidArgument: a variable or argument is not a usable value; the
            message names it and shows what was found.

    >>> load_settings(env={}, max_upload_mb=1).limits.max_bytes
    1000000
    >>> load_settings(env={"CONSISTENCY_MAX_ROWS": "many"})
    Traceback (most recent call last):
    ...
    consistency.errors.InvalidArgument: CONSISTENCY_MAX_ROWS must be a positive whole number; found 'many'
    """
    env = os.environ if env is None else env
    base = Limits()
    mb = (
        max_upload_mb
        if max_upload_mb is not None
        else _number(env, ENV_MAX_UPLOAD_MB, base.max_bytes / _MB, float)
    )
    rows = max_rows if max_rows is not None else _number(env, ENV_MAX_ROWS, base.max_rows, int)
    cols = (
        max_columns
        if max_columns is not None
        else _number(env, ENV_MAX_COLUMNS, base.max_columns, int)
    )
    for name, value in (
        ("max_upload_mb", mb),
        ("max_rows", rows),
        ("max_columns", cols),
    ):
        if not value > 0:
            raise InvalidArgument(f"{name} must be positive; found {value!r}")
    folder = data_dir if data_dir is not None else (env.get(ENV_DATA_DIR) or None)
    return Settings(
        read_only=read_only
        if read_only is not None
        else READ_ONLY_FLAG in argv or _flag(env, ENV_READ_ONLY),
        limits=replace(base, max_bytes=int(mb * _MB), max_rows=int(rows), max_columns=int(cols)),
        data_dir=Path(folder) if folder is not None else None,
    )


def resolve_data_ref(ref: object, data_dir: str | Path | None) -> Path | None:
    """The file an item's ``data_ref`` names, only when it lies under ``data_dir``.

    This is the one way the dashboard turns a data reference into a file to
    read. It never reads anything; it returns the absolute path of an existing
    regular file inside ``data_dir`` (after following symbolic links), or
    ``None`` for everything else:

    * no ``data_dir`` configured, or an empty or non-text reference;
    * a URL with a scheme (``http:``, ``s3:``, ``file:``, ``data:``...): not a
      local file (show it as a link, never fetch it on the server);
    * a path that leaves the folder (``../``, an absolute path elsewhere, a
      symbolic link pointing outside), or a missing file or a directory.

    Relative references are taken from ``data_dir``. A Label Studio local-files
    URL (``/data/local-files/?d=images/a.png``) is taken as its ``d`` path.

    Args:
        ref: the item's data reference (any value; only text is considered).
        data_dir: the configured data folder (see ``CONSISTENCY_DATA_DIR``).

    Returns:
        The resolved path, or ``None`` when the reference must not be read.

    >>> resolve_data_ref("../../etc/passwd", ".") is None
    True
    >>> resolve_data_ref("https://example.com/a.png", ".") is None
    True
    """
    if data_dir is None or not isinstance(ref, str):
        return None
    text = ref.strip()
    if not text or "\x00" in text or len(text) > 4096:
        return None
    text = _local_files_path(text)
    if text is None:
        return None
    try:
        root = Path(data_dir).resolve(strict=True)
        if not root.is_dir():
            return None
        candidate = Path(text)
        if not candidate.is_absolute():
            candidate = root / posixpath.normpath(text.replace("\\", "/")).lstrip("/")
        target = candidate.resolve(strict=True)
    except (OSError, RuntimeError, ValueError):
        return None
    if not target.is_relative_to(root) or not target.is_file():
        return None
    return target


def _local_files_path(text: str) -> str | None:
    """The path a reference names, unwrapping Label Studio local-files URLs; ``None`` for URLs."""
    parts = urlsplit(text)
    if parts.path.rstrip("/").endswith("/data/local-files") and not parts.scheme:
        values = parse_qs(parts.query).get("d")
        return unquote(values[0]) if values else None
    if parts.scheme and not _is_drive(text):
        return None
    if text.startswith("//"):
        return None  # a network path (//host/share)
    return text


def _is_drive(text: str) -> bool:
    """``C:\\...`` looks like a URL scheme to urlsplit; it is a (Windows) path."""
    return len(text) > 1 and text[1] == ":" and text[0].isalpha()


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise InvalidArgument(f"{name} must be one of {', '.join(_TRUE + _FALSE[:-1])}; found {raw!r}")


def _number(env: Mapping[str, str], name: str, default: float, kind: type) -> float:
    raw = env.get(name, "").strip().replace("_", "").replace(",", "")
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        value = None
    if value is None or not value > 0 or value != value:
        what = "a positive number" if kind is float else "a positive whole number"
        raise InvalidArgument(f"{name} must be {what}; found {env[name]!r}")
    return value


def _over(file_name: str, code: str, expected: str, found: str) -> None:
    raise ImportFailed(
        [Problem(file_name, code, expected, found)],
        summary=f"{file_name} is over the upload limit; nothing was imported",
    )
