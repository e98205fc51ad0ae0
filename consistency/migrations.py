"""Schema versions of the store, and the steps that bring an older store up to date.

A store records its schema version in the one-row table ``schema_version``
(present since version 1). Opening a store for writing runs :func:`prepare`:

* a new (empty) file gets the current tables (the ``ddl`` the store passes)
  and is stamped :data:`LATEST`;
* an older store runs each pending step of :data:`MIGRATIONS` in order, all
  in one transaction: a store is upgraded whole or left as it was (a crash or
  an error half way changes nothing);
* a store written by a newer version of `consistency` is refused with a
  message that says so, before anything is changed.

Every step applied is recorded in ``schema_history`` (version, description,
time, the `consistency` version that applied it). A store opened read-only is
never changed: it must already be at :data:`LATEST`, else the message says
how to upgrade it.

Adding a schema change is one function and one entry in :data:`MIGRATIONS`,
plus the same change in the store's DDL for new stores; ``tests/test_migrations.py``
checks that an upgraded store has exactly the tables and columns of a new one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb

from consistency import __version__
from consistency.errors import ConsistencyError

#: The first schema version; stores of version 1 have no ``schema_history``.
BASELINE = 1


@dataclass(frozen=True)
class Migration:
    """One step from version ``version - 1`` to ``version``.

    Attributes:
        version: the schema version the step brings the store to.
        description: what changes, in words (kept in ``schema_history``).
        apply: runs the step's statements on a cursor inside the upgrade's
            transaction; it must not commit.
    """

    version: int
    description: str
    apply: Callable[[Any], None]


def _add_schema_history(cur: Any) -> None:
    cur.execute(
        "CREATE TABLE IF NOT EXISTS schema_history ("
        "version INTEGER NOT NULL, description TEXT NOT NULL, "
        "applied_at TIMESTAMPTZ NOT NULL, applied_by TEXT NOT NULL)"
    )


#: The steps, in order; each entry's ``version`` is one more than the previous one.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(2, "record every schema change in schema_history", _add_schema_history),
)

#: The schema version this version of `consistency` writes.
LATEST: int = MIGRATIONS[-1].version if MIGRATIONS else BASELINE

_lock = threading.Lock()


def prepare(con: Any, ddl: str, *, path: str, read_only: bool = False) -> int:
    """Bring the store on ``con`` to :data:`LATEST` and return its version.

    Args:
        con: an open DuckDB connection to the store.
        ddl: the statements that create the current tables in a new store.
        path: the store's file, for messages.
        read_only: only check the version (a read-only store is never changed).

    Returns:
        The store's schema version (always :data:`LATEST` on success).

    Raises:
        ConsistencyError: the store was written by a newer version; or it is
            opened read-only and is empty or older than :data:`LATEST`; or
            the upgrade failed (then nothing was changed).
    """
    with _lock:
        cur = con.cursor()
        try:
            if read_only:
                return _check_read_only(cur, path)
            cur.execute("BEGIN TRANSACTION")
            try:
                version = _upgrade(cur, ddl, path)
                cur.execute("COMMIT")
            except BaseException as exc:
                cur.execute("ROLLBACK")
                if isinstance(exc, duckdb.Error):
                    raise ConsistencyError(
                        f"cannot bring store '{path}' to schema version {LATEST}: {exc}. "
                        "The store was not changed"
                    ) from None
                raise
            return version
        finally:
            cur.close()


def store_version(cur: Any) -> int | None:
    """The schema version of a store; ``None`` for a file without `consistency` tables."""
    tables = {
        r[0]
        for r in cur.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
        ).fetchall()
    }
    if "schema_version" in tables:
        rows = cur.execute("SELECT max(version) FROM schema_version").fetchall()
        if rows and rows[0][0] is not None:
            return int(rows[0][0])
    # a version-1 store stopped between creating its tables and stamping them
    return BASELINE if "datasets" in tables else None


def _upgrade(cur: Any, ddl: str, path: str) -> int:
    version = store_version(cur)
    if version is None:
        cur.execute(ddl)
        _stamp(cur, LATEST, f"new store at schema version {LATEST}")
        return LATEST
    _refuse_newer(version, path)
    for step in MIGRATIONS:
        if step.version > version:
            step.apply(cur)
            _stamp(cur, step.version, step.description)
    return LATEST


def _stamp(cur: Any, version: int, description: str) -> None:
    cur.execute("DELETE FROM schema_version")
    cur.execute("INSERT INTO schema_version VALUES (?)", [version])
    cur.execute(
        "INSERT INTO schema_history VALUES (?, ?, ?, ?)",
        [version, description, datetime.now(UTC), f"consistency {__version__}"],
    )


def _check_read_only(cur: Any, path: str) -> int:
    version = store_version(cur)
    if version is None:
        raise ConsistencyError(
            f"store '{path}' holds no datasets yet and is open read-only; "
            "import a file into it first (without read-only mode)"
        )
    _refuse_newer(version, path)
    if version < LATEST:
        raise ConsistencyError(
            f"store '{path}' has schema version {version} and this version of consistency "
            f"needs {LATEST}; it cannot be upgraded while open read-only. Open it once "
            f"without read-only mode (for example `consistency datasets --db {path}`) "
            "to upgrade it"
        )
    return version


def _refuse_newer(version: int, path: str) -> None:
    if version > LATEST:
        raise ConsistencyError(
            f"store '{path}' was written by a newer version of consistency (schema version "
            f"{version}); consistency {__version__} reads schema versions up to {LATEST}. "
            "Upgrade consistency to open it; the store was not changed"
        )
