"""Human-level performance per class: hand counts, the worked example, an oracle, properties."""

from __future__ import annotations

import itertools
import math
from collections import Counter, defaultdict

import ibis
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consistency.errors import InvalidArgument, NotComputable
from consistency.metrics.hlp import COLUMNS, RATES, hlp_per_class, wilson_interval
from consistency.schema import ImportResult
from consistency.store import Store

Z = 1.959963984540054  # the 97.5% normal quantile


def wilson_closed_form(k: int, n: int) -> tuple[float, float]:
    """Wilson (1927) score interval, written out (independent of statsmodels)."""
    p = k / n
    centre = p + Z * Z / (2 * n)
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
    return (centre - half) / (1 + Z * Z / n), (centre + half) / (1 + Z * Z / n)


def frame(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["item_id", "labeler_id", "label"])


def preds_frame(pairs: dict[str, str], model: str = "m") -> pd.DataFrame:
    return pd.DataFrame(
        {"item_id": list(pairs), "model": model, "predicted_label": list(pairs.values())}
    )


def gold_frame(pairs: dict[str, str | None]) -> pd.DataFrame:
    return pd.DataFrame({"item_id": list(pairs), "gold_label": list(pairs.values())}, dtype=object)


# --- a small example, every column counted by hand ------------------------------------
# i1: A x, B x, C y   gold x, model x
# i2: A y, B y        gold y, model x
# i3: A x             (one label)      model x
# i4: B x, C x        (no gold, no prediction)
# i5: A y, B x        gold x, model y
SMALL = frame(
    [
        ("i1", "A", "x"),
        ("i1", "B", "x"),
        ("i1", "C", "y"),
        ("i2", "A", "y"),
        ("i2", "B", "y"),
        ("i3", "A", "x"),
        ("i4", "B", "x"),
        ("i4", "C", "x"),
        ("i5", "A", "y"),
        ("i5", "B", "x"),
    ]
)
SMALL_GOLD = gold_frame({"i1": "x", "i2": "y", "i3": None, "i4": None, "i5": "x"})
SMALL_PREDS = preds_frame({"i1": "x", "i2": "x", "i3": "x", "i5": "y"})

# (rate, class) -> (k, n), counted by hand:
SMALL_COUNTS = {
    # ordered pairs of different labelers. x: i1 (A,B) (B,A) agree, (A,C) (B,C) not;
    # i4 (B,C) (C,B) agree; i5 (B,A) not -> 4 of 7. y: i1 (C,A) (C,B) not;
    # i2 (A,B) (B,A) agree; i5 (A,B) not -> 2 of 5.
    ("hlp", "x"): (4, 7),
    ("hlp", "y"): (2, 5),
    # annotations on items with a prediction. x: i1 A, B (model x), i3 A (x): right;
    # i5 B (model y): wrong -> 3 of 4. y: i1 C, i2 A, i2 B wrong, i5 A right -> 1 of 4.
    ("model_accuracy", "x"): (3, 4),
    ("model_accuracy", "y"): (1, 4),
    # gold x: i1 x, x, y and i5 y, x -> 3 of 5; gold y: i2 y, y -> 2 of 2.
    ("hlp_gold", "x"): (3, 5),
    ("hlp_gold", "y"): (2, 2),
    # gold x items: i1 model x right, i5 model y wrong -> 1 of 2; gold y: i2 model x -> 0 of 1.
    ("model_accuracy_gold", "x"): (1, 2),
    ("model_accuracy_gold", "y"): (0, 1),
    # unanimous with >= 2 labels: i2 (y, model x: wrong), i4 (x, no prediction: left out).
    ("model_accuracy_agreed", "x"): (0, 0),
    ("model_accuracy_agreed", "y"): (0, 1),
}


def check_rates(table: pd.DataFrame, expected: dict[tuple[str, str], tuple[int, int]]) -> None:
    t = table.set_index("class")
    for (rate, cls), (k, n) in expected.items():
        assert t.loc[cls, f"{rate}_n"] == n, (rate, cls)
        if n == 0:
            assert np.isnan(t.loc[cls, rate])
            assert np.isnan(t.loc[cls, f"{rate}_ci_low"])
            assert np.isnan(t.loc[cls, f"{rate}_ci_high"])
            continue
        assert t.loc[cls, rate] == pytest.approx(k / n, abs=1e-12), (rate, cls)
        low, high = wilson_closed_form(k, n)
        assert t.loc[cls, f"{rate}_ci_low"] == pytest.approx(max(low, 0.0), abs=1e-9)
        assert t.loc[cls, f"{rate}_ci_high"] == pytest.approx(min(high, 1.0), abs=1e-9)


