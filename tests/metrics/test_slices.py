"""Alpha per slice (metadata value, round): each slice equals its own data filtered alone."""

from __future__ import annotations

from dataclasses import replace

import ibis
import krippendorff
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consistency.engine import label_value_or_nan, profile
from consistency.errors import DatasetNotFound, InvalidArgument
from consistency.metrics.alpha import alpha_with_ci
from consistency.metrics.slices import (
    COLUMNS,
    alpha_by_column,
    alpha_by_metadata,
    alpha_by_round,
    profiles_by,
)
from consistency.schema import ImportResult
from consistency.store import Store, ViewFilter

N_BOOT, SEED = 200, 3

# Round 1 and round 2 labels; camera per item (c6 has none; c7 has one but no labels).
ROUND_1 = [
    ("c1", "p1", "x"), ("c1", "p2", "x"),
    ("c2", "p1", "y"), ("c2", "p2", "y"),
    ("c3", "p1", "x"), ("c3", "p2", "x"), ("c3", "p3", "x"),
    ("c4", "p1", "x"), ("c4", "p2", "y"),
    ("c5", "p1", "x"), ("c5", "p2", "x"),
    ("c6", "p1", "y"), ("c6", "p2", "y"), ("c6", "p3", "x"),
    ("c8", "p1", "y"), ("c8", "p2", "y"),
]  # fmt: skip
ROUND_2 = [
    ("c4", "p1", "y"), ("c4", "p3", "y"),
    ("c6", "p2", "y"), ("c6", "p3", "y"),
    ("c9", "p1", "x"),
]  # fmt: skip
CAMERA = {"c1": "A", "c2": "A", "c3": "A", "c9": "A", "c4": "B", "c5": "B", "c8": "B", "c7": "C"}


def frame(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["item_id", "labeler_id", "label"])


@pytest.fixture
def store(tmp_path) -> Store:
    s = Store(tmp_path / "slices.duckdb")
    ids = sorted({r[0] for r in ROUND_1 + ROUND_2} | set(CAMERA))
    items = pd.DataFrame({"item_id": ids, "camera": [CAMERA.get(i) for i in ids]})
    for name, rows in (("1", ROUND_1), ("2", ROUND_2)):
        result = ImportResult("test", frame(rows), items=items)
        s.import_result(
            result, file_name=f"r{name}.csv", data=name.encode(), dataset="cams", round=name
        )
    yield s
    s.close()


def estimate(ann: ibis.Table) -> tuple:
    p = profile(ann)
    est = alpha_with_ci(p, n_boot=N_BOOT, seed=SEED)
    return p.items, p.pairable_items, p.annotations, est.value, est.ci_low, est.ci_high


def row_of(table: pd.DataFrame, value: str | None) -> tuple:
    r = table[table["value"].map(lambda v: v == value if value is not None else v is None)]
    assert len(r) == 1, value
    return tuple(r.iloc[0][list(COLUMNS[1:])].tolist())


def same(a: tuple, b: tuple) -> bool:
    return all((np.isnan(x) and np.isnan(y)) or x == y for x, y in zip(a, b, strict=True))


def test_hand_values_in_round_1(store: Store) -> None:
    t = alpha_by_metadata(store, "cams", "camera", ViewFilter(rounds=("1",)), n_boot=N_BOOT)
    assert tuple(t.columns) == COLUMNS
    assert t["value"].tolist() == ["A", "B", "C", None]
    s = t.set_index(t["value"].fillna("none"))
    # A: (x,x) (y,y) (x,x,x): perfect agreement
    assert s.loc["A", ["items", "pairable_items", "annotations", "alpha"]].tolist() == [
        3,
        3,
        7,
        1.0,
    ]
    # B: (x,y) (x,x) (y,y): o_xx = o_yy = 2, o_xy = o_yx = 1, n = 6;
    # alpha = 1 - (n - 1) * 2 / (n_x n_y * 2) = 1 - 5 * 2 / 18 = 4/9
    assert s.loc["B", ["items", "pairable_items", "annotations"]].tolist() == [3, 3, 6]
    assert s.loc["B", "alpha"] == pytest.approx(4 / 9, abs=1e-12)
    # C: an item without labels
    assert s.loc["C", ["items", "pairable_items", "annotations"]].tolist() == [0, 0, 0]
    assert s.loc["C", ["alpha", "ci_low", "ci_high"]].isna().all()
    # no camera: c6 (y,y,x): o_yy = 1, o_xy = o_yx = 1, n = 3; alpha = 1 - 2 * 2 / (2 * 1 * 2) = 0
    assert s.loc["none", ["items", "annotations"]].tolist() == [1, 3]
    assert s.loc["none", "alpha"] == pytest.approx(0.0, abs=1e-12)
    assert t["ci_low"].iloc[1] <= t["alpha"].iloc[1] <= t["ci_high"].iloc[1]


