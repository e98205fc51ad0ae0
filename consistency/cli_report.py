"""The pipeline subcommands: ``consistency report``, ``consistency check`` and ``consistency split``.

Registered through :data:`consistency.cli.EXTENSIONS`. ``report`` writes the
HTML or Markdown report (:mod:`consistency.report`), ``check`` is the quality
gate of a labeling pipeline (:mod:`consistency.check`; exit 0 when the
thresholds are met, 1 when not) and ``split`` writes train/dev/test files of
consensus labels balanced per class (:mod:`consistency.split`).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from consistency.check import THRESHOLDS


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number; found '{text}'") from None


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number; found '{text}'") from None


def cmd_report(args: argparse.Namespace) -> int:
    """Analyze TARGET and write its report; the format comes from --report-format or the suffix."""
    from consistency.cli import _options, _target, _view
    from consistency.report import report_format, write_report

    report_format(args.out, args.report_format)  # a bad name fails before the analysis
    store, dataset = _target(args)
    written = write_report(
        store, dataset, args.out, _view(args), _options(args), fmt_name=args.report_format
    )
    notes = len(written.result.get("notes") or [])
    print(
        f"wrote the {written.format} report of dataset '{dataset}' to {written.path} "
        f"({written.size_bytes / 1024:,.0f} KB, {notes} note{'s' if notes != 1 else ''})"
    )
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Exit 0 when every threshold is met, 1 when not (``FAILED: ...`` lines on stdout)."""
    from consistency.analysis import analyze
    from consistency.check import check, format_check, gate_from
    from consistency.cli import _options, _target, _view

    gate = gate_from(vars(args))
    gate.require_any()
    store, dataset = _target(args)
    outcome = check(analyze(store, dataset, _view(args), _options(args)), gate)
    if args.json:
        print(json.dumps(outcome.to_dict(), indent=2, allow_nan=False))
    else:
        print(format_check(outcome))
    return 0 if outcome.passed else 1


def cmd_split(args: argparse.Namespace) -> int:
    """Split TARGET's consensus labels into files in --out, and print the class shares."""
    from consistency.cli import _target, _view
    from consistency.split import SplitOptions, format_split, split_dataset, write_split

    options = SplitOptions(
        ratios=args.ratios,
        method=args.method,
        stratify=args.stratify,
        min_confidence=args.min_confidence,
        uncertain=args.uncertain,
        seed=args.seed,
    )
    store, dataset = _target(args)
    result = split_dataset(store, dataset, _view(args), options)
    written = write_split(result, args.out, args.file_format)
    if args.json:
        manifest = result.manifest()
        manifest["files"] = [str(p) for p in written]
        print(json.dumps(manifest, indent=2, allow_nan=False))
    else:
        print(format_split(result))
        print(f"\nwrote {', '.join(p.name for p in written)} to {args.out}")
    return 0


#: Metavar and help of each threshold option (see consistency.check.THRESHOLDS).
THRESHOLD_HELP: dict[str, tuple[str, str]] = {
    "min_alpha": ("A", "Krippendorff's alpha at least A"),
    "min_alpha_ci_low": ("A", "the low end of alpha's 95%% interval at least A"),
    "min_class_agreement": ("B", "every class's specific agreement at least B (0 to 1)"),
    "min_labeler_agreement": ("B", "every labeler's agreement with the others at least B"),
    "max_fast_share": ("C", "every labeler's share of fast answers (--fast-threshold) at most C"),
    "max_tie_share": ("C", "the share of items with a tied majority vote at most C"),
    "min_gold_accuracy": ("G", "the majority vote's accuracy on gold items at least G"),
    "min_pairable_items": ("N", "at least N items with two labels or more"),
}


def add_commands(
    sub: Any,
    command: Callable[[str], Callable[[Any], Any]],
    add_analysis: Callable[[argparse.ArgumentParser], None],
    add_view: Callable[[argparse.ArgumentParser], None],
    add_db: Callable[[argparse.ArgumentParser], None],
) -> None:
    """Add ``report``, ``check`` and ``split`` (the :data:`consistency.cli.EXTENSIONS` hook)."""
    p = sub.add_parser(
        "report",
        help="write a self-contained HTML report (or Markdown for a pull request)",
        description="Analyze a dataset (or a file) and write one report: overview, notes, "
        "recommendations with evidence, classes (HLP against the model), confusion, labelers, "
        "slices, rounds, provenance and lineage. A .html file has its charts embedded and works "
        "offline; a .md file is the Markdown variant.",
    )
    add_analysis(p)
    p.add_argument("--out", required=True, metavar="FILE", help="report.html or report.md")
    p.add_argument(
        "--report-format",
        dest="report_format",
        choices=["html", "markdown"],
        help="the report's format (default: from the suffix of --out)",
    )
    command("report")(cmd_report)

    p = sub.add_parser(
        "check",
        help="quality gate: exit 0 when the thresholds are met, 1 when not",
        description="Check a dataset (or a file) against thresholds, as a step of a labeling "
        "pipeline. Exit status 0: every threshold is met. Exit status 1: a threshold is not met "
        "(the 'FAILED: ...' lines on stdout name it, with the figure), or an error (a message "
        "on stderr, nothing on stdout). A figure that cannot be computed fails its threshold.",
    )
    add_analysis(p)
    for t in THRESHOLDS:
        metavar, text = THRESHOLD_HELP[t.name]
        p.add_argument(
            t.option,
            dest=t.name,
            type=_whole if t.name == "min_pairable_items" else _number,
            metavar=metavar,
            help=text,
        )
    p.add_argument(
        "--fail-on-notes",
        dest="fail_on_notes",
        metavar="CODES",
        help="fail when a figure carries one of these notes (comma-separated codes, or all)",
    )
    p.add_argument("--json", action="store_true", help="print the outcome as one JSON object")
    command("check")(cmd_check)

    p = sub.add_parser(
        "split",
        help="write train/dev/test files of consensus labels, balanced per class",
        description="Take each item's consensus label, set aside (or flag) ties and "
        "low-confidence items, and split the items so that every class is represented in "
        "each split as in the whole. Writes one file per split, excluded items, summary.csv "
        "and split.json into --out.",
    )
    p.add_argument("target", help="a dataset id in the store, or a file to split directly")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the split files")
    p.add_argument(
        "--ratios",
        default="60,20,20",
        help="shares of train,dev,test (or train,test), any scale (default: 60,20,20)",
    )
    p.add_argument(
        "--stratify",
        choices=["consensus", "none"],
        default="consensus",
        help="balance per consensus class (default), or none for a plain random split",
    )
    p.add_argument(
        "--method",
        choices=["majority", "dawid-skene"],
        default="majority",
        help="consensus method (default: majority)",
    )
    p.add_argument(
        "--min-confidence",
        dest="min_confidence",
        type=_number,
        metavar="X",
        help="items whose consensus confidence is below X are uncertain",
    )
    p.add_argument(
        "--uncertain",
        choices=["exclude", "flag"],
        default="exclude",
        help="set uncertain items (ties, low confidence) aside (default) or keep them flagged",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the random order (default: 0)")
    p.add_argument(
        "--file-format",
        dest="file_format",
        choices=["csv", "parquet"],
        default="csv",
        help="format of the split files (default: csv)",
    )
    p.add_argument("--format", help="format of TARGET when it is a file (default: detect)")
    p.add_argument("--field", help="the label field, when the file has several")
    p.add_argument("--json", action="store_true", help="print the split's manifest as JSON")
    add_view(p)
    add_db(p)
    command("split")(cmd_split)
