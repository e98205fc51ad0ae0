"""``consistency analyze --engine spark``: the same analysis where the data lives.

Adds to ``consistency analyze``:

* ``--engine {duckdb,spark}`` (default ``$CONSISTENCY_ENGINE``, else duckdb).
  With ``duckdb`` nothing changes: TARGET is a dataset of the store or a file
  to import. With ``spark``, TARGET is a Parquet file or folder, a CSV file,
  ``delta:PATH``, or a table of the Spark catalog, analyzed in place.
* ``--spark-master URL`` (default ``$CONSISTENCY_SPARK_MASTER``, else the
  active session, else ``local[*]``) and ``--spark-conf KEY=VALUE``.
* ``--predictions FILE_OR_TABLE``: model predictions beside TARGET.

Registered through :data:`consistency.cli.EXTENSIONS`.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from consistency.errors import InvalidArgument
from consistency.spark import (
    ENGINES,
    check_engine,
    default_engine,
    open_annotations,
    spark_errors,
    spark_session,
)

Handler = Callable[[argparse.Namespace], int]

#: The command this module extends, and the store-based handler it falls back to.
EXTENDED = "analyze"
_store_handler: dict[str, Handler] = {}


def add_engine_options(p: argparse.ArgumentParser) -> None:
    """Add ``--engine``, ``--spark-master``, ``--spark-conf`` and ``--predictions`` to a parser."""
    p.add_argument(
        "--engine",
        choices=list(ENGINES),
        default=None,
        help="where the queries run: duckdb (the store; default, or $CONSISTENCY_ENGINE) or "
        "spark (TARGET is then a Parquet file or folder, delta:PATH, or a Spark table)",
    )
    p.add_argument(
        "--spark-master",
        metavar="URL",
        help="Spark master URL (default: $CONSISTENCY_SPARK_MASTER, else local[*])",
    )
    p.add_argument(
        "--spark-conf",
        action="append",
        metavar="KEY=VALUE",
        help="a Spark setting, e.g. spark.executor.memory=8g (repeatable)",
    )
    p.add_argument(
        "--predictions",
        metavar="FILE_OR_TABLE",
        help="with --engine spark: model predictions (item_id, predicted_label[, model]"
        "[, confidence]) as a file or table",
    )


def spark_conf(pairs: list[str] | None) -> dict[str, str]:
    """``["a=1", "b=2"]`` -> ``{"a": "1", "b": "2"}``; InvalidArgument names a pair without ``=``.

    >>> spark_conf(["spark.executor.memory=8g"])
    {'spark.executor.memory': '8g'}
    """
    out = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidArgument(f"--spark-conf expects KEY=VALUE; found '{pair}'")
        out[key.strip()] = value.strip()
    return out


def cmd_analyze(args: argparse.Namespace) -> int:
    """``analyze`` on the chosen engine (the store's handler for duckdb)."""
    from consistency import cli
    from consistency.analysis import analyze, format_summary

    engine = check_engine(args.engine or default_engine())
    if engine == "duckdb":
        if args.predictions or args.spark_master or args.spark_conf:
            raise InvalidArgument(
                "--predictions, --spark-master and --spark-conf go with --engine spark; "
                "with the store, attach predictions with `consistency attach`"
            )
        return _store_handler[EXTENDED](args)
    session = spark_session(args.spark_master, spark_conf(args.spark_conf))
    with spark_errors(f"analyze '{args.target}' on Spark"):
        store = open_annotations(args.target, engine, session=session, predictions=args.predictions)
        result: dict[str, Any] = analyze(store, store.dataset, cli._view(args), cli._options(args))
    if args.json:
        print(json.dumps(result, indent=2, allow_nan=False, default=str))
    else:
        print(format_summary(result))
    return 0


def add_commands(
    sub: Any,
    command: Callable[[str], Callable[[Handler], Handler]],
    add_analysis: Callable[[argparse.ArgumentParser], None],
    add_view: Callable[[argparse.ArgumentParser], None],
    add_db: Callable[[argparse.ArgumentParser], None],
) -> None:
    """The :data:`consistency.cli.EXTENSIONS` hook: the engine options of ``analyze``."""
    from consistency import cli

    add_engine_options(sub.choices[EXTENDED])
    current = cli.COMMANDS[EXTENDED]
    if current is not cmd_analyze:
        _store_handler[EXTENDED] = current
    command(EXTENDED)(cmd_analyze)
