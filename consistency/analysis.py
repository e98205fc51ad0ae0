"""The full analysis of a dataset: what ``consistency analyze`` prints and the dashboard shows.

Each function here takes a store, a dataset id and a view (filters), runs the
engine queries and the metric functions, and returns plain data. The
functions are the library's public entry points for one panel each; the
dashboard caches their results.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from consistency.engine import Profile, profile
from consistency.store import Store, ViewFilter


@dataclass(frozen=True)
class AnalysisOptions:
    """Settings of an analysis.

    Attributes:
        level: level of measurement of Krippendorff's alpha.
        n_boot: bootstrap draws for intervals.
        seed: bootstrap seed.
        min_shared: items two labelers must share for their Cohen's kappa.
        fast_threshold_s: answers faster than this are "suspiciously fast".
        model: which model's predictions to compare with (default: the only one,
            else the first by name).
    """

    level: str = "nominal"
    n_boot: int = 1000
    seed: int = 0
    min_shared: int = 10
    fast_threshold_s: float = 3.0
    model: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The options as a dict (for JSON output)."""
        return asdict(self)


def dataset_profile(store: Store, dataset: str, view: ViewFilter | None = None) -> Profile:
    """The profile (distinct per-item count patterns) of a dataset's view."""
    return profile(store.annotations(dataset, view))


def dataset_summary(store: Store, dataset: str, view: ViewFilter | None = None) -> dict[str, Any]:
    """Items, labelers, annotations, labels per item, classes, rounds, gold, models, metadata."""
    view = view or ViewFilter()
    p = dataset_profile(store, dataset, view)
    items = store.items(dataset)
    gold_items = int(items.filter(items.gold_label.notnull()).count().execute())
    preds = store.predictions(dataset)
    models = sorted(str(m) for m in preds.select("model").distinct().execute()["model"])
    counts = p.label_totals if p.label_totals.size else np.zeros(len(p.labels), dtype=int)
    return {
        "dataset": dataset,
        "view": view.describe(),
        "items": p.items,
        "labelers": p.labelers,
        "annotations": p.annotations,
        "pairable_items": p.pairable_items,
        "unpairable_items": p.items - p.pairable_items,
        "repeated_labels": p.repeats,
        "classes": list(p.labels),
        "class_counts": [
            {"class": lab, "n": int(n)} for lab, n in zip(p.labels, counts.tolist(), strict=True)
        ],
        "labels_per_item": {str(k): v for k, v in p.labels_per_item().items()},
        "rounds": store.rounds(dataset),
        "gold_items": gold_items,
        "models": models,
        "metadata_fields": store.metadata_fields(dataset)["field"].tolist(),
    }
