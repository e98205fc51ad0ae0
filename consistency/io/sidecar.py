"""Side files: gold labels and model predictions, as tables (CSV, TSV, Parquet, JSON Lines)."""

from __future__ import annotations

import pandas as pd

from consistency.io._build import (
    ItemBook,
    Problems,
    find_column,
    id_text,
    missing_column,
    number,
    optional_label,
    quoted,
    require_table,
    required_text,
)
from consistency.io._parse import Loc, Parsed
from consistency.schema import ALIASES, canonical_predictions

#: Besides the gold aliases, a gold file may name its gold column like a label
#: (crowd-kit's ``gt.csv`` is ``task,label``; its aggregated series is ``agg_label``).
GOLD_EXTRA = ALIASES["label"] + ("agg_label",)
PREDICTION_EXTRA = ALIASES["label"]


def read_gold(parsed: Parsed) -> pd.DataFrame:
    """Gold labels: ``item_id, gold_label`` (aliases accepted); rows with no gold are skipped.

    Raises:
        ImportFailed: a column is missing, an item id is empty, or an item has two
            different gold labels.
    """
    problems = Problems(parsed.name)
    table = require_table(parsed, "gold", problems)
    item_col = find_column(table.columns, "item_id")
    gold_col = find_column(table.columns, "gold_label", GOLD_EXTRA)
    if item_col is None:
        missing_column(problems, "item_id", table.columns)
    if gold_col is None:
        missing_column(problems, "gold_label", table.columns, GOLD_EXTRA)
    if item_col is None or gold_col is None:
        problems.fail()
    book = ItemBook(problems)
    for i, loc in enumerate(table.locs):
        item = _item(table.cells[item_col][i], loc, item_col, problems)
        gold = optional_label(table.cells[gold_col][i], problems, loc, gold_col, "a gold label")
        if item is not None and gold is not None:
            book.set_gold(item, gold, loc, gold_col)
    problems.raise_if_errors()
    return pd.DataFrame(
        {
            "item_id": pd.Series(list(book.gold), dtype="string"),
            "gold_label": pd.Series([g for g, _ in book.gold.values()], dtype="string"),
        }
    )


def _item(value: object, loc: Loc, column: str | None, problems: Problems) -> str | None:
    return required_text(value, problems, loc, column, "an item id")


def read_predictions(parsed: Parsed) -> pd.DataFrame:
    """Model predictions: ``item_id, predicted_label`` and optionally ``model, confidence``.

    ``model`` defaults to "model". The same prediction twice is kept once; two
    different predictions of one model for one item are an error.
    """
    problems = Problems(parsed.name)
    table = require_table(parsed, "predictions", problems)
    cols = {
        "item_id": find_column(table.columns, "item_id"),
        "predicted_label": find_column(table.columns, "predicted_label", PREDICTION_EXTRA),
        "model": find_column(table.columns, "model"),
        "confidence": find_column(table.columns, "confidence"),
    }
    if cols["item_id"] is None:
        missing_column(problems, "item_id", table.columns)
    if cols["predicted_label"] is None:
        missing_column(problems, "predicted_label", table.columns, PREDICTION_EXTRA)
    problems.raise_if_errors()
    empty = [None] * len(table)
    cell = {k: table.cells[c] if c else empty for k, c in cols.items()}
    seen: dict[tuple[str, str], tuple[str, Loc]] = {}
    rows = []
    for i, loc in enumerate(table.locs):
        item = _item(cell["item_id"][i], loc, cols["item_id"], problems)
        label = required_text(
            cell["predicted_label"][i],
            problems,
            loc,
            cols["predicted_label"],
            "a predicted label",
            label=True,
        )
        model = id_text(cell["model"][i]) or "model"
        confidence = number(
            cell["confidence"][i], problems, loc, cols["confidence"] or "", what="a number"
        )
        if item is None or label is None:
            continue
        first = seen.get((item, model))
        if first is None:
            seen[item, model] = (label, loc)
            rows.append(
                {
                    "item_id": item,
                    "model": model,
                    "predicted_label": label,
                    "confidence": confidence,
                }
            )
        elif first[0] != label:
            problems.error(
                "conflicting_prediction",
                f"one prediction per model and item (model '{model}', item '{item}')",
                f"{quoted(label)} here and {quoted(first[0])} at {first[1].describe()}",
                loc,
                cols["predicted_label"],
            )
    problems.raise_if_errors()
    return canonical_predictions(pd.DataFrame(rows))
