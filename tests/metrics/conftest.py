"""Shared hypothesis strategies and oracle helpers for the metric tests.

``long_tables()`` draws canonical long tables (item_id, labeler_id, label)
with the edge cases agreement statistics must survive: labelers missing on
some items, items with one label, a single class, a labeler labeling the
same item twice, unicode and numeric-looking labels. ``to_reliability_matrix``
turns one into the dense labelers x items matrix that oracle libraries
(``krippendorff``, ``nltk``) need; dense matrices are for tests only.

Import them in a test module of this folder with
``from conftest import long_tables, to_reliability_matrix``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from hypothesis import strategies as st

#: Labels of every kind a user may bring: words, unicode, numeric-looking
#: strings (two of them, "007" and "7", with the same numeric value).
MIXED_LABELS: tuple[str, ...] = ("cat", "dog", "Ünïcödé", "猫 cat", "007", "7", "1.5", "-2", "NaN")

#: Labels that are numbers with distinct positive values (interval, ratio, ordinal).
NUMERIC_LABELS: tuple[str, ...] = ("1", "2", "3", "4", "5", "7.5", "10", "12")

#: Labeler ids, with unicode.
LABELERS: tuple[str, ...] = ("ann", "bob", "Zoë", "李", "l5", "l6", "l7", "l8")


@st.composite
def long_tables(
    draw: st.DrawFn,
    labels: Sequence[str] = MIXED_LABELS,
    min_items: int = 1,
    max_items: int = 10,
    max_labelers: int = 5,
    min_classes: int = 1,
    complete: bool = False,
    repeats: bool = True,
) -> pd.DataFrame:
    """A long table ``item_id, labeler_id, label`` (one row per label, at least one row).

    Args:
        labels: the pool the classes of the table are drawn from.
        min_items, max_items: bounds on the number of items.
        max_labelers: at most this many labelers (at most ``len(LABELERS)``).
        min_classes: the table's class set has at least this many classes
            (it may still use fewer, as labels are drawn from the set).
        complete: every labeler labels every item exactly once (at least two
            labelers, no repeats): the data Fleiss' kappa and nltk accept.
        repeats: allow a labeler to label the same item twice.

    Items have a "true" class that each label repeats two times in three,
    so agreement ranges from none to perfect.
    """
    classes = draw(
        st.lists(
            st.sampled_from(list(labels)), min_size=min_classes, max_size=len(labels), unique=True
        )
    )
    n_items = draw(st.integers(min_items, max_items))
    n_labelers = draw(st.integers(2 if complete else 1, min(max_labelers, len(LABELERS))))
    people = list(LABELERS[:n_labelers])
    rows: list[tuple[str, str, str]] = []
    for i in range(n_items):
        item = f"item-{i}" if i % 3 else f"ítem {i}"
        truth = draw(st.sampled_from(classes))
        who = (
            people
            if complete
            else draw(
                st.lists(st.sampled_from(people), min_size=1, max_size=n_labelers, unique=True)
            )
        )
        for person in who:
            times = 2 if repeats and not complete and draw(st.integers(0, 4)) == 4 else 1
            for _ in range(times):
                faithful = draw(st.integers(0, 2)) > 0
                label = truth if faithful else draw(st.sampled_from(classes))
                rows.append((item, person, label))
    return pd.DataFrame(rows, columns=["item_id", "labeler_id", "label"])


def to_reliability_matrix(df: pd.DataFrame, numeric: bool = False) -> tuple[np.ndarray, list[str]]:
    """Dense (labelers x items) float matrix of a long table, NaN where a labeler gave no label.

    A labeler's second label on the same item goes to an extra row
    (``(labeler, 1)``): alpha depends only on each item's values, so this keeps
    every label. Cells hold the label's position in the returned sorted label
    list, or with ``numeric=True`` the label's number.
    """
    labels = sorted(df["label"].astype(str).unique())
    code = {lab: float(i) for i, lab in enumerate(labels)}
    value = df["label"].map(float) if numeric else df["label"].map(code)
    rep = df.groupby(["item_id", "labeler_id"]).cumcount()
    wide = (
        df.assign(value=value.astype(float), rep=rep)
        .pivot(index=["labeler_id", "rep"], columns="item_id", values="value")
        .sort_index()
    )
    return wide.to_numpy(dtype=float), labels