@pytest.mark.parametrize(
    "view",
    [
        ViewFilter(),
        ViewFilter(rounds=("1",)),
        ViewFilter(rounds=("*",)),
        ViewFilter(rounds=("*",), labelers=("p1", "p2")),
    ],
)
def test_each_value_equals_its_data_alone(store: Store, view: ViewFilter) -> None:
    t = alpha_by_metadata(store, "cams", "camera", view, n_boot=N_BOOT, seed=SEED)
    for value in ("A", "B", "C"):
        alone = store.annotations("cams", replace(view, metadata=(("camera", (value,)),)))
        assert same(row_of(t, value), estimate(alone)), value
    # items without a camera: the view's annotations minus those of items with one
    m = store.table("item_metadata")
    m = m.filter((m.dataset == "cams") & (m.field == "camera"))
    ann = store.annotations("cams", view)
    none = ann.anti_join(m, ann.item_id == m.item_id)
    assert same(row_of(t, None), estimate(none))
    assert t["annotations"].sum() == ann.count().execute()


def test_krippendorff_package_per_value(store: Store) -> None:
    t = alpha_by_metadata(store, "cams", "camera", ViewFilter(rounds=("*",)), n_boot=10)
    for value in ("A", "B"):
        df = store.annotations("cams", ViewFilter(rounds=("*",), metadata=(("camera", (value,)),)))
        df = df.execute()
        # one column per annotation slot of an item (values are exchangeable within an item)
        df["slot"] = df.groupby("item_id").cumcount()
        wide = df.pivot(index="slot", columns="item_id", values="label")
        codes = wide.apply(lambda col: col.map({"x": 0.0, "y": 1.0})).to_numpy(dtype=float)
        expected = krippendorff.alpha(reliability_data=codes, level_of_measurement="nominal")
        assert row_of(t, value)[3] == pytest.approx(expected, abs=1e-9)


def test_a_view_on_the_field_lists_its_values_only(store: Store) -> None:
    view = ViewFilter(rounds=("1",), metadata=(("camera", ("B", "C")),))
    t = alpha_by_metadata(store, "cams", "camera", view, n_boot=N_BOOT)
    assert t["value"].tolist() == ["B", "C"]
    assert t["alpha"].iloc[0] == pytest.approx(4 / 9)


def test_unknown_field_dataset_and_level(store: Store) -> None:
    with pytest.raises(
        InvalidArgument,
        match=r"^metadata field 'factory' not found in dataset 'cams'\. Fields: camera$",
    ):
        alpha_by_metadata(store, "cams", "factory")
    with pytest.raises(
        DatasetNotFound, match=r"^dataset 'nope' not found in the store\. Datasets: cams$"
    ):
        alpha_by_round(store, "nope")
    with pytest.raises(InvalidArgument, match=r"^unknown level of measurement 'loud'"):
        alpha_by_round(store, "cams", level="loud")  # type: ignore[arg-type]


def test_rounds_equal_filtering_by_hand(store: Store) -> None:
    t = alpha_by_round(store, "cams", n_boot=N_BOOT, seed=SEED)
    assert t["value"].tolist() == ["1", "2"]
    for r in ("1", "2"):
        assert same(row_of(t, r), estimate(store.annotations("cams", ViewFilter(rounds=(r,)))))
    # round 2: (y,y) (y,y) (x): one value among the pairable ones, alpha undefined
    assert row_of(t, "2")[:3] == (3, 2, 5) and np.isnan(row_of(t, "2")[3])


