"""The relabel loop's subcommands: ``consistency queue`` and ``consistency compare``.

Registered through :data:`consistency.cli.EXTENSIONS`. ``queue`` writes the
items to relabel as a Label Studio tasks file, a Toloka task TSV or a CSV;
``compare`` says whether a relabeling round changed agreement.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from consistency.errors import InvalidArgument
from consistency.relabel import EXPORTERS

#: How many queue rows the command prints.
SHOWN = 10

_FORMAT_NAMES = {
    "labelstudio": "Label Studio tasks",
    "toloka": "Toloka tasks",
    "csv": "CSV",
}


def _store_and_dataset(args: argparse.Namespace) -> tuple[Any, str]:
    """The store and dataset of TARGET (a dataset id, or a file read into a memory store)."""
    from consistency.cli import _target

    return _target(argparse.Namespace(target=args.target, db=args.db, format=None, field=None))


def _slice(text: str | None) -> tuple[str, str] | None:
    if text is None:
        return None
    if "=" not in text:
        raise InvalidArgument(f"--slice expects COLUMN=VALUE; found '{text}'")
    field, value = text.split("=", 1)
    return field.strip(), value.strip()


def cmd_queue(args: argparse.Namespace) -> int:
    """Rank the items, build the file, and write it only when everything succeeded."""
    from consistency.analysis import AnalysisOptions
    from consistency.relabel import export, queue, task_shape
    from consistency.store import ViewFilter

    store, dataset = _store_and_dataset(args)
    view = ViewFilter(rounds=(str(args.round),)) if args.round else ViewFilter()
    options = AnalysisOptions(level=args.level, n_boot=args.bootstrap, seed=args.seed)
    batch = queue(
        store,
        dataset,
        classes=args.classes,
        slice=_slice(args.slice),
        labeler=args.labeler,
        action_rank=args.action_rank,
        budget=args.budget,
        min_labels=args.min_labels,
        controls=args.controls,
        view=view,
        options=options,
    )
    shape = task_shape(
        store,
        dataset,
        from_name=args.from_name,
        to_name=args.to_name,
        data_key=args.data_key,
        output_field=args.output_field,
    )
    data = export(batch, args.out_format, shape)
    Path(args.out).write_bytes(data)
    print(
        f"wrote {len(batch)} items to {args.out} ({_FORMAT_NAMES[args.out_format]}): "
        f"{batch.attrs['selection']}, highest gain first"
    )
    print(f"  {'rank':>4}  {'item_id':<16} {'gain':<24} {'consensus':<16} votes")
    for r in batch.head(SHOWN).itertuples():
        print(f"  {r.rank:>4}  {r.item_id:<16} {r.gain!r:<24} {r.consensus:<16} {r.votes}")
    if len(batch) > SHOWN:
        print(f"  ... and {len(batch) - SHOWN} more")
    for note in _notes(batch, args.out_format, shape):
        print(f"note: {note}")
    return 0


def _notes(batch: Any, fmt: str, shape: Any) -> list[str]:
    notes = []
    if fmt == "labelstudio":
        notes.append(
            f"the consensus pre-annotation uses from_name '{shape.from_name}' and to_name "
            f"'{shape.to_name}'; the data reference is in data.{shape.data_key}"
        )
    if fmt == "toloka" and not batch["gold_label"].notna().any():
        notes.append(
            "no control item in the file: Toloka's quality control needs some; "
            "add them with --controls N"
        )
    if fmt in ("labelstudio", "toloka"):
        notes.append("import the labels back with: consistency import FILE --dataset D --round R")
    return notes


def _fmt(x: Any, sign: bool = False) -> str:
    if x is None:
        return "n/a"
    return f"{x:+.3f}" if sign else f"{x:.3f}"


def format_comparison(c: dict[str, Any]) -> str:
    """The result of :func:`consistency.compare.compare_rounds` as text for the terminal."""
    pct = round(c["confidence"] * 100)
    pa = c["percent_agreement"]
    lines = [
        f"round {c['from']} -> round {c['to']} on {c['items_common']} items labeled in both "
        f"({pct}% paired bootstrap intervals, {c['draws']} draws)",
        f"  alpha ({c['level']}): {_fmt(c['alpha_from'])} -> {_fmt(c['alpha_to'])}, "
        f"change {_fmt(c['alpha_delta'], True)} [{_fmt(c['ci_low'], True)}, "
        f"{_fmt(c['ci_high'], True)}]: {c['verdict']}",
        f"  percent agreement: {_fmt(pa['from'])} -> {_fmt(pa['to'])}, change "
        f"{_fmt(pa['delta'], True)} [{_fmt(pa['ci_low'], True)}, {_fmt(pa['ci_high'], True)}]: "
        f"{pa['verdict']}",
        "",
        f"  {'class':<16} {'from':>6} {'to':>6} {'change':>7}  {'interval':<17} verdict",
    ]
    for r in c["per_class"]:
        interval = f"[{_fmt(r['ci_low'], True)}, {_fmt(r['ci_high'], True)}]"
        lines.append(
            f"  {str(r['class'])[:16]:<16} {_fmt(r['from']):>6} {_fmt(r['to']):>6} "
            f"{_fmt(r['delta'], True):>7}  {interval:<17} {r['verdict']}"
        )
    lines += ["", f"  {len(c['flips'])} items changed consensus"]
    for f in c["flip_counts"][:SHOWN]:
        lines.append(f"    {f['from_label']} -> {f['to_label']}: {f['items']}")
    return "\n".join(lines)


def cmd_compare(args: argparse.Namespace) -> int:
    from consistency.compare import compare_rounds

    store, dataset = _store_and_dataset(args)
    a, b = args.rounds
    result = compare_rounds(
        store, dataset, a, b, level=args.level, n_boot=args.bootstrap, seed=args.seed
    )
    if args.json:
        print(json.dumps(result, indent=2, allow_nan=False))
    else:
        print(format_comparison(result))
    return 0


def _add_measure(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", help="a dataset id in the store, or a file to read directly")
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
        help="bootstrap draws for intervals (default: 1000)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed of the bootstrap")


def add_commands(
    sub: Any,
    command: Callable[[str], Callable[[Any], Any]],
    add_analysis: Callable[[argparse.ArgumentParser], None],
    add_view: Callable[[argparse.ArgumentParser], None],
    add_db: Callable[[argparse.ArgumentParser], None],
) -> None:
    """Add ``queue`` and ``compare`` to the ``consistency`` command."""
    p = sub.add_parser(
        "queue",
        help="the items to relabel, best first, as a task file",
        description="Choose items (by default those of the top recommendation), rank them by "
        "how much alpha would rise if their labels became unanimous on their consensus, and "
        "write them as a Label Studio tasks file, a Toloka task TSV or a CSV. Nothing is "
        "written when anything fails.",
    )
    _add_measure(p)
    chosen = p.add_mutually_exclusive_group()
    chosen.add_argument(
        "--action-rank", type=int, metavar="N", help="the items of recommendation N"
    )
    chosen.add_argument(
        "--class",
        dest="classes",
        action="append",
        metavar="C",
        help="items where at least one label is C (repeatable)",
    )
    chosen.add_argument("--slice", metavar="COLUMN=VALUE", help="the items of a metadata slice")
    chosen.add_argument("--labeler", metavar="L", help="the items labeler L labeled")
    p.add_argument("--budget", type=int, metavar="N", help="at most N items (default: all)")
    p.add_argument(
        "--min-labels",
        type=int,
        default=2,
        dest="min_labels",
        metavar="K",
        help="only items with at least K labels (default: 2)",
    )
    p.add_argument(
        "--controls",
        type=int,
        default=0,
        metavar="N",
        help="also add up to N control items (with a gold label) for quality control",
    )
    p.add_argument(
        "--format", dest="out_format", required=True, choices=list(EXPORTERS), help="file type"
    )
    p.add_argument("--out", required=True, metavar="FILE")
    p.add_argument("--from-name", dest="from_name", help="Label Studio: the Choices tag's name")
    p.add_argument("--to-name", dest="to_name", help="Label Studio: the object tag it labels")
    p.add_argument(
        "--data-key",
        dest="data_key",
        help="the task data field of the data reference (default: the original import's)",
    )
    p.add_argument(
        "--output-field",
        dest="output_field",
        help="Toloka: the output field of the GOLDEN: column (default: the original import's)",
    )
    p.add_argument("--round", help="measure this round alone (default: each item's latest)")
    add_db(p)
    command("queue")(cmd_queue)

    p = sub.add_parser(
        "compare",
        help="did a relabeling round change agreement?",
        description="Alpha, percent agreement and per-class specific agreement of two rounds "
        "on the items labeled in both, the change with a paired bootstrap interval, and the "
        "items whose consensus changed.",
    )
    _add_measure(p)
    p.add_argument("--rounds", nargs=2, required=True, metavar=("A", "B"))
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_db(p)
    command("compare")(cmd_compare)