def test_small_example_every_column() -> None:
    t = hlp_per_class(SMALL, SMALL_GOLD, SMALL_PREDS)
    assert tuple(t.columns) == COLUMNS
    assert t["class"].tolist() == ["x", "y"]
    assert t["share"].tolist() == pytest.approx([0.6, 0.4])
    check_rates(t, SMALL_COUNTS)
    s = t.set_index("class")
    # gap = hlp - model_accuracy; priority = max(gap, 0) x share
    assert s.loc["x", "gap"] == pytest.approx(4 / 7 - 3 / 4)
    assert s.loc["y", "gap"] == pytest.approx(2 / 5 - 1 / 4)
    assert s.loc["x", "priority"] == 0.0
    assert s.loc["y", "priority"] == pytest.approx(0.15 * 0.4)
    assert s.loc["x", "gap_gold"] == pytest.approx(3 / 5 - 1 / 2)
    assert s.loc["y", "gap_gold"] == pytest.approx(1.0)
    assert s.loc["x", "priority_gold"] == pytest.approx(0.1 * 0.6)
    assert s.loc["y", "priority_gold"] == pytest.approx(0.4)
    assert t.attrs["model"] == "m"


@pytest.mark.parametrize(
    ("conf", "x", "y"),
    [
        (1.0, (0, 0), (0, 1)),
        # i1 has x with 2 of 3 labels (model x: right); i5 is a 1-1 tie, never agreed.
        (0.6, (1, 1), (0, 1)),
        (0.5, (1, 1), (0, 1)),
        (0.7, (0, 0), (0, 1)),
    ],
)
def test_model_accuracy_agreed_hand_counts(conf: float, x: tuple, y: tuple) -> None:
    t = hlp_per_class(SMALL, predictions=SMALL_PREDS, agreed_min_conf=conf)
    check_rates(t, {("model_accuracy_agreed", "x"): x, ("model_accuracy_agreed", "y"): y})


def test_worked_example_scratch_and_discoloration() -> None:
    """docs/metrics_hlp.md: scratch model 95%, HLP 98%, 50% of the labels; discoloration
    model 90%, HLP 90%, 50%. Priority: scratch 0.03 x 0.5 = 0.015, discoloration 0."""
    rows: list[tuple[str, str, str]] = []
    preds: dict[str, str] = {}

    def item(name: str, labels: list[str], model: str) -> None:
        rows.extend((name, f"L{j}", lab) for j, lab in enumerate(labels))
        preds[name] = model

    s, d = "scratch", "discoloration"
    for i in range(49):  # both say scratch; the model misses 2 of these items
        item(f"ss{i}", [s, s], d if i < 2 else s)
    item("sd0", [s, d], s)
    item("sd1", [s, d], d)
    for i in range(9):
        item(f"dd{i}", [d, d], d)
    for i in range(80):  # one label each; the model misses 9
        item(f"d{i}", [d], s if i < 9 else d)

    t = hlp_per_class(frame(rows), predictions=preds_frame(preds)).set_index("class")
    assert t.loc[s, "share"] == t.loc[d, "share"] == 0.5
    assert (t.loc[s, "hlp_n"], t.loc[d, "hlp_n"]) == (100, 20)
    assert t.loc[s, "hlp"] == pytest.approx(0.98)
    assert t.loc[s, "model_accuracy"] == pytest.approx(0.95)
    assert t.loc[d, "hlp"] == pytest.approx(0.90)
    assert t.loc[d, "model_accuracy"] == pytest.approx(0.90)
    assert t.loc[s, "gap"] == pytest.approx(0.03)
    assert t.loc[s, "priority"] == pytest.approx(0.015)
    assert t.loc[d, "priority"] == pytest.approx(0.0, abs=1e-12)
    # agreed items: 49 scratch (47 right), 9 + 0 discoloration (all right)
    assert t.loc[s, "model_accuracy_agreed"] == pytest.approx(47 / 49)
    assert t.loc[d, "model_accuracy_agreed_n"] == 9