def test_rounds_within_a_view(store: Store) -> None:
    view = ViewFilter(rounds=("2",), labelers=("p1", "p3"), metadata=(("camera", ("B",)),))
    t = alpha_by_round(store, "cams", view, n_boot=N_BOOT, seed=SEED)
    assert t["value"].tolist() == ["2"]
    assert same(row_of(t, "2"), estimate(store.annotations("cams", view)))
    t = alpha_by_round(store, "cams", ViewFilter(labelers=("p1", "p2")), n_boot=N_BOOT, seed=SEED)
    for r in ("1", "2"):
        alone = store.annotations("cams", ViewFilter(rounds=(r,), labelers=("p1", "p2")))
        assert same(row_of(t, r), estimate(alone))


# --- the grouped profiles equal the engine's profile of each slice ---------------------
LABELS = ["x", "y", "猫", "1", "01", "-2.5", "10"]


@st.composite
def sliced(draw: st.DrawFn) -> pd.DataFrame:
    labels = draw(st.lists(st.sampled_from(LABELS), min_size=1, max_size=4, unique=True))
    rows = []
    for i in range(draw(st.integers(1, 8))):
        s = draw(st.sampled_from(["s1", "s2", "é", None]))
        for _ in range(draw(st.integers(1, 4))):  # a labeler may repeat on an item
            rows.append((f"i{i}", draw(st.sampled_from("ABC")), draw(st.sampled_from(labels)), s))
    df = pd.DataFrame(rows, columns=["item_id", "labeler_id", "label", "slice"], dtype=object)
    return df.assign(label_value=[label_value_or_nan(x) for x in df["label"]])


def assert_same_profile(a, b) -> None:
    assert a.labels == b.labels
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.counts, b.counts)
    np.testing.assert_array_equal(a.weight, b.weight)
    np.testing.assert_array_equal(a.label_totals, b.label_totals)
    assert (a.annotations, a.repeats, a.labelers) == (b.annotations, b.repeats, b.labelers)


@settings(max_examples=15, deadline=None)
@given(sliced())
def test_grouped_profiles_equal_each_slice_alone(df: pd.DataFrame) -> None:
    got = profiles_by(ibis.memtable(df), "slice")
    keys = [None if v is None else str(v) for v in df["slice"].drop_duplicates()]
    assert sorted(got, key=str) == sorted(keys, key=str)
    for key in keys:
        part = df[df["slice"].isna()] if key is None else df[df["slice"] == key]
        assert_same_profile(got[key], profile(ibis.memtable(part.drop(columns="slice"))))


@pytest.mark.parametrize("level", ["ordinal", "interval", "ratio"])
def test_numeric_levels_per_slice(level: str) -> None:
    rows = [("a", "1", "s"), ("a", "2", "s"), ("b", "3", "s"), ("b", "3", "s"), ("c", "1", "s"),
            ("c", "3", "s"), ("d", "2", "t"), ("d", "2", "t"), ("e", "5", "t"), ("e", "4", "t")]  # fmt: skip
    df = pd.DataFrame(rows, columns=["item_id", "label", "slice"])
    df = df.assign(
        labeler_id=[f"L{k % 2}" for k in range(len(df))], label_value=df["label"].astype(float)
    )
    t = alpha_by_column(ibis.memtable(df), "slice", level=level, n_boot=N_BOOT, seed=SEED)  # type: ignore[arg-type]
    assert t["value"].tolist() == ["s", "t"]
    for value in ("s", "t"):
        p = profile(ibis.memtable(df[df["slice"] == value].drop(columns="slice")))
        est = alpha_with_ci(p, level, n_boot=N_BOOT, seed=SEED)  # type: ignore[arg-type]
        assert row_of(t, value)[3:] == (est.value, est.ci_low, est.ci_high)


def test_listed_values_come_first_in_their_order() -> None:
    df = frame([("a", "L1", "x"), ("a", "L2", "x"), ("b", "L1", "y")]).assign(
        label_value=np.nan, slice=["10", "10", "9"]
    )
    t = alpha_by_column(ibis.memtable(df), "slice", values=["zz", "10"], n_boot=10)
    assert t["value"].tolist() == ["zz", "10", "9"]
    assert t["items"].tolist() == [0, 1, 1]
    assert alpha_by_column(ibis.memtable(df), "slice", n_boot=10)["value"].tolist() == ["9", "10"]
