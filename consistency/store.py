"""The annotation store: one DuckDB file holding datasets, their provenance and lineage.

Tables (all keyed by ``dataset``):

* ``datasets``: id (URL slug), name, created_at.
* ``imports``: provenance of every imported file: original name, sha256, size,
  detected format, importer version, rows read / kept / rejected, counters,
  round, kind (annotations, gold, predictions), import time.
* ``lineage``: the ordered steps applied to a dataset.
* ``annotations``: the canonical long table (see :mod:`consistency.schema`)
  plus source file and import id.
* ``items``: item_id, gold_label, is_control, data_ref.
* ``item_metadata``: one row per item and metadata field (value as text, and as
  a number where it is one); ``metadata_fields`` gives each field's type.
* ``predictions``: item_id, model, predicted_label, confidence.

Every import runs in one transaction: it lands whole or not at all.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from consistency import __version__, migrations
from consistency.errors import (
    ConsistencyError,
    DatasetNotFound,
    ImportFailed,
    InvalidArgument,
    Problem,
    StoreBusy,
)
from consistency.schema import ImportResult

#: The schema version new stores get; older stores are upgraded on open
#: (see :mod:`consistency.migrations`).
SCHEMA_VERSION = migrations.LATEST
DEFAULT_DB = "consistency.duckdb"

_DDL = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS schema_history (
    version INTEGER NOT NULL, description TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL, applied_by TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS datasets (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS imports (
    import_id INTEGER NOT NULL, dataset TEXT NOT NULL, kind TEXT NOT NULL,
    file_name TEXT NOT NULL, sha256 TEXT NOT NULL, size_bytes BIGINT NOT NULL,
    format TEXT NOT NULL, importer_version TEXT NOT NULL,
    rows_read BIGINT, rows_kept BIGINT, rows_rejected BIGINT,
    round TEXT, stats TEXT, imported_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS lineage (
    dataset TEXT NOT NULL, step INTEGER NOT NULL, action TEXT NOT NULL,
    detail TEXT NOT NULL, import_id INTEGER, at_time TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS annotations (
    dataset TEXT NOT NULL, item_id TEXT NOT NULL, labeler_id TEXT NOT NULL,
    label TEXT NOT NULL, label_value DOUBLE, round TEXT,
    started_at TIMESTAMPTZ, submitted_at TIMESTAMPTZ, duration_s DOUBLE,
    source_file TEXT, source_line BIGINT, attributes TEXT, import_id INTEGER
);
CREATE TABLE IF NOT EXISTS items (
    dataset TEXT NOT NULL, item_id TEXT NOT NULL, gold_label TEXT,
    is_control BOOLEAN NOT NULL DEFAULT FALSE, data_ref TEXT
);
CREATE TABLE IF NOT EXISTS item_metadata (
    dataset TEXT NOT NULL, item_id TEXT NOT NULL, field TEXT NOT NULL,
    value TEXT, value_num DOUBLE
);
CREATE TABLE IF NOT EXISTS metadata_fields (
    dataset TEXT NOT NULL, field TEXT NOT NULL, dtype TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS predictions (
    dataset TEXT NOT NULL, item_id TEXT NOT NULL, model TEXT NOT NULL,
    predicted_label TEXT NOT NULL, confidence DOUBLE, import_id INTEGER
);
"""

_ANN_COLS = (
    "dataset",
    "item_id",
    "labeler_id",
    "label",
    "label_value",
    "round",
    "started_at",
    "submitted_at",
    "duration_s",
    "source_file",
    "source_line",
    "attributes",
    "import_id",
)


def default_db_path() -> str:
    """``CONSISTENCY_DB`` when set, else ``./consistency.duckdb``."""
    return os.environ.get("CONSISTENCY_DB") or DEFAULT_DB


def slugify(name: str) -> str:
    """A dataset id usable in a URL: lowercase letters, digits and dashes.

    >>> slugify("Phone screens: Round 2!")
    'phone-screens-round-2'
    """
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug[:60] or "dataset"


def round_sort_key(value: str) -> tuple[int, float, str]:
    """Rounds sort by number when they are numbers, else by name."""
    try:
        return (0, float(value), value)
    except (TypeError, ValueError):
        return (1, 0.0, str(value))