def test_repeated_labels_count_as_annotations_of_one_labeler() -> None:
    # A labels i1 twice (y, y); B says y. Pairs of different labelers: (A1,B) (A2,B) (B,A1) (B,A2).
    ann = frame([("i1", "A", "y"), ("i1", "A", "y"), ("i1", "B", "y"), ("i2", "A", "z")])
    t = hlp_per_class(ann).set_index("class")
    assert t.loc["y", "hlp_n"] == 4
    assert t.loc["y", "hlp"] == 1.0
    assert t.loc["z", "hlp_n"] == 0
    assert np.isnan(t.loc["z", "hlp"])


def test_without_predictions_or_gold_the_columns_are_nan() -> None:
    t = hlp_per_class(SMALL, items=gold_frame({"i1": None, "i2": None}))
    for rate in RATES:
        if rate != "hlp":
            assert t[rate].isna().all() and (t[f"{rate}_n"] == 0).all(), rate
    assert t[["gap", "priority", "gap_gold", "priority_gold"]].isna().all().all()
    assert t.attrs["model"] is None
    check_rates(t, {k: v for k, v in SMALL_COUNTS.items() if k[0] == "hlp"})


def test_gold_only_class_gets_a_row() -> None:
    # nobody says z, though z is the gold label of i2
    t = hlp_per_class(SMALL, gold_frame({"i2": "z"}), SMALL_PREDS).set_index("class")
    assert list(t.index) == ["x", "y", "z"]
    assert t.loc["z", "share"] == 0.0
    assert (t.loc["z", "hlp_gold"], t.loc["z", "hlp_gold_n"]) == (0.0, 2)
    assert (t.loc["z", "model_accuracy_gold"], t.loc["z", "model_accuracy_gold_n"]) == (0.0, 1)
    assert np.isnan(t.loc["z", "hlp"])


def test_gold_of_items_outside_the_annotations_is_left_out() -> None:
    t = hlp_per_class(SMALL, gold_frame({"i1": "x", "elsewhere": "w"}), SMALL_PREDS)
    assert t["class"].tolist() == ["x", "y"]
    assert t.set_index("class").loc["x", "hlp_gold_n"] == 3


def test_classes_sort_numbers_by_value_then_names() -> None:
    ann = frame([("a", "p", lab) for lab in ["b", "10", "2", "é", "-1"]])
    assert hlp_per_class(ann)["class"].tolist() == ["-1", "2", "10", "b", "é"]


def test_several_models_need_a_choice() -> None:
    preds = pd.concat([preds_frame({"i1": "x"}, "m2"), preds_frame({"i1": "y"}, "m1")])
    with pytest.raises(
        InvalidArgument,
        match=r"^the predictions come from 2 models \(m1, m2\); choose one with the model argument$",
    ):
        hlp_per_class(SMALL, predictions=preds)
    t = hlp_per_class(SMALL, predictions=preds, model="m1").set_index("class")
    assert t.attrs["model"] == "m1"
    assert (t.loc["x", "model_accuracy_n"], t.loc["x", "model_accuracy"]) == (2, 0.0)
    t = hlp_per_class(SMALL, predictions=preds, model="m2").set_index("class")
    assert t.loc["x", "model_accuracy"] == 1.0


def test_unknown_model() -> None:
    with pytest.raises(
        InvalidArgument, match=r"^model 'm9' not found in the predictions\. Models: m$"
    ):
        hlp_per_class(SMALL, predictions=SMALL_PREDS, model="m9")
    with pytest.raises(
        InvalidArgument, match=r"^model 'm9' not found in the predictions\. Models: none$"
    ):
        hlp_per_class(SMALL, model="m9")


def test_two_predictions_for_one_item() -> None:
    preds = pd.concat([SMALL_PREDS, preds_frame({"i2": "y", "i1": "x"})])  # i1 repeated, same label
    with pytest.raises(
        NotComputable,
        match=r"^model 'm' gives more than one predicted label to 1 item: 'i2'\. "
        r"Keep one predicted label per item$",
    ):
        hlp_per_class(SMALL, predictions=preds)


