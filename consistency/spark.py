"""Where the queries run: DuckDB (the default) or Spark, on the same Ibis expressions.

The engine functions (:mod:`consistency.engine`, the metrics) take Ibis table
expressions, so they run unchanged on any Ibis backend. This module provides
what is needed to point them at data that does not live in the store:

* :func:`spark_session`: a Spark session (local or a cluster's master URL).
* :func:`read_table`: a Parquet file or folder, a Delta table
  (``delta:PATH``), or a table of the Spark catalog (``db.table``, an Iceberg
  or Delta catalog table), as an Ibis table on the chosen engine.
* :class:`TableStore`: the read side of :class:`consistency.store.Store` over
  such a long table, so :func:`consistency.analysis.analyze` and every panel
  function run on it as they do on the store.
* :func:`open_annotations`: all of the above in one call.

What comes back to the driver (the Python process) is small: the label
dictionary (K rows), the profile (distinct count patterns, P x K),
per-labeler and per-pair tables, K x K tables. Two figures are per item by
nature: majority vote fetches one row per item, and Dawid–Skene fetches the
annotations as integer codes and runs EM in NumPy.

The engine is chosen with ``--engine`` on the command line, or the
``CONSISTENCY_ENGINE`` environment variable (``duckdb`` or ``spark``); the
Spark master with ``--spark-master`` or ``CONSISTENCY_SPARK_MASTER``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from consistency.engine import kept
from consistency.errors import ConsistencyError, DatasetNotFound, InvalidArgument
from consistency.io._build import find_column
from consistency.store import ViewFilter, filter_view, round_sort_key, slugify

#: The engines the analysis runs on.
ENGINES: tuple[str, ...] = ("duckdb", "spark")
ENGINE_ENV = "CONSISTENCY_ENGINE"
MASTER_ENV = "CONSISTENCY_SPARK_MASTER"
#: The table to analyze with ``CONSISTENCY_ENGINE=spark`` (a path, ``delta:PATH`` or a name).
TABLE_ENV = "CONSISTENCY_TABLE"
PREDICTIONS_ENV = "CONSISTENCY_PREDICTIONS"
DEFAULT_MASTER = "local[*]"

#: Session settings for a local master (no web UI, few shuffle partitions, UTC).
LOCAL_CONF: dict[str, str] = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.session.timeZone": "UTC",
}
#: Settings for every session: UTC timestamps, like the store.
COMMON_CONF: dict[str, str] = {"spark.sql.session.timeZone": "UTC"}

#: What the importers strip from ids (and Ibis' ``strip``).
_WHITESPACE = " \t\n\r\x0b\x0c"

#: Suffixes that make a target a file rather than a table name.
_FILE_SUFFIXES = (".parquet", ".pq", ".csv", ".tsv")

#: Columns a long table may hold beside item, labeler and label (see docs/formats.md).
_ROLES = ("gold_label", "round", "duration_s", "started_at", "submitted_at", "data_ref")
_PREDICTION_ROLES = ("model", "predicted_label", "confidence")
#: The columns of the canonical table a :class:`TableStore` builds (not metadata).
_CANONICAL = frozenset(
    (
        "item_id",
        "labeler_id",
        "label",
        "label_value",
        "round",
        "duration_s",
        "started_at",
        "submitted_at",
        "gold_label",
        "data_ref",
        "is_control",
    )
)


def default_engine() -> str:
    """``$CONSISTENCY_ENGINE`` when set, else ``duckdb``."""
    return check_engine(os.environ.get(ENGINE_ENV) or "duckdb")


def check_engine(engine: str) -> str:
    """Return ``engine`` if it is a known engine, else raise InvalidArgument naming them.

    >>> check_engine("spark")
    'spark'
    """
    if engine not in ENGINES:
        raise InvalidArgument(f"unknown engine '{engine}'. Engines: {', '.join(ENGINES)}")
    return engine


def spark_session(master: str | None = None, conf: Mapping[str, str] | None = None) -> Any:
    """A Spark session: the active one, else a new one on ``master``.

    Args:
        master: a master URL (``local[2]``, ``spark://host:7077``, ``yarn``,
            ``k8s://...``); default ``$CONSISTENCY_SPARK_MASTER``, else an
            already active session, else ``local[*]``.
        conf: extra Spark settings (``spark.executor.memory`` ...). A local
            master also gets :data:`LOCAL_CONF`.

    Raises:
        ConsistencyError: pyspark is not installed (the message says how to
            install it).
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ConsistencyError(
            "the spark engine needs pyspark; install it with: pip install 'consistency[spark]'"
        ) from None
    master = master or os.environ.get(MASTER_ENV)
    if master is None:
        active = SparkSession.getActiveSession()
        if active is not None:
            with spark_errors("set the Spark settings"):
                for key, value in (conf or {}).items():
                    active.conf.set(key, value)
            return active
        master = DEFAULT_MASTER
    settings = dict(COMMON_CONF)
    if master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        settings.update(LOCAL_CONF)
    settings.update(conf or {})
    builder = SparkSession.builder.master(master).appName("consistency")
    for key, value in settings.items():
        builder = builder.config(key, value)
    with spark_errors(f"start Spark on master '{master}' (Java 17 must be installed)"):
        session = builder.getOrCreate()
        session.sparkContext.setLogLevel("ERROR")
    return session


@contextmanager
def spark_errors(doing: str) -> Iterator[None]:
    """Turn an error of Spark or of its Java bridge into a :class:`ConsistencyError`.

    The message says what was being done and Spark's first line, without the
    Java stack trace.
    """
    try:
        yield
    except ConsistencyError:
        raise
    except Exception as exc:
        if not type(exc).__module__.startswith(("pyspark", "py4j")):
            raise
        first = next((line for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
        raise ConsistencyError(f"could not {doing}: {first.strip()[:300]}") from None


def connect(engine: str = "duckdb", session: Any = None) -> Any:
    """An Ibis backend: in-memory DuckDB, or PySpark on ``session`` (default :func:`spark_session`)."""
    if check_engine(engine) == "spark":
        return ibis.pyspark.connect(session if session is not None else spark_session())
    return ibis.duckdb.connect()


def _is_path(target: str) -> bool:
    """Paths have a folder separator, a URL scheme or a file suffix; table names have none."""
    return "/" in target or "://" in target or Path(target).suffix.lower() in _FILE_SUFFIXES


def read_table(con: Any, target: str) -> ir.Table:
    """The table ``target`` names, on the backend ``con``.

    ``target`` is a Parquet file or folder of Parquet files (a local path or
    a URL the engine reads, such as ``s3a://bucket/annotations/``), a CSV or
    TSV file, ``delta:PATH`` for a Delta table (Spark with delta-spark), or
    the name of a table the backend knows (on Spark: ``table``, ``db.table``
    or ``catalog.db.table``, Hive, Delta or Iceberg alike).

    Raises:
        InvalidArgument: the target is neither a readable file nor a known table.
    """
    try:
        if target.startswith("delta:"):
            return con.read_delta(target.removeprefix("delta:"))
        if not _is_path(target):
            return con.table(target)
        local = "://" not in target
        if local and not Path(target).exists():
            raise InvalidArgument(f"'{target}' not found: no such file or folder")
        if Path(target).suffix.lower() in (".csv", ".tsv"):
            return con.read_csv(target)
        return con.read_parquet(target)
    except InvalidArgument:
        raise
    except Exception as exc:  # each engine has its own "not found" exception
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidArgument(
            f"cannot read '{target}': expected a Parquet file or folder, a CSV file, "
            f"delta:PATH, or a table name; the engine said: {first[:300]}"
        ) from None


def _text(col: ir.Value, strip: bool = False) -> ir.StringValue:
    """A column as text the way the importers write cells (``3`` for 3.0, ``true``, ...)."""
    t = col.type()
    if t.is_string():
        out = col.strip() if strip else col
        return out.nullif("") if strip else out
    if t.is_boolean():
        return ibis.ifelse(col, "true", "false")
    if t.is_floating():
        whole = col == col.floor()
        out = ibis.ifelse(
            whole & (col.abs() < 2.0**63),
            col.cast("int64").cast("string"),
            col.cast("string"),
        )
        return ibis.ifelse(col.isnan(), ibis.null("string"), out)
    return col.cast("string")


def _number(col: ir.Value) -> ir.FloatingValue:
    """A column as a finite float, NULL where it is not a number."""
    t = col.type()
    if t.is_string():
        v = col.strip().try_cast("float64")
    elif t.is_numeric():
        v = col.cast("float64")
    else:
        return ibis.null("float64")
    return ibis.ifelse(v.isnan() | v.isinf(), ibis.null("float64"), v)


def _dtype_name(t: dt.DataType) -> str:
    if t.is_boolean():
        return "boolean"
    if t.is_numeric():
        return "number"
    if t.is_temporal():
        return "timestamp"
    return "text"


def _columns_text(columns: Sequence[str]) -> str:
    return ", ".join(f"'{c}'" for c in columns) or "none"


class TableStore:
    """The read side of :class:`consistency.store.Store` over one long table of any engine.

    The table has one row per label, with the columns of the long format
    (``item_id``, ``labeler_id``, ``label``, and optionally ``gold_label``,
    ``round``, ``duration_s``, ``started_at``, ``submitted_at``, a data
    reference, ``is_control``; aliases and any case accepted, as by the
    importer). Other columns with one value per item are item metadata; those
    varying within an item are left out. Rows without an item, labeler or
    label are left out; a missing round is round ``1``.

    It holds one dataset, named ``dataset``. Everything is computed where the
    table lives: nothing is imported.
    """

    read_only = True

    def __init__(
        self,
        table: ir.Table,
        dataset: str,
        predictions: ir.Table | None = None,
        cache: bool = False,
    ) -> None:
        self.dataset = dataset
        self.path = dataset
        cols = {
            role: find_column(table.columns, role) for role in ("item_id", "labeler_id", "label")
        }
        missing = [role for role, c in cols.items() if c is None]
        if missing:
            raise InvalidArgument(
                f"the table of dataset '{dataset}' lacks column(s) {', '.join(missing)}. "
                f"Columns found: {_columns_text(table.columns)}"
            )
        for role in _ROLES:
            cols[role] = find_column(table.columns, role)
        control = next((c for c in table.columns if c.lower() == "is_control"), None)
        used = {c for c in cols.values() if c} | ({control} if control else set())
        extras = [c for c in table.columns if c not in used and c not in _CANONICAL]

        ann = self._canonical(table, cols, control, extras, self._survey(table, cols))
        if cache:
            ann = ann.cache()
        self._ann = ann
        self._fields = self._metadata_fields(ann, extras)
        self._meta = self._metadata_table(ann, self._fields)
        self._predictions = self._canonical_predictions(predictions)
        self._rounds: list[str] | None = None

    # ---- building --------------------------------------------------------------
    @staticmethod
    def _survey(table: ir.Table, cols: dict[str, str | None]) -> dict[str, bool]:
        """Which cleanups the table needs, so that clean data is read as it is.

        Stripping ids and dropping empty cells on every row of every query is
        costly (a string function per row); two cheap queries say whether any
        row needs it: the distinct (label, labeler, round) combinations, and
        one scan of the item ids (empty, leading or trailing whitespace, null).
        """
        small = [cols[r] for r in ("label", "labeler_id", "round") if cols.get(r)]
        combos = table.group_by(small).agg(n=table.count()).execute()

        def dirty(role: str, strip: bool) -> bool:
            name = cols.get(role)
            if not name:
                return False
            for v in combos[name].tolist():
                if v is None or (isinstance(v, float) and np.isnan(v)):
                    return True
                if isinstance(v, str) and (not v.strip() or (strip and v != v.strip(_WHITESPACE))):
                    return True
            return False

        item = table[cols["item_id"]]
        if item.type().is_string():
            edge = item.left(1).isin(list(_WHITESPACE)) | item.right(1).isin(list(_WHITESPACE))
            bad = ibis.ifelse(item.isnull() | (item.length() == 0) | edge, 1, 0)
        else:
            bad = ibis.ifelse(item.isnull(), 1, 0)
        scan = table.aggregate(bad=bad.max()).execute()
        return {
            "item_id": bool(scan["bad"].iat[0] or 0),
            "labeler_id": dirty("labeler_id", strip=True),
            "label": dirty("label", strip=False),
            "round": dirty("round", strip=True),
        }

    @staticmethod
    def _canonical(
        table: ir.Table,
        cols: dict[str, str | None],
        control: str | None,
        extras: list[str],
        dirty: dict[str, bool],
    ) -> ir.Table:
        """The canonical annotation columns (plus gold, data reference, control and extras)."""
        col = {role: table[c] for role, c in cols.items() if c}
        label = _text(col["label"])
        out = {
            "item_id": _text(col["item_id"], strip=dirty["item_id"]),
            "labeler_id": _text(col["labeler_id"], strip=dirty["labeler_id"]),
            "label": ibis.ifelse(label.strip() == "", ibis.null("string"), label)
            if dirty["label"]
            else label,
            "label_value": _number(col["label"]),
            "round": _text(col["round"], strip=dirty["round"]).fill_null("1")
            if "round" in col
            else ibis.literal("1"),
            "duration_s": _number(col["duration_s"])
            if "duration_s" in col
            else ibis.null("float64"),
        }
        for k in ("started_at", "submitted_at"):
            if k in col and col[k].type().is_timestamp():
                out[k] = col[k].cast(dt.Timestamp(timezone="UTC"))
            elif k in col:
                out[k] = _text(col[k], strip=True).try_cast(dt.Timestamp(timezone="UTC"))
            else:
                out[k] = ibis.null(dt.Timestamp(timezone="UTC"))
        out["gold_label"] = _text(col["gold_label"]) if "gold_label" in col else ibis.null("string")
        out["data_ref"] = (
            _text(col["data_ref"], strip=True) if "data_ref" in col else ibis.null("string")
        )
        out["is_control"] = (
            _text(table[control], strip=True).lower().isin(["true", "1", "yes"]).fill_null(False)
            if control
            else ibis.literal(False)
        )
        t = table.select(**out, **{c: table[c] for c in extras})
        keep = [t[r].notnull() for r in ("item_id", "labeler_id", "label") if dirty[r]]
        return t.filter(*keep) if keep else t

    @staticmethod
    def _metadata_fields(ann: ir.Table, extras: list[str]) -> pd.DataFrame:
        """Extra columns with one value per item (an empty cell counts as a value)."""
        if not extras:
            return pd.DataFrame({"field": [], "dtype": [], "distinct_values": []})
        per_item = ann.group_by("item_id").agg(
            **{
                f"bad_{i}": (ann[c].nunique() > 1)
                | ((ann[c].count() > 0) & (ann[c].count() < ann.count()))
                for i, c in enumerate(extras)
            }
        )
        bad = per_item.aggregate(
            **{f"bad_{i}": per_item[f"bad_{i}"].cast("int64").max() for i in range(len(extras))}
        ).execute()
        fields = [c for i, c in enumerate(extras) if not int(bad[f"bad_{i}"].iat[0] or 0)]
        if not fields:
            return pd.DataFrame({"field": [], "dtype": [], "distinct_values": []})
        distinct = ann.aggregate(
            **{f"d_{i}": _text(ann[c]).nunique() for i, c in enumerate(fields)}
        ).execute()
        return pd.DataFrame(
            {
                "field": fields,
                "dtype": [_dtype_name(ann[c].type()) for c in fields],
                "distinct_values": [int(distinct[f"d_{i}"].iat[0]) for i in range(len(fields))],
            }
        ).sort_values("field", ignore_index=True)

    def _metadata_table(self, ann: ir.Table, fields: pd.DataFrame) -> ir.Table:
        """The long ``item_metadata`` table: dataset, item_id, field, value, value_num."""
        parts = []
        for name in fields["field"]:
            v = ann.select("item_id", v=ann[name]).distinct()
            v = v.filter(v.v.notnull())
            parts.append(
                v.select(
                    dataset=ibis.literal(self.dataset),
                    item_id=v.item_id,
                    field=ibis.literal(str(name)),
                    value=_text(v.v),
                    value_num=_number(v.v),
                )
            )
        if not parts:
            empty = pd.DataFrame(
                {
                    "dataset": pd.Series([], dtype=str),
                    "item_id": pd.Series([], dtype=str),
                    "field": pd.Series([], dtype=str),
                    "value": pd.Series([], dtype=str),
                    "value_num": pd.Series([], dtype=float),
                }
            )
            return ibis.memtable(empty)
        return ibis.union(*parts, distinct=False) if len(parts) > 1 else parts[0]

    @staticmethod
    def _canonical_predictions(predictions: ir.Table | None) -> ir.Table | None:
        if predictions is None:
            return None
        cols = {r: find_column(predictions.columns, r) for r in ("item_id", *_PREDICTION_ROLES)}
        missing = [r for r in ("item_id", "predicted_label") if cols[r] is None]
        if missing:
            raise InvalidArgument(
                f"the predictions table lacks column(s) {', '.join(missing)}. "
                f"Columns found: {_columns_text(predictions.columns)}"
            )
        p = predictions
        out = p.select(
            item_id=_text(p[cols["item_id"]], strip=True),
            model=_text(p[cols["model"]], strip=True).fill_null("model")
            if cols["model"]
            else ibis.literal("model"),
            predicted_label=_text(p[cols["predicted_label"]]),
            confidence=_number(p[cols["confidence"]])
            if cols["confidence"]
            else ibis.null("float64"),
        )
        return out.filter(out.item_id.notnull() & out.predicted_label.notnull())

    # ---- the Store API -----------------------------------------------------------
    def dataset_ids(self) -> list[str]:
        """The one dataset of this table."""
        return [self.dataset]

    def require(self, dataset: str) -> str:
        """Return ``dataset`` if it is this table's, else raise DatasetNotFound."""
        if dataset != self.dataset:
            raise DatasetNotFound(dataset, [self.dataset])
        return dataset

    def datasets(self) -> pd.DataFrame:
        """One row: id, name, created_at, files, annotations, items, labelers."""
        t = self._ann
        n = t.aggregate(
            annotations=t.count(), items=t.item_id.nunique(), labelers=t.labeler_id.nunique()
        ).execute()
        return pd.DataFrame(
            {
                "id": [self.dataset],
                "name": [self.dataset],
                "created_at": [pd.NaT],
                "files": [1],
                "annotations": [int(n["annotations"].iat[0])],
                "items": [int(n["items"].iat[0])],
                "labelers": [int(n["labelers"].iat[0])],
            }
        )

    def rounds(self, dataset: str) -> list[str]:
        """The labeling rounds, in order (computed once)."""
        self.require(dataset)
        if self._rounds is None:
            got = self._ann.select("round").distinct().execute()["round"]
            self._rounds = sorted((str(r) for r in got if r is not None), key=round_sort_key)
        return list(self._rounds)

    def metadata_fields(self, dataset: str) -> pd.DataFrame:
        """Item metadata fields: field, dtype, distinct_values."""
        self.require(dataset)
        return self._fields.copy()

    def metadata_values(self, dataset: str, field_name: str) -> list[str]:
        """The distinct values of one metadata field, sorted."""
        self.require(dataset)
        m = self._meta.filter(self._meta.field == field_name)
        got = m.select("value").distinct().execute()["value"]
        return sorted((str(v) for v in got if v is not None), key=round_sort_key)

    def table(self, name: str) -> ir.Table:
        """``annotations``, ``items``, ``item_metadata`` or ``predictions``, with a dataset column."""
        tables = {
            "annotations": self._ann,
            "items": self.items(self.dataset),
            "item_metadata": self._meta,
            "predictions": self.predictions(self.dataset),
        }
        if name not in tables:
            raise InvalidArgument(
                f"table '{name}' is not available on this engine. Tables: {', '.join(tables)}"
            )
        t = tables[name]
        return t if "dataset" in t.columns else t.mutate(dataset=ibis.literal(self.dataset))

    def annotations(self, dataset: str | None = None, view: ViewFilter | None = None) -> ir.Table:
        """The annotations as an Ibis table, filtered by ``view`` (as :meth:`Store.annotations`)."""
        dataset = self.require(dataset or self.dataset)
        t = self._ann.select(
            "item_id",
            "labeler_id",
            "label",
            "label_value",
            "round",
            "started_at",
            "submitted_at",
            "duration_s",
        )
        return filter_view(t, view or ViewFilter(), lambda: self.rounds(dataset), self._meta)

    def items(self, dataset: str | None = None) -> ir.Table:
        """One row per item: item_id, gold_label, is_control, data_ref."""
        self.require(dataset or self.dataset)
        t = self._ann
        items = t.group_by("item_id").agg(
            gold_label=t.gold_label.max(),
            control=t.is_control.cast("int64").max(),
            data_ref=t.data_ref.max(),
        )
        return items.select(
            "item_id",
            "gold_label",
            is_control=(items.control > 0) | items.gold_label.notnull(),
            data_ref=items.data_ref,
        )

    def predictions(self, dataset: str | None = None, model: str | None = None) -> ir.Table:
        """Model predictions (item_id, model, predicted_label, confidence); empty without any."""
        self.require(dataset or self.dataset)
        p = self._predictions
        if p is None:
            empty = pd.DataFrame(
                {
                    "item_id": pd.Series([], dtype=str),
                    "model": pd.Series([], dtype=str),
                    "predicted_label": pd.Series([], dtype=str),
                    "confidence": pd.Series([], dtype=float),
                }
            )
            p = ibis.memtable(empty)
        return p.filter(p.model == model) if model is not None else p

    def item_metadata_wide(self, dataset: str, item_ids: list[str] | None = None) -> pd.DataFrame:
        """Items with their metadata as columns (for a page of items; not for whole datasets)."""
        self.require(dataset)
        m = self._meta
        if item_ids is not None:
            if not item_ids:
                return pd.DataFrame(columns=["item_id"])
            m = m.filter(m.item_id.isin(list(item_ids)))
        long = m.select("item_id", "field", "value").execute()
        if long.empty:
            return pd.DataFrame({"item_id": item_ids or []})
        return long.pivot(index="item_id", columns="field", values="value").reset_index()

    def backend(self) -> Any:
        """The Ibis backend the table lives in."""
        return self._ann._find_backend()

    @contextmanager
    def view_table(self, dataset: str, view: ViewFilter | None = None) -> Iterator[ir.Table]:
        """A view's annotations computed once and kept in the engine until the block ends.

        Spark caches them in the executors' memory; DuckDB writes a temporary table.
        """
        with kept(self.annotations(dataset, view), self.backend()) as table:
            yield table

    def close(self) -> None:
        """Nothing to close: the engine's session belongs to the caller."""


def open_annotations(
    target: str,
    engine: str | None = None,
    *,
    session: Any = None,
    predictions: str | None = None,
    dataset: str | None = None,
    cache: bool | None = None,
) -> TableStore:
    """A :class:`TableStore` over ``target`` (see :func:`read_table`) on ``engine``.

    Args:
        target: a Parquet file or folder, a CSV file, ``delta:PATH``, or a table name.
        engine: ``duckdb`` or ``spark`` (default :func:`default_engine`).
        session: the Spark session to use (default :func:`spark_session`).
        predictions: a file or table of model predictions for the HLP panel.
        dataset: the dataset id (default: the slug of the file or table name).
        cache: keep the canonical table in the engine's memory between queries
            (default: on Spark only).
    """
    engine = check_engine(engine or default_engine())
    con = connect(engine, session)
    table = read_table(con, target)
    preds = read_table(con, predictions) if predictions else None
    name = dataset or slugify(Path(target.removeprefix("delta:")).stem or target)
    return TableStore(table, name, preds, cache=engine == "spark" if cache is None else cache)


def store_from_env() -> TableStore | None:
    """The :class:`TableStore` the environment names, or None for the DuckDB store.

    ``CONSISTENCY_ENGINE=spark`` with ``CONSISTENCY_TABLE`` (a Parquet path,
    ``delta:PATH`` or a table name), optionally ``CONSISTENCY_PREDICTIONS``
    and ``CONSISTENCY_SPARK_MASTER``; for an application (such as a
    dashboard) that opens its data from settings rather than arguments.

    Raises:
        InvalidArgument: the engine is spark but no table is named.
    """
    if default_engine() != "spark":
        return None
    target = os.environ.get(TABLE_ENV)
    if not target:
        raise InvalidArgument(
            f"{ENGINE_ENV}=spark needs {TABLE_ENV}: a Parquet file or folder, delta:PATH "
            "or a table name"
        )
    return open_annotations(target, "spark", predictions=os.environ.get(PREDICTIONS_ENV))
