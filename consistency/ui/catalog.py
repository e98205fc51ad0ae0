"""What the store holds, as the plain values the dashboard's view is checked against.

:func:`build_catalog` reads one dataset's classes, labelers, rounds, metadata
values and time range; :func:`data_version` changes after every import, so the
dashboard's caches key on it.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from consistency.engine import label_dictionary
from consistency.store import Store, ViewFilter
from consistency.ui.state import Catalog

#: Every round pooled: what the catalog lists values from.
_ALL_ROUNDS = ViewFilter(rounds=("*",))


def data_version(store: Store) -> int:
    """A number that changes after each import or attachment (the last import id)."""
    imports = store.table("imports")
    value = imports.import_id.max().execute()
    return 0 if value is None or pd.isna(value) else int(value)


def _day(value: object) -> date | None:
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).date()


def build_catalog(store: Store, dataset: str | None) -> Catalog:
    """The datasets of the store and, when ``dataset`` is one, its values.

    Classes are in the engine's canonical order (numbers by value, then names);
    labelers, rounds and metadata values are sorted. ``time_range`` is the
    first and last day with a submission time, or None when there is none.
    """
    datasets = tuple(store.dataset_ids())
    if dataset is None or dataset not in datasets:
        return Catalog(datasets=datasets)
    ann = store.annotations(dataset, _ALL_ROUNDS)
    classes = tuple(label_dictionary(ann)["label"].astype(str))
    labelers = ann.select("labeler_id").distinct().execute()["labeler_id"].astype(str)
    span = ann.aggregate(first=ann.submitted_at.min(), last=ann.submitted_at.max()).execute()
    first, last = _day(span["first"].iat[0]), _day(span["last"].iat[0])
    fields = store.metadata_fields(dataset)["field"].astype(str)
    return Catalog(
        datasets=datasets,
        dataset=dataset,
        classes=classes,
        labelers=tuple(sorted(labelers)),
        rounds=tuple(store.rounds(dataset)),
        metadata=tuple((f, tuple(store.metadata_values(dataset, f))) for f in fields),
        time_range=(first, last) if first and last else None,
    )


def item_exists(store: Store, dataset: str, item_id: str) -> bool:
    """Whether the dataset has an item with this id."""
    items = store.items(dataset)
    return int(items.filter(items.item_id == item_id).count().execute()) > 0