def test_many_gold_conflicts_are_capped() -> None:
    gold = gold_frame({f"i{k}": "x" for k in range(1, 9)})
    gold = pd.concat([gold, gold.assign(gold_label="y")])
    ann = frame([(f"i{k}", "A", "x") for k in range(1, 8)])  # i8 is not annotated
    with pytest.raises(
        NotComputable,
        match=r"^the items table gives more than one gold label to 7 items: "
        r"'i1', 'i2', 'i3', 'i4', 'i5' and 2 more\. Keep one gold label per item$",
    ):
        hlp_per_class(ann, gold)


def test_missing_column_names_expected_and_found() -> None:
    with pytest.raises(
        InvalidArgument,
        match=r"^the predictions table has no column 'model'\. Expected columns: item_id, "
        r"model, predicted_label; found: item_id, predicted_label$",
    ):
        hlp_per_class(SMALL, predictions=SMALL_PREDS.drop(columns="model"))


@pytest.mark.parametrize("conf", [0.0, -0.5, 1.5])
def test_agreed_min_conf_range(conf: float) -> None:
    with pytest.raises(
        InvalidArgument, match=rf"^agreed_min_conf must be in \(0, 1\]; found {conf}$"
    ):
        hlp_per_class(SMALL, agreed_min_conf=conf)


def test_no_annotations_gives_an_empty_table() -> None:
    t = hlp_per_class(SMALL.iloc[:0], SMALL_GOLD, SMALL_PREDS)
    assert tuple(t.columns) == COLUMNS and len(t) == 0


def test_store_tables_give_the_same_figures(tmp_path) -> None:
    store = Store(tmp_path / "s.duckdb")
    items = SMALL_GOLD.assign(is_control=SMALL_GOLD["gold_label"].notna())
    result = ImportResult("test", SMALL, items=items, predictions=SMALL_PREDS)
    store.import_result(result, file_name="small.csv", data=b"small", dataset="small")
    t = hlp_per_class(store.annotations("small"), store.items("small"), store.predictions("small"))
    pd.testing.assert_frame_equal(t, hlp_per_class(SMALL, SMALL_GOLD, SMALL_PREDS))
    store.close()


def test_ibis_tables_are_accepted() -> None:
    t = hlp_per_class(ibis.memtable(SMALL), ibis.memtable(SMALL_GOLD), ibis.memtable(SMALL_PREDS))
    pd.testing.assert_frame_equal(t, hlp_per_class(SMALL, SMALL_GOLD, SMALL_PREDS))


def test_wilson_interval_matches_the_closed_form() -> None:
    k = np.array([0, 1, 5, 7, 30, 0])
    n = np.array([7, 3, 9, 7, 31, 0])
    low, high = wilson_interval(k, n)
    for i in range(5):
        lo, hi = wilson_closed_form(int(k[i]), int(n[i]))
        assert low[i] == pytest.approx(max(lo, 0.0), abs=1e-12)
        assert high[i] == pytest.approx(min(hi, 1.0), abs=1e-12)
        assert low[i] <= k[i] / n[i] <= high[i]
    assert np.isnan(low[5]) and np.isnan(high[5])


# --- an independent oracle on generated data --------------------------------------------
LABELS = ["x", "y", "猫", "é", "1", "01", "-2.5"]


