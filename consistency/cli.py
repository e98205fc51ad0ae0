"""The ``consistency`` command.

Every subcommand takes ``--db PATH`` (default: ``$CONSISTENCY_DB`` or
``./consistency.duckdb``). Errors are printed as one report on stderr and the
command exits 1; nothing is written when an import has errors.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from consistency import __version__
from consistency.errors import ConsistencyError, ImportFailed, InvalidArgument
from consistency.store import Store, ViewFilter, default_db_path

Handler = Callable[[argparse.Namespace], int]
COMMANDS: dict[str, Handler] = {}

#: Modules that add subcommands: each has ``add_commands(sub, command, add_analysis,
#: add_view, add_db)``, where ``command`` is the registering decorator below.
EXTENSIONS: tuple[str, ...] = (
    "consistency.cli_plan",
    "consistency.cli_relabel",
    "consistency.cli_engine",
    "consistency.cli_report",
)


def command(name: str) -> Callable[[Handler], Handler]:
    """Register a subcommand handler."""

    def wrap(fn: Handler) -> Handler:
        COMMANDS[name] = fn
        return fn

    return wrap


def _open(args: argparse.Namespace, read_only: bool = False) -> Store:
    return Store(args.db, read_only=read_only)


def _print(text: str = "") -> None:
    print(text)


def _out_path(path: str) -> Path:
    """An output file whose folder exists (else InvalidArgument naming the folder)."""
    out = Path(path)
    folder = out.parent
    if not folder.is_dir():
        raise InvalidArgument(
            f"cannot write '{out.name}': folder '{folder}' does not exist; create it or "
            "choose another --out"
        )
    return out


def _table(df: Any, max_rows: int = 50) -> str:
    import pandas as pd

    with pd.option_context(
        "display.max_rows", max_rows, "display.width", 160, "display.max_columns", 30
    ):
        return df.to_string(index=False)


# ---- import / attach --------------------------------------------------------
@command("import")
def cmd_import(args: argparse.Namespace) -> int:
    """Read every file first; write only when all of them are clean."""
    from consistency.io import Source, read_source

    results = []
    failures: list[ImportFailed] = []
    for path in args.files:
        try:
            source = Source.from_path(path)
            results.append((source, read_source(source, format=args.format, field=args.field)))
        except ImportFailed as exc:
            failures.append(exc)
    if len(failures) == 1:  # its own words (e.g. which formats were tried, and why not)
        raise failures[0]
    if failures:
        raise ImportFailed([p for exc in failures for p in exc.problems])
    store = _open(args)
    dataset = args.dataset
    if args.round and dataset:  # a new round must land on the dataset's items
        from consistency.relabel import check_reimport

        for source, result in results:
            check_reimport(store, dataset, result, source.name)
    for source, result in results:
        report = store.import_result(
            result, file_name=source.name, data=source.data, dataset=dataset, round=args.round
        )
        dataset = dataset or report.dataset  # later files join the first file's dataset
        _print(report.summary())
    return 0


@command("attach")
def cmd_attach(args: argparse.Namespace) -> int:
    from consistency.io import Source, read_gold, read_predictions

    if bool(args.gold) == bool(args.predictions):
        raise InvalidArgument("give exactly one of --gold FILE or --predictions FILE")
    path = args.gold or args.predictions
    source = Source.from_path(path)
    kind = "gold" if args.gold else "predictions"
    frame = read_gold(source) if args.gold else read_predictions(source)
    store = _open(args)
    report = store.attach(
        args.dataset,
        kind,
        frame,
        file_name=source.name,
        data=source.data,
        format=Path(path).suffix.lstrip(".") or "table",
    )
    if report.noop:
        _print(report.summary())
    else:
        _print(
            f"{source.name}: attached {report.rows_kept} {kind} rows to dataset '{args.dataset}'."
        )
    return 0


# ---- looking at the store ---------------------------------------------------
@command("datasets")
def cmd_datasets(args: argparse.Namespace) -> int:
    store = _open(args)
    ds = store.datasets()
    if ds.empty:
        _print(f"no datasets in {store.path}; import one with `consistency import FILE`")
        return 0
    _print(_table(ds))
    for dataset in ds["id"]:
        prov = store.provenance(dataset)
        _print(f"\n{dataset}: files")
        _print(
            _table(
                prov[
                    [
                        "import_id",
                        "kind",
                        "file_name",
                        "format",
                        "sha256",
                        "size_bytes",
                        "rows_kept",
                        "round",
                        "imported_at",
                    ]
                ]
            )
        )
    return 0


@command("show")
def cmd_show(args: argparse.Namespace) -> int:
    from consistency.analysis import check_view, dataset_summary

    store = _open(args)
    view = _view(args)
    check_view(store, args.dataset, view)
    s = dataset_summary(store, args.dataset, view)
    _print(f"dataset {args.dataset} ({s['view']})")
    _print(
        f"  items: {s['items']}   labelers: {s['labelers']}   annotations: {s['annotations']}"
        f"   pairable items: {s['pairable_items']}"
    )
    _print(
        f"  rounds: {', '.join(s['rounds']) or '-'}   gold items: {s['gold_items']}"
        f"   models: {', '.join(s['models']) or '-'}"
    )
    _print("  labels per item: " + ", ".join(f"{k}: {v}" for k, v in s["labels_per_item"].items()))
    _print("  classes:")
    for c in s["class_counts"]:
        _print(f"    {c['class']}: {c['n']}")
    if s["metadata_fields"]:
        _print("  metadata: " + ", ".join(s["metadata_fields"]))
    return 0


@command("export")
def cmd_export(args: argparse.Namespace) -> int:
    store = _open(args)
    store.require(args.dataset)
    n = store.export(args.dataset, _out_path(args.out))
    _print(f"wrote {n} annotations of dataset '{args.dataset}' to {args.out}")
    return 0


@command("lineage")
def cmd_lineage(args: argparse.Namespace) -> int:
    """Files (names, sha256, formats, times) and every step since; as text, JSON or a file."""
    from consistency.report import format_lineage, lineage_record

    out = _out_path(args.out) if args.out else None
    record = lineage_record(_open(args), args.dataset)
    text = json.dumps(record, indent=2, allow_nan=False)
    if out is not None:
        out.write_text(text + "\n", encoding="utf-8")
        _print(f"wrote the lineage of dataset '{args.dataset}' to {out}")
    elif args.json:
        _print(text)
    else:
        _print(format_lineage(record))
    return 0


# ---- analysis ----------------------------------------------------------------
def _view(args: argparse.Namespace) -> ViewFilter:
    meta = []
    for s in getattr(args, "slice", None) or []:
        if "=" not in s:
            raise InvalidArgument(f"--slice expects COLUMN=VALUE; found '{s}'")
        k, v = s.split("=", 1)
        meta.append((k.strip(), v.strip()))
    rounds: tuple[str, ...] | None = None
    r = getattr(args, "round", None)
    if r:
        rounds = ("*",) if r in ("all", "*") else (str(r),)
    merged: dict[str, list[str]] = {}
    for k, v in meta:
        merged.setdefault(k, []).append(v)
    labelers = tuple(x for x in (getattr(args, "labeler", None) or []))
    return ViewFilter(
        rounds=rounds,
        labelers=labelers or None,
        metadata=tuple((k, tuple(v)) for k, v in merged.items()),
    )


def _target(args: argparse.Namespace) -> tuple[Store, str]:
    """A dataset in the store, or a file imported into a temporary in-memory store.

    The view the arguments describe (``--round``, ``--labeler``, ``--slice``) is
    checked against the dataset: an unknown name is an InvalidArgument.
    """
    from consistency.analysis import check_view

    store, dataset = _resolve_target(args)
    check_view(store, dataset, _view(args))
    return store, dataset


def _resolve_target(args: argparse.Namespace) -> tuple[Store, str]:
    target = args.target
    if Path(target).is_file():
        from consistency.io import Source, read_source

        source = Source.from_path(target)
        result = read_source(
            source, format=getattr(args, "format", None), field=getattr(args, "field", None)
        )
        store = Store(":memory:")
        report = store.import_result(result, file_name=source.name, data=source.data)
        return store, report.dataset
    store = _open(args)
    known = store.dataset_ids()
    if target not in known and (Path(target).suffix or "/" in target or "\\" in target):
        listed = ", ".join(known) if known else "none yet; import a file first"
        raise InvalidArgument(
            f"'{target}' is neither a file nor a dataset in the store. Datasets: {listed}"
        )
    return store, store.require(target)


def _options(args: argparse.Namespace) -> Any:
    from consistency.analysis import AnalysisOptions

    return AnalysisOptions(
        level=args.level,
        n_boot=args.bootstrap,
        seed=args.seed,
        min_shared=args.min_shared,
        fast_threshold_s=args.fast_threshold,
    )


@command("analyze")
def cmd_analyze(args: argparse.Namespace) -> int:
    from consistency.analysis import analyze, format_summary

    store, dataset = _target(args)
    result = analyze(store, dataset, _view(args), _options(args))
    if args.json:
        _print(json.dumps(result, indent=2, allow_nan=False, default=str))
    else:
        _print(format_summary(result))
    return 0


@command("consensus")
def cmd_consensus(args: argparse.Namespace) -> int:
    from consistency.analysis import consensus_table

    out = _out_path(args.out)
    store, dataset = _target(args)
    df = consensus_table(store, dataset, _view(args), method=args.method)
    if out.suffix.lower() == ".parquet":
        df.to_parquet(out, index=False)
    else:
        df.to_csv(out, index=False)
    _print(f"wrote {len(df)} items ({args.method}) to {out}")
    return 0


@command("recommend")
def cmd_recommend(args: argparse.Namespace) -> int:
    from consistency.analysis import recommendations_table

    if args.out:
        _out_path(args.out)
    store, dataset = _target(args)
    df = recommendations_table(store, dataset, _view(args), _options(args)).head(args.top)
    if not len(df) and not args.out:
        _print("no recommendation scores above the threshold: nothing stands out to fix")
        return 0
    if args.out:
        df.to_csv(args.out, index=False)
        _print(f"wrote {len(df)} recommendations to {args.out}")
    else:
        for row in df.itertuples():
            _print(
                f"{row.rank}. {row.action}: {row.target}  (alpha {row.alpha_before:.3f} -> "
                f"{row.alpha_after:.3f}, {row.share:.0%} of data, score {row.score:.4f})"
            )
            _print(f"   {row.evidence}")
    return 0


# ---- parser ------------------------------------------------------------------
def _add_db(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--db",
        default=default_db_path(),
        help="the store file (default: $CONSISTENCY_DB or ./consistency.duckdb)",
    )


def _add_view(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--slice",
        action="append",
        metavar="COLUMN=VALUE",
        help="keep items whose metadata COLUMN equals VALUE (repeatable)",
    )
    p.add_argument(
        "--round",
        help="one labeling round, or 'all' to pool them (default: each item's latest round)",
    )
    p.add_argument("--labeler", action="append", help="keep this labeler's labels (repeatable)")


def _add_analysis(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", help="a dataset id in the store, or a file to analyze directly")
    p.add_argument(
        "--level",
        default="nominal",
        choices=["nominal", "ordinal", "interval", "ratio"],
        help="level of measurement for Krippendorff's alpha (default: nominal)",
    )
    p.add_argument(
        "--bootstrap",
        type=int,
        default=1000,
        metavar="N",
        help="bootstrap draws for confidence intervals (default: 1000)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed of the bootstrap")
    p.add_argument(
        "--min-shared",
        type=int,
        default=10,
        dest="min_shared",
        help="items two labelers must share for their Cohen's kappa (default: 10)",
    )
    p.add_argument(
        "--fast-threshold",
        type=float,
        default=3.0,
        dest="fast_threshold",
        metavar="SECONDS",
        help="answers faster than this count as suspiciously fast",
    )
    p.add_argument("--format", help="format of TARGET when it is a file (default: detect)")
    p.add_argument("--field", help="the label field, when the file has several")
    _add_view(p)
    _add_db(p)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``consistency`` command."""
    parser = argparse.ArgumentParser(
        prog="consistency",
        description="Measure how consistent labels are when several people label the same data, "
        "and what to fix next.",
    )
    parser.add_argument("--version", action="version", version=f"consistency {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "import",
        help="import label exports into a dataset",
        description="Import one or more exports (long/wide table, Label Studio, "
        "Toloka, Prodigy, crowd-kit) into a dataset. The format is detected from "
        "the content. All files are read first; if any has errors, nothing is "
        "written and every problem is listed.",
    )
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--format", help="force a format instead of detecting it")
    p.add_argument("--dataset", help="dataset name (default: the first file's name)")
    p.add_argument("--round", help="labeling round of these labels (appends a new round)")
    p.add_argument("--field", help="which label field to use when a file has several")
    _add_db(p)

    p = sub.add_parser(
        "attach",
        help="attach gold labels or model predictions to a dataset",
        description="Attach a gold file (item_id, gold_label) or a predictions "
        "file (item_id, predicted_label[, confidence][, model]) to a dataset.",
    )
    p.add_argument("dataset")
    p.add_argument("--gold", metavar="FILE")
    p.add_argument("--predictions", metavar="FILE")
    _add_db(p)

    p = sub.add_parser("datasets", help="list datasets with their provenance")
    _add_db(p)

    p = sub.add_parser(
        "show",
        help="summarise a dataset",
        description="Items, labelers, annotations, labels per item, classes, "
        "rounds and metadata of a dataset.",
    )
    p.add_argument("dataset")
    _add_view(p)
    _add_db(p)

    p = sub.add_parser("export", help="write a dataset's canonical long table (CSV or Parquet)")
    p.add_argument("dataset")
    p.add_argument("--out", required=True, metavar="FILE", help="a .csv, .tsv or .parquet file")
    _add_db(p)

    p = sub.add_parser("lineage", help="where a dataset came from and every step since")
    p.add_argument("dataset")
    p.add_argument("--json", action="store_true", help="print the lineage as one JSON object")
    p.add_argument("--out", metavar="FILE.json", help="write the lineage as JSON to FILE")
    _add_db(p)

    p = sub.add_parser(
        "analyze",
        help="agreement, per-class, labelers, consensus, HLP vs model",
        description="Compute every figure for a dataset (or a file).",
    )
    _add_analysis(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")

    p = sub.add_parser("consensus", help="write a consensus label per item")
    p.add_argument("target")
    p.add_argument("--method", choices=["majority", "dawid-skene"], default="majority")
    p.add_argument("--out", required=True, metavar="FILE")
    p.add_argument("--format")
    p.add_argument("--field")
    _add_view(p)
    _add_db(p)

    p = sub.add_parser("recommend", help="the ranked list of what to do next")
    _add_analysis(p)
    p.add_argument("--top", type=int, default=10, help="how many rows (default: 10)")
    p.add_argument("--out", metavar="FILE.csv", help="write the table as CSV")

    for module in EXTENSIONS:
        import importlib

        importlib.import_module(module).add_commands(
            sub, command, _add_analysis, _add_view, _add_db
        )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``consistency`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ConsistencyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # output piped into head & co.
        return 0
    except OSError as exc:  # a file that cannot be written (permissions, full disk)
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; nothing was written by the unfinished step", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
