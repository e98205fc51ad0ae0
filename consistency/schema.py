"""The canonical tables every importer produces and everything downstream reads.

One long table of annotations (one row per label given), plus items and model
predictions. Nothing past the importers sees a raw export format.

annotations
    item_id (str), labeler_id (str), label (str), label_value (float, the
    numeric value of the label when it is a number, for ordinal/interval/ratio
    data), round (str, labeling round or instruction version; optional),
    started_at / submitted_at (UTC timestamps; optional), duration_s (float;
    optional), source_line (int: the file's line, or the JSON record index,
    1-based), attributes (JSON text of extra per-annotation fields; optional).
items
    item_id (str), gold_label (str; optional), is_control (bool), data_ref
    (str: image URL or path; optional), then any metadata columns (factory,
    camera, shift, ...), typed.
predictions
    item_id (str), model (str), predicted_label (str), confidence (float;
    optional).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

ANNOTATION_COLUMNS: dict[str, str] = {
    "item_id": "string",
    "labeler_id": "string",
    "label": "string",
    "label_value": "Float64",
    "round": "string",
    "started_at": "datetime64[us, UTC]",
    "submitted_at": "datetime64[us, UTC]",
    "duration_s": "Float64",
    "source_line": "Int64",
    "attributes": "string",
}
ITEM_COLUMNS: dict[str, str] = {
    "item_id": "string",
    "gold_label": "string",
    "is_control": "boolean",
    "data_ref": "string",
}
PREDICTION_COLUMNS: dict[str, str] = {
    "item_id": "string",
    "model": "string",
    "predicted_label": "string",
    "confidence": "Float64",
}
REQUIRED_ANNOTATION_COLUMNS = ("item_id", "labeler_id", "label")

#: Aliases accepted for the canonical column names (case-insensitive).
ALIASES: dict[str, tuple[str, ...]] = {
    "item_id": ("item_id", "item", "task", "task_id", "unit", "unit_id", "example", "sample"),
    "labeler_id": (
        "labeler_id",
        "labeler",
        "labeller",
        "worker",
        "worker_id",
        "annotator",
        "annotator_id",
        "rater",
        "rater_id",
        "coder",
        "judge",
        "user",
        "performer",
    ),
    "label": ("label", "answer", "response", "annotation", "class", "category", "value"),
    "gold_label": ("gold_label", "gold", "golden", "ground_truth", "true_label", "gt"),
    "round": ("round", "labeling_round", "iteration", "instruction_version"),
    "duration_s": ("duration_s", "duration", "lead_time", "time_s", "seconds"),
    "started_at": ("started_at", "started", "start_time"),
    "submitted_at": ("submitted_at", "submitted", "end_time", "created_at"),
    "data_ref": ("data_ref", "image", "image_url", "url", "path", "file"),
    "predicted_label": ("predicted_label", "prediction", "predicted", "model_label", "pred"),
    "confidence": ("confidence", "score", "probability", "prob"),
    "model": ("model", "model_version", "model_name"),
}


def label_value(label: object) -> float | None:
    """The numeric value of a label, or None when it is not a finite number."""
    try:
        v = float(str(label).strip())
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def _frame(columns: dict[str, str], df: pd.DataFrame | None, keep_extra: bool) -> pd.DataFrame:
    df = pd.DataFrame() if df is None else df.copy()
    n = len(df)
    out = {}
    for name, dtype in columns.items():
        col = df[name] if name in df.columns else pd.Series([None] * n, index=df.index)
        if dtype.startswith("datetime64"):
            out[name] = pd.to_datetime(col, utc=True, errors="coerce").astype(dtype)
        elif dtype == "boolean":
            out[name] = col.fillna(False).astype("boolean")
        else:
            out[name] = col.astype(dtype)
    extra = [c for c in df.columns if c not in columns] if keep_extra else []
    result = pd.DataFrame(out, index=df.index)
    for c in extra:
        result[c] = df[c]
    return result.reset_index(drop=True)


def canonical_annotations(df: pd.DataFrame | None) -> pd.DataFrame:
    """Annotations with exactly the canonical columns and dtypes.

    ``label_value`` is filled from ``label`` where missing.
    """
    out = _frame(ANNOTATION_COLUMNS, df, keep_extra=False)
    missing = out["label_value"].isna() & out["label"].notna()
    if missing.any():
        labels = out.loc[missing, "label"]
        values = {lab: label_value(lab) for lab in labels.unique()}
        out.loc[missing, "label_value"] = labels.map(values).astype("Float64")
    return out


def canonical_items(df: pd.DataFrame | None) -> pd.DataFrame:
    """Items with the canonical columns first, metadata columns after."""
    return _frame(ITEM_COLUMNS, df, keep_extra=True)


def canonical_predictions(df: pd.DataFrame | None) -> pd.DataFrame:
    """Predictions with exactly the canonical columns; ``model`` defaults to "model"."""
    out = _frame(PREDICTION_COLUMNS, df, keep_extra=False)
    out["model"] = out["model"].fillna("model")
    return out


@dataclass
class ImportResult:
    """What one importer returns for one file.

    ``warnings`` are problems with severity "warning" (kept data that looks
    suspicious: a labeler labeling an item twice, an absurd duration, ...).
    ``stats`` has at least rows_read, rows_kept, rows_rejected; importers add
    their own counters (cancelled, skipped, ...).
    """

    format: str
    annotations: pd.DataFrame
    items: pd.DataFrame = field(default_factory=lambda: canonical_items(None))
    predictions: pd.DataFrame = field(default_factory=lambda: canonical_predictions(None))
    warnings: list = field(default_factory=list)
    stats: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.annotations = canonical_annotations(self.annotations)
        self.items = canonical_items(self.items)
        self.predictions = canonical_predictions(self.predictions)