@st.composite
def datasets(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    labels = draw(st.lists(st.sampled_from(LABELS), min_size=1, max_size=4, unique=True))
    n_items = draw(st.integers(1, 7))
    rows = []
    gold: dict[str, str | None] = {}
    preds: dict[str, str] = {}
    for i in range(n_items):
        item = f"it{i}"
        for _ in range(draw(st.integers(1, 5))):  # labelers may repeat on an item
            rows.append(
                (item, draw(st.sampled_from(["A", "B", "C", "D"])), draw(st.sampled_from(labels)))
            )
        gold[item] = draw(st.none() | st.sampled_from(labels))
        if draw(st.booleans()):
            preds[item] = draw(st.sampled_from([*labels, "other"]))
    return frame(rows), gold_frame(gold), preds_frame(preds)


def oracle(
    ann: pd.DataFrame, gold_df: pd.DataFrame, preds_df: pd.DataFrame, conf: float
) -> dict[tuple[str, str], tuple[int, int]]:
    """(rate, class) -> (k, n) by direct enumeration of pairs, annotations and items."""
    k: Counter[tuple[str, str]] = Counter()
    n: Counter[tuple[str, str]] = Counter()

    def add(rate: str, cls: str, hit: bool) -> None:
        n[rate, cls] += 1
        k[rate, cls] += int(hit)

    gold = {r.item_id: r.gold_label for r in gold_df.itertuples() if r.gold_label is not None}
    pred = dict(zip(preds_df["item_id"], preds_df["predicted_label"], strict=True))
    by_item: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for r in ann.itertuples():
        by_item[r.item_id].append((r.labeler_id, r.label))
    for item, anns in by_item.items():
        for (li, ci), (lj, cj) in itertools.permutations(anns, 2):
            if li != lj:
                add("hlp", ci, ci == cj)
        for _, c in anns:
            if item in pred:
                add("model_accuracy", c, pred[item] == c)
            if item in gold:
                add("hlp_gold", gold[item], c == gold[item])
        if item in gold and item in pred:
            add("model_accuracy_gold", gold[item], pred[item] == gold[item])
        votes = Counter(c for _, c in anns)
        top = max(votes.values())
        winners = [c for c, v in votes.items() if v == top]
        if (
            len(anns) >= 2
            and len(winners) == 1
            and top / len(anns) >= conf - 1e-12
            and item in pred
        ):
            add("model_accuracy_agreed", winners[0], pred[item] == winners[0])
    return {key: (k[key], n[key]) for key in n}


@settings(max_examples=30, deadline=None)
@given(datasets(), st.sampled_from([1.0, 0.75, 0.6, 0.5, 0.3]))
def test_matches_direct_enumeration(data, conf: float) -> None:
    ann, gold, preds = data
    t = hlp_per_class(ann, gold, preds, agreed_min_conf=conf)
    expected = oracle(ann, gold, preds, conf)
    full = {(rate, c): expected.get((rate, c), (0, 0)) for rate in RATES for c in t["class"]}
    check_rates(t, full)
    shares = Counter(ann["label"])
    s = t.set_index("class")
    for c, v in shares.items():
        assert s.loc[c, "share"] == pytest.approx(v / len(ann), abs=1e-12)


@settings(max_examples=12, deadline=None)
@given(datasets(), st.randoms(use_true_random=False))
def test_properties(data, rnd) -> None:
    ann, gold, preds = data
    t = hlp_per_class(ann, gold, preds)
    for rate in RATES:
        r = t[rate].dropna()
        assert ((r >= 0) & (r <= 1)).all()
        ok = t[rate].notna()
        assert (t.loc[ok, f"{rate}_ci_low"] <= t.loc[ok, rate]).all()
        assert (t.loc[ok, rate] <= t.loc[ok, f"{rate}_ci_high"]).all()
    for p in ("priority", "priority_gold"):
        assert (t[p].dropna() >= 0).all()
    assert t["share"].sum() == pytest.approx(1.0)

    # permuting labelers, items and rows changes nothing
    labelers = sorted(set(ann["labeler_id"]))
    shuffled = labelers[:]
    rnd.shuffle(shuffled)
    new_ids = dict(zip(labelers, shuffled, strict=True))
    old_items = sorted(set(ann["item_id"]) | set(gold["item_id"]) | set(preds["item_id"]))
    new_items = [f"renamed-{k}" for k in range(len(old_items))]
    rnd.shuffle(new_items)
    items = dict(zip(old_items, new_items, strict=True))
    ann2 = ann.assign(labeler_id=ann["labeler_id"].map(new_ids), item_id=ann["item_id"].map(items))
    ann2 = ann2.sample(frac=1.0, random_state=rnd.randrange(1000))
    t2 = hlp_per_class(
        ann2,
        gold.assign(item_id=gold["item_id"].map(items)),
        preds.assign(item_id=preds["item_id"].map(items)),
    )
    pd.testing.assert_frame_equal(t, t2)

    # renaming the classes renames the rows
    names = {c: f"class {c}" for c in LABELS + ["other"]}
    t3 = hlp_per_class(
        ann.assign(label=ann["label"].map(names)),
        gold.assign(gold_label=gold["gold_label"].map(names)),
        preds.assign(predicted_label=preds["predicted_label"].map(names)),
    )
    back = {v: k for k, v in names.items()}
    t3["class"] = pd.Series([back[c] for c in t3["class"]], dtype=object)
    pd.testing.assert_frame_equal(
        t.set_index("class").sort_index(), t3.set_index("class").sort_index()
    )
