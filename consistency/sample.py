"""The bundled sample dataset, imported on first use so the dashboard opens on data.

The sample is the phone-screen inspection dataset written by
``sample_data/generate.py``: ``inspection_long.csv`` (annotations with item
metadata and gold labels) imported as dataset ``inspection``, then
``inspection_predictions.csv`` attached as model predictions.
"""

from __future__ import annotations

import threading
from pathlib import Path

from consistency.errors import ConsistencyError
from consistency.io import Source, read_path, read_predictions
from consistency.store import ImportReport, Store

#: The dataset id of the sample.
SAMPLE_DATASET = "inspection"
SAMPLE_ANNOTATIONS = "inspection_long.csv"
SAMPLE_PREDICTIONS = "inspection_predictions.csv"

_lock = threading.Lock()


def sample_dir() -> Path:
    """The ``sample_data`` folder of the source tree."""
    return Path(__file__).resolve().parent.parent / "sample_data"


def import_sample(store: Store, folder: str | Path | None = None) -> list[ImportReport]:
    """Import the sample annotations and attach its predictions; return both reports.

    Importing twice is harmless: a file already imported (same sha256) is a no-op.

    Raises:
        ConsistencyError: the sample files are missing (the message names the
            folder and how to write them).
    """
    folder = Path(folder) if folder is not None else sample_dir()
    annotations = folder / SAMPLE_ANNOTATIONS
    predictions = folder / SAMPLE_PREDICTIONS
    missing = [p.name for p in (annotations, predictions) if not p.is_file()]
    if missing:
        raise ConsistencyError(
            f"sample data not found: {', '.join(missing)} missing in folder '{folder.name}'. "
            "Write it with: python sample_data/generate.py"
        )
    result = read_path(annotations)
    report = store.import_result(
        result,
        file_name=annotations.name,
        data=annotations.read_bytes(),
        dataset=SAMPLE_DATASET,
    )
    source = Source.from_path(predictions)
    attached = store.attach(
        SAMPLE_DATASET,
        "predictions",
        read_predictions(source),
        file_name=predictions.name,
        data=source.data,
        format="csv",
    )
    return [report, attached]


def ensure_sample(store: Store, folder: str | Path | None = None) -> str:
    """The dataset to open by default, importing the sample first when the store is empty.

    Returns the sample's id after importing it into an empty store, else the
    oldest dataset of the store. Safe to call from several threads at once.
    """
    with _lock:
        ids = store.dataset_ids()
        if ids:
            return ids[0]
        import_sample(store, folder)
        return SAMPLE_DATASET
