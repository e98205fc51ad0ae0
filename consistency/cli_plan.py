"""The ``consistency plan`` subcommand: how many more items, how many labels per item.

Added to the command through :data:`consistency.cli.EXTENSIONS`; the work is
done by :func:`consistency.planner.plan`.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from consistency import planner


def _fraction(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number; found '{text}'") from None


def cmd_plan(args: argparse.Namespace) -> int:
    """Print the plan of a dataset view (or of a file), as text or JSON."""
    from consistency.cli import _target, _view

    labels_per_item = planner.parse_overlap(args.overlap)
    store, dataset = _target(args)
    result = planner.plan(
        store,
        dataset,
        _view(args),
        ci_width=args.ci_width,
        cls=args.cls,
        labels_per_item=labels_per_item,
        target_accuracy=args.target_accuracy,
        level=args.level,
        n_boot=args.bootstrap,
        seed=args.seed,
        draws=args.draws,
    )
    if args.json:
        from consistency.analysis import clean_json

        print(json.dumps(clean_json(result), indent=2, allow_nan=False))
    else:
        print(planner.format_plan(result))
    return 0


def add_commands(
    sub: Any,
    command: Callable[[str], Callable[[Any], Any]],
    add_analysis: Callable[[argparse.ArgumentParser], None],
    add_view: Callable[[argparse.ArgumentParser], None],
    add_db: Callable[[argparse.ArgumentParser], None],
) -> None:
    """Add ``plan`` to the subcommands (the :data:`consistency.cli.EXTENSIONS` hook)."""
    p = sub.add_parser(
        "plan",
        help="items to add for a narrower interval, and labels per item for a target accuracy",
        description="How many more items (labeled as now) bring the interval of alpha, or of "
        "one class's specific agreement, under a width; and the expected accuracy of "
        "majority vote and Dawid-Skene consensus with 1 to 7 labels per item, from the "
        "labelers' fitted confusion matrices.",
    )
    add_analysis(p)
    p.add_argument(
        "--class",
        dest="cls",
        metavar="C",
        help="plan the interval of this class's specific agreement (default: alpha)",
    )
    p.add_argument(
        "--ci-width",
        dest="ci_width",
        type=_fraction,
        default=planner.CI_WIDTH,
        metavar="W",
        help=f"goal width of the 95%% interval, high minus low (default: {planner.CI_WIDTH})",
    )
    p.add_argument(
        "--overlap",
        default=f"1..{planner.MAX_LABELS}",
        metavar="LOW..HIGH",
        help=f"labels per item to simulate (default: 1..{planner.MAX_LABELS})",
    )
    p.add_argument(
        "--target-accuracy",
        dest="target_accuracy",
        type=_fraction,
        metavar="A",
        help="also give the labels per item needed to reach this consensus accuracy",
    )
    p.add_argument(
        "--draws",
        type=int,
        default=planner.DRAWS,
        metavar="N",
        help=f"simulated items per class and per number of labels (default: {planner.DRAWS})",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    command("plan")(cmd_plan)