@dataclass
class ImportReport:
    """What an import did: the dataset, counts, warnings, and whether it was a no-op."""

    dataset: str
    file_name: str
    format: str
    rows_kept: int = 0
    items_added: int = 0
    noop: bool = False
    import_id: int | None = None
    round: str | None = None
    stats: dict[str, Any] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One readable paragraph for the CLI and the dashboard."""
        if self.noop:
            return (
                f"{self.file_name}: already imported into dataset '{self.dataset}' "
                "(same sha256); nothing to do"
            )
        head = (
            f"{self.file_name}: imported {self.rows_kept} rows ({self.format}) into dataset "
            f"'{self.dataset}'" + (f", round {self.round}" if self.round else "")
        )
        extra = [
            f"{k.replace('_', ' ')}: {v}"
            for k, v in self.stats.items()
            if k not in ("rows_read", "rows_kept", "rows_rejected") and v
        ]
        lines = [head + "."] + ([", ".join(extra)] if extra else [])
        lines += [f"warning: {w.message}" for w in self.warnings[:20]]
        if len(self.warnings) > 20:
            lines.append(f"... and {len(self.warnings) - 20} more warnings")
        lines += self.notes
        return "\n".join(lines)


@dataclass(frozen=True)
class ViewFilter:
    """Which annotations a view looks at. Values are data, never SQL text.

    Attributes:
        rounds: rounds to keep; ``None`` means each item's latest round.
            The special value ``("*",)`` keeps every round pooled.
        labelers: labeler ids to keep (``None``: all).
        metadata: metadata field -> values to keep (items whose value is in the list).
        time_from / time_to: keep annotations submitted in [time_from, time_to).
    """

    rounds: tuple[str, ...] | None = None
    labelers: tuple[str, ...] | None = None
    metadata: tuple[tuple[str, tuple[str, ...]], ...] = ()
    time_from: datetime | None = None
    time_to: datetime | None = None

    def describe(self) -> str:
        """The filter in words, e.g. ``round 2, camera = cam_C``."""
        parts = []
        if self.rounds is None:
            parts.append("each item's latest round")
        elif self.rounds == ("*",):
            parts.append("all rounds pooled")
        else:
            parts.append(
                ("round " if len(self.rounds) == 1 else "rounds ") + ", ".join(self.rounds)
            )
        for f, vals in self.metadata:
            parts.append(f"{f} = {' or '.join(vals)}")
        if self.labelers:
            parts.append("labelers " + ", ".join(self.labelers))
        if self.time_from:
            parts.append(f"from {self.time_from:%Y-%m-%d %H:%M}")
        if self.time_to:
            parts.append(f"before {self.time_to:%Y-%m-%d %H:%M}")
        return ", ".join(parts)


def filter_view(
    t: ir.Table,
    view: ViewFilter,
    rounds: Callable[[], list[str]],
    metadata: ir.Table,
) -> ir.Table:
    """One dataset's annotations ``t`` filtered by ``view``, in the engine.

    ``rounds`` gives the dataset's rounds in order (called only for the
    default view, each item's latest round); ``metadata`` is the dataset's
    ``item_metadata`` (item_id, field, value). Shared by :class:`Store` and by
    stores over other tables (see :mod:`consistency.spark`).
    """
    if view.rounds is None:
        names = rounds()
        if len(names) > 1:
            # a CASE rather than a join with an in-memory table: Spark can cache the result
            t = t.mutate(r_rank=t["round"].cases(*[(name, i) for i, name in enumerate(names)]))
            latest = t.group_by("item_id").agg(latest_rank=t.r_rank.max())
            t = t.join(latest, ["item_id"])
            t = t.filter(t.r_rank == t.latest_rank).drop("r_rank", "latest_rank")
    elif view.rounds != ("*",):
        t = t.filter(t["round"].isin(list(view.rounds)))
    if view.labelers:
        t = t.filter(t.labeler_id.isin(list(view.labelers)))
    if view.time_from is not None:
        t = t.filter(t.submitted_at >= view.time_from)
    if view.time_to is not None:
        t = t.filter(t.submitted_at < view.time_to)
    for field_name, values in view.metadata:
        m = metadata.filter((metadata.field == field_name) & metadata.value.isin(list(values)))
        ids = m.select(mid=m.item_id)
        t = t.semi_join(ids, t.item_id == ids.mid)
    return t


class Store:
    """A DuckDB file with the canonical tables.

    One connection per process; each thread queries through its own cursor
    (:meth:`backend`), as DuckDB requires for concurrent use.
    """

    def __init__(self, path: str | Path | None = None, read_only: bool = False) -> None:
        self.path = str(path) if path is not None else default_db_path()
        self.read_only = read_only
        try:
            if read_only and self.path != ":memory:" and not Path(self.path).exists():
                raise ConsistencyError(f"store '{self.path}' does not exist")
            self.con = duckdb.connect(self.path, read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise StoreBusy(_busy_message(self.path, str(exc))) from None
            raise ConsistencyError(f"cannot open store '{self.path}': {exc}") from None
        except duckdb.ConnectionException:
            mode = "read-only" if read_only else "for writing"
            raise StoreBusy(
                f"store '{self.path}' is already open in this process in another mode; "
                f"it cannot also be opened {mode}. Use the store already open"
            ) from None
        self._local = threading.local()
        self._write_lock = threading.Lock()
        try:
            self.schema_version = migrations.prepare(
                self.con, _DDL, path=self.path, read_only=read_only
            )
        except BaseException:
            self.con.close()
            raise

    # ---- low-level helpers -------------------------------------------------
    def _fetch(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        cur = self.con.cursor()
        try:
            return cur.execute(sql, params or []).fetchall()
        finally:
            cur.close()

    def _df(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        cur = self.con.cursor()
        try:
            return cur.execute(sql, params or []).df()
        finally:
            cur.close()

    def backend(self) -> Any:
        """An Ibis DuckDB backend on this thread's own cursor."""
        be = getattr(self._local, "backend", None)
        if be is None:
            be = ibis.duckdb.from_connection(self.con.cursor())
            self._local.backend = be
        return be

    def close(self) -> None:
        """Close the connection."""
        self.con.close()

    # ---- datasets ----------------------------------------------------------
    def dataset_ids(self) -> list[str]:
        """Dataset ids, oldest first."""
        return [r[0] for r in self._fetch("SELECT id FROM datasets ORDER BY created_at, id")]

    def require(self, dataset: str) -> str:
        """Return ``dataset`` if it exists, else raise DatasetNotFound listing the others."""
        if not self._fetch("SELECT 1 FROM datasets WHERE id = ?", [dataset]):
            raise DatasetNotFound(dataset, self.dataset_ids())
        return dataset

    def datasets(self) -> pd.DataFrame:
        """One row per dataset: id, name, created_at, files, annotations, items, labelers."""
        return self._df(
            """
            SELECT d.id, d.name, d.created_at,
                   (SELECT count(*) FROM imports i WHERE i.dataset = d.id) AS files,
                   (SELECT count(*) FROM annotations a WHERE a.dataset = d.id) AS annotations,
                   (SELECT count(*) FROM items t WHERE t.dataset = d.id) AS items,
                   (SELECT count(DISTINCT labeler_id) FROM annotations a WHERE a.dataset = d.id)
                       AS labelers
            FROM datasets d ORDER BY d.created_at, d.id
            """
        )

    def provenance(self, dataset: str) -> pd.DataFrame:
        """Every file imported into a dataset, in order, with hashes and counts."""
        self.require(dataset)
        return self._df(
            "SELECT import_id, kind, file_name, sha256, size_bytes, format, importer_version, "
            "rows_read, rows_kept, rows_rejected, round, stats, imported_at "
            "FROM imports WHERE dataset = ? ORDER BY import_id",
            [dataset],
        )

    def lineage(self, dataset: str) -> pd.DataFrame:
        """The ordered steps applied to a dataset."""
        self.require(dataset)
        return self._df(
            "SELECT step, action, detail, import_id, at_time AS at FROM lineage WHERE dataset = ? ORDER BY step",
            [dataset],
        )

    def rounds(self, dataset: str) -> list[str]:
        """The dataset's labeling rounds, in order."""
        rows = self._fetch(
            "SELECT DISTINCT round FROM annotations WHERE dataset = ? AND round IS NOT NULL",
            [dataset],
        )
        return sorted((r[0] for r in rows), key=round_sort_key)

    def metadata_fields(self, dataset: str) -> pd.DataFrame:
        """Metadata fields of a dataset's items with their type and number of distinct values."""
        return self._df(
            "SELECT f.field, f.dtype, count(DISTINCT m.value) AS distinct_values "
            "FROM metadata_fields f LEFT JOIN item_metadata m "
            "ON m.dataset = f.dataset AND m.field = f.field "
            "WHERE f.dataset = ? GROUP BY f.field, f.dtype ORDER BY f.field",
            [dataset],
        )

    def metadata_values(self, dataset: str, field_name: str) -> list[str]:
        """The distinct values of one metadata field, sorted."""
        rows = self._fetch(
            "SELECT DISTINCT value FROM item_metadata WHERE dataset = ? AND field = ? "
            "AND value IS NOT NULL",
            [dataset, field_name],
        )
        return sorted((r[0] for r in rows), key=round_sort_key)

    # ---- imports -----------------------------------------------------------
    def _next_import_id(self) -> int:
        return int(self._fetch("SELECT coalesce(max(import_id), 0) + 1 FROM imports")[0][0])

    def _add_lineage(
        self, cur: Any, dataset: str, action: str, detail: str, import_id: int | None
    ) -> None:
        step = cur.execute(
            "SELECT coalesce(max(step), 0) + 1 FROM lineage WHERE dataset = ?", [dataset]
        ).fetchall()[0][0]
        cur.execute(
            "INSERT INTO lineage VALUES (?, ?, ?, ?, ?, ?)",
            [dataset, step, action, detail, import_id, _now()],
        )

    def import_result(
        self,
        result: ImportResult,
        *,
        file_name: str,
        data: bytes,
        dataset: str | None = None,
        round: str | None = None,
    ) -> ImportReport:
        """Write one importer result into a dataset, atomically.

        The dataset is created when it does not exist (its id is the slug of
        ``dataset`` or of the file name). Re-importing a file with the same
        sha256 into the same dataset is a no-op. ``round`` sets the labeling
        round of every annotation (else the file's round column, else "1").
        Items already in the dataset keep their metadata; their gold label is
        filled in when missing, and a different gold label is an error.
        """
        self._check_writable()
        ds = slugify(dataset or Path(file_name).stem)
        sha = hashlib.sha256(data).hexdigest()
        if self._already_imported(ds, sha, "annotations"):
            return ImportReport(ds, file_name, result.format, noop=True)
        ann = result.annotations.copy()
        if round is not None:
            ann["round"] = str(round)
        ann["round"] = ann["round"].fillna("1")
        items = result.items.copy()
        # every annotated item has an items row
        known = set(items["item_id"].astype(str))
        extra_ids = sorted(set(ann["item_id"].astype(str)) - known)
        if extra_ids:
            items = pd.concat(
                [items, pd.DataFrame({"item_id": extra_ids, "is_control": False})],
                ignore_index=True,
            )
        with self._write_lock:
            if self._already_imported(ds, sha, "annotations"):  # another session was first
                return ImportReport(ds, file_name, result.format, noop=True)
            self._check_gold_conflicts(ds, items, file_name)
            import_id = self._next_import_id()
            cur = self.con.cursor()
            try:
                cur.execute("BEGIN TRANSACTION")
                created = not cur.execute("SELECT 1 FROM datasets WHERE id = ?", [ds]).fetchall()
                if created:
                    cur.execute(
                        "INSERT INTO datasets VALUES (?, ?, ?)",
                        [ds, dataset or Path(file_name).stem, _now()],
                    )
                    self._add_lineage(cur, ds, "create", f"dataset '{ds}' created", None)
                ann.insert(0, "dataset", ds)
                ann["source_file"] = file_name
                ann["import_id"] = import_id
                _insert_df(cur, "annotations", ann[list(_ANN_COLS)])
                added = self._upsert_items(cur, ds, items)
                if len(result.predictions):
                    preds = result.predictions.copy()
                    preds.insert(0, "dataset", ds)
                    preds["import_id"] = import_id
                    _insert_df(cur, "predictions", preds)
                stats = {"rows_read": len(ann), "rows_kept": len(ann), "rows_rejected": 0}
                stats.update({k: _jsonable(v) for k, v in result.stats.items()})
                rounds = sorted(set(ann["round"].astype(str)), key=round_sort_key)
                cur.execute(
                    "INSERT INTO imports VALUES (?, ?, 'annotations', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        import_id,
                        ds,
                        file_name,
                        sha,
                        len(data),
                        result.format,
                        f"consistency {__version__}",
                        stats["rows_read"],
                        stats["rows_kept"],
                        stats["rows_rejected"],
                        ",".join(rounds),
                        json.dumps(stats),
                        _now(),
                    ],
                )
                self._add_lineage(
                    cur,
                    ds,
                    "import",
                    f"{file_name} ({result.format}, sha256 {sha[:12]}): {len(ann)} annotations, "
                    f"{added} new items, round {', '.join(rounds)}",
                    import_id,
                )
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            finally:
                cur.close()
        return ImportReport(
            ds,
            file_name,
            result.format,
            rows_kept=len(ann),
            items_added=added,
            import_id=import_id,
            round=", ".join(rounds),
            stats=stats,
            warnings=list(result.warnings),
            notes=list(result.notes),
        )

    def _already_imported(self, dataset: str, sha: str, kind: str) -> bool:
        """Whether a file with this sha256 was already imported into the dataset as ``kind``."""
        return bool(
            self._fetch(
                "SELECT 1 FROM imports WHERE dataset = ? AND sha256 = ? AND kind = ?",
                [dataset, sha, kind],
            )
        )

    def _check_writable(self) -> None:
        if self.read_only:
            raise ConsistencyError("the store is open read-only: imports and changes are refused")

    def _check_gold_conflicts(self, ds: str, items: pd.DataFrame, file_name: str) -> None:
        new = items.dropna(subset=["gold_label"])
        if not len(new):
            return
        old = self._df(
            "SELECT item_id, gold_label FROM items WHERE dataset = ? AND gold_label IS NOT NULL",
            [ds],
        )
        both = new.merge(old, on="item_id", suffixes=("", "_old"))
        bad = both[both["gold_label"].astype(str) != both["gold_label_old"].astype(str)]
        if len(bad):
            raise ImportFailed(
                [
                    Problem(
                        file=file_name,
                        code="gold_conflict",
                        field="gold_label",
                        expected=f"the gold label already stored for item '{r.item_id}' ('{r.gold_label_old}')",
                        found=f"'{r.gold_label}'",
                    )
                    for r in bad.itertuples()
                ]
            )

    def _upsert_items(self, cur: Any, ds: str, items: pd.DataFrame) -> int:
        existing = {
            r[0]
            for r in cur.execute("SELECT item_id FROM items WHERE dataset = ?", [ds]).fetchall()
        }
        items = items.drop_duplicates("item_id", keep="first")
        fresh = items[~items["item_id"].astype(str).isin(existing)]
        base = fresh[["item_id", "gold_label", "is_control", "data_ref"]].copy()
        base.insert(0, "dataset", ds)
        _insert_df(cur, "items", base)
        # gold for items that existed without it
        old = items[items["item_id"].astype(str).isin(existing) & items["gold_label"].notna()]
        for r in old.itertuples():
            cur.execute(
                "UPDATE items SET gold_label = ?, is_control = TRUE "
                "WHERE dataset = ? AND item_id = ? AND gold_label IS NULL",
                [str(r.gold_label), ds, str(r.item_id)],
            )
        meta_cols = [
            c for c in fresh.columns if c not in ("item_id", "gold_label", "is_control", "data_ref")
        ]
        known_fields = {
            r[0]
            for r in cur.execute(
                "SELECT field FROM metadata_fields WHERE dataset = ?", [ds]
            ).fetchall()
        }
        for col in meta_cols:
            values = fresh[col]
            if col not in known_fields:
                cur.execute(
                    "INSERT INTO metadata_fields VALUES (?, ?, ?)", [ds, col, _dtype_name(values)]
                )
            mask = values.notna()
            if not mask.any():
                continue
            meta = pd.DataFrame(
                {
                    "dataset": ds,
                    "item_id": fresh.loc[mask, "item_id"].astype(str),
                    "field": col,
                    "value": values[mask].map(_text),
                    "value_num": pd.to_numeric(values[mask], errors="coerce").astype(float)
                    if values.dtype != bool
                    else values[mask].astype(float),
                }
            )
            _insert_df(cur, "item_metadata", meta)
        return len(fresh)

    def attach(
        self,
        dataset: str,
        kind: str,
        frame: pd.DataFrame,
        *,
        file_name: str,
        data: bytes,
        format: str,
    ) -> ImportReport:
        """Attach gold labels (``kind='gold'``) or model predictions to an existing dataset.

        Gold: item_id, gold_label; items not in the dataset are an error (all
        listed). Predictions: the canonical prediction columns.
        """
        self._check_writable()
        self.require(dataset)
        if kind not in ("gold", "predictions"):
            raise InvalidArgument(f"unknown attachment '{kind}'; expected gold or predictions")
        sha = hashlib.sha256(data).hexdigest()
        if self._already_imported(dataset, sha, kind):
            return ImportReport(dataset, file_name, format, noop=True)
        known = {
            r[0] for r in self._fetch("SELECT item_id FROM items WHERE dataset = ?", [dataset])
        }
        ids = frame["item_id"].astype(str)
        unknown = sorted(set(ids) - known)
        if unknown:
            shown = ", ".join(f"'{x}'" for x in unknown[:10])
            more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
            raise ImportFailed(
                [
                    Problem(
                        file=file_name,
                        code="unknown_items",
                        field="item_id",
                        expected=f"item ids of dataset '{dataset}'",
                        found=f"{len(unknown)} unknown: {shown}{more}",
                    )
                ]
            )
        if kind == "gold":
            items = frame.rename(columns={}).assign(is_control=True)
            self._check_gold_conflicts(dataset, items, file_name)
        with self._write_lock:
            if self._already_imported(dataset, sha, kind):  # another session was first
                return ImportReport(dataset, file_name, format, noop=True)
            import_id = self._next_import_id()
            cur = self.con.cursor()
            try:
                cur.execute("BEGIN TRANSACTION")
                if kind == "gold":
                    for r in frame.itertuples():
                        cur.execute(
                            "UPDATE items SET gold_label = ?, is_control = TRUE "
                            "WHERE dataset = ? AND item_id = ?",
                            [str(r.gold_label), dataset, str(r.item_id)],
                        )
                else:
                    preds = frame.copy()
                    preds.insert(0, "dataset", dataset)
                    preds["import_id"] = import_id
                    _insert_df(
                        cur,
                        "predictions",
                        preds[
                            [
                                "dataset",
                                "item_id",
                                "model",
                                "predicted_label",
                                "confidence",
                                "import_id",
                            ]
                        ],
                    )
                stats = {"rows_read": len(frame), "rows_kept": len(frame), "rows_rejected": 0}
                cur.execute(
                    "INSERT INTO imports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)",
                    [
                        import_id,
                        dataset,
                        kind,
                        file_name,
                        sha,
                        len(data),
                        format,
                        f"consistency {__version__}",
                        len(frame),
                        len(frame),
                        0,
                        json.dumps(stats),
                        _now(),
                    ],
                )
                self._add_lineage(
                    cur,
                    dataset,
                    f"attach {kind}",
                    f"{file_name} (sha256 {sha[:12]}): {len(frame)} rows",
                    import_id,
                )
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            finally:
                cur.close()
        return ImportReport(
            dataset, file_name, format, rows_kept=len(frame), import_id=import_id, stats=stats
        )

    # ---- reading -----------------------------------------------------------
    def table(self, name: str) -> ir.Table:
        """An Ibis table of the store (this thread's cursor)."""
        return self.backend().table(name)

    def annotations(self, dataset: str, view: ViewFilter | None = None) -> ir.Table:
        """The dataset's annotations as an Ibis table, filtered by ``view``.

        By default each item is measured on its latest round (an item relabeled
        in round 2 is measured on its round-2 labels).
        """
        self.require(dataset)
        t = self.table("annotations")
        m = self.table("item_metadata")
        return filter_view(
            t.filter(t.dataset == dataset),
            view or ViewFilter(),
            lambda: self.rounds(dataset),
            m.filter(m.dataset == dataset),
        )

    def items(self, dataset: str) -> ir.Table:
        """The dataset's items (item_id, gold_label, is_control, data_ref)."""
        self.require(dataset)
        t = self.table("items")
        return t.filter(t.dataset == dataset).drop("dataset")

    def predictions(self, dataset: str, model: str | None = None) -> ir.Table:
        """The dataset's model predictions (one model when ``model`` is given)."""
        self.require(dataset)
        t = self.table("predictions")
        t = t.filter(t.dataset == dataset)
        if model is not None:
            t = t.filter(t.model == model)
        return t.drop("dataset", "import_id")

    def item_metadata_wide(self, dataset: str, item_ids: list[str] | None = None) -> pd.DataFrame:
        """Items with their metadata as columns (for a page of items; not for whole datasets)."""
        self.require(dataset)
        params: list[Any] = [dataset]
        where = ""
        if item_ids is not None:
            if not item_ids:
                return pd.DataFrame(columns=["item_id"])
            where = " AND item_id IN (SELECT unnest(?))"
            params.append(list(item_ids))
        long = self._df(
            f"SELECT item_id, field, value FROM item_metadata WHERE dataset = ?{where}", params
        )
        if long.empty:
            return pd.DataFrame({"item_id": item_ids or []})
        return long.pivot(index="item_id", columns="field", values="value").reset_index()

    def export(self, dataset: str, out: str | Path) -> int:
        """Write the canonical long table (with round, gold and metadata) as CSV or Parquet."""
        self.require(dataset)
        out = Path(out)
        fmt = {".csv": "csv", ".parquet": "parquet", ".tsv": "tsv"}.get(out.suffix.lower())
        if fmt is None:
            raise InvalidArgument(
                f"cannot export to '{out.name}': expected a file name ending in .csv, .tsv or .parquet"
            )
        df = self._df(
            "SELECT a.item_id, a.labeler_id, a.label, a.round, a.started_at, a.submitted_at, "
            "a.duration_s, i.gold_label, i.is_control, i.data_ref "
            "FROM annotations a LEFT JOIN items i ON i.dataset = a.dataset AND i.item_id = a.item_id "
            "WHERE a.dataset = ? ORDER BY a.round, a.item_id, a.labeler_id",
            [dataset],
        )
        meta = self.item_metadata_wide(dataset)
        if len(meta.columns) > 1:
            df = df.merge(meta, on="item_id", how="left")
        if fmt == "parquet":
            df.to_parquet(out, index=False)
        else:
            df.to_csv(out, index=False, sep="," if fmt == "csv" else "\t")
        return len(df)


def _now() -> datetime:
    return datetime.now(UTC)


def _busy_message(path: str, error: str) -> str:
    """The "store is busy" message, naming the process that holds the store when DuckDB says."""
    pid = re.search(r"PID (\d+)", error)
    holder = f"another process (PID {pid.group(1)})" if pid else "another process"
    return (
        f"store '{path}' is busy: {holder} has it open, and a store can be changed by one "
        "process at a time (a running dashboard holds its store). Close the other process "
        "(or the dashboard) and try again"
    )


def _text(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _dtype_name(values: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(values):
        return "boolean"
    if pd.api.types.is_numeric_dtype(values):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(values):
        return "timestamp"
    return "text"


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    return v


def _insert_df(cur: Any, table: str, df: pd.DataFrame) -> None:
    if not len(df):
        return
    cur.register("_incoming", df)
    try:
        cols = ", ".join(f'"{c}"' for c in df.columns)
        cur.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _incoming")
    finally:
        cur.unregister("_incoming")
