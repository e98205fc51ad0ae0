"""Balanced splits: the allocation's guarantees, uncertain items, the files, and the command."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consistency.cli import main
from consistency.errors import InvalidArgument, NotComputable
from consistency.io import Source, read_source
from consistency.split import (
    ITEM_COLUMNS,
    SplitOptions,
    allocate,
    assign,
    class_summary,
    format_split,
    parse_ratios,
    split_dataset,
    split_files,
    write_split,
)
from consistency.store import Store


# ---- ratios ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [("60,20,20", (0.6, 0.2, 0.2)), ("0.8, 0.2", (0.8, 0.2)), ("1,1,2", (0.25, 0.25, 0.5))],
)
def test_ratios_are_normalised(text: str, expected: tuple[float, ...]) -> None:
    assert parse_ratios(text) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "100",
            "--ratios expects 2 or 3 numbers separated by commas (train,test or train,dev,test), "
            "e.g. 60,20,20; found '100'",
        ),
        ("70,30,0", "--ratios expects positive numbers, e.g. 60,20,20; found '0' in '70,30,0'"),
        ("a,b", "--ratios expects positive numbers, e.g. 60,20,20; found 'a' in 'a,b'"),
    ],
)
def test_bad_ratios_are_refused_in_words(text: str, message: str) -> None:
    with pytest.raises(InvalidArgument, match=f"^{re.escape(message)}$"):
        parse_ratios(text)


# ---- allocation ----------------------------------------------------------------------------
def test_a_small_class_is_in_every_split_and_large_ones_follow_the_ratios() -> None:
    counts = allocate([3, 5, 1000], (0.6, 0.2, 0.2))
    assert counts.tolist() == [[1, 1, 1], [3, 1, 1], [600, 200, 200]]


def test_a_class_smaller_than_the_number_of_splits_is_not_forced() -> None:
    assert allocate([2, 0], (0.6, 0.2, 0.2)).tolist() == [[1, 1, 0], [0, 0, 0]]


@settings(max_examples=150, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 400), min_size=1, max_size=12),
    raw=st.lists(st.floats(0.05, 1.0), min_size=2, max_size=3),
)
def test_allocation_properties(sizes: list[int], raw: list[float]) -> None:
    r = np.asarray(raw) / sum(raw)
    k = len(r)
    counts = allocate(sizes, raw)
    quota = np.outer(sizes, r)
    assert counts.shape == (len(sizes), k)
    assert counts.sum(axis=1).tolist() == sizes  # every item goes somewhere, once
    assert (counts >= 0).all()
    big = np.asarray(sizes) >= k
    assert (counts[big] >= 1).all()  # classes with enough items are in every split
    free = (np.floor(quota + 1e-9) >= 1).all(axis=1)
    assert (np.abs(counts[free] - quota[free]) < 1 + 1e-9).all()  # as in the whole
    forced = int(((np.floor(quota + 1e-9) < 1) & big[:, None]).sum())
    totals = np.abs(counts.sum(axis=0) - r * sum(sizes))
    assert (totals <= 1 + forced + 1e-9).all()  # split sizes follow the ratios


def test_stratified_split_keeps_a_rare_class_where_random_splits_lose_it() -> None:
    labels = ["common"] * 195 + ["rare"] * 5
    frame = pd.DataFrame({"item_id": [f"i{n:03d}" for n in range(200)], "label": labels})
    lost = 0
    for seed in range(20):
        stratified = assign(frame, SplitOptions(stratify="consensus", seed=seed))
        assert set(stratified[frame["label"] == "rare"]) == {"train", "dev", "test"}
        random = assign(frame, SplitOptions(stratify="none", seed=seed))
        lost += len(set(random[frame["label"] == "rare"])) < 3
    assert lost >= 5


def test_class_summary_gives_shares_per_split_and_the_largest_gap() -> None:
    df = pd.DataFrame({"label": list("aaaabb"), "split": ["train"] * 3 + ["test"] * 3})
    s = class_summary(df, ["train", "test"]).set_index("class")
    assert s.loc["a", "train_share"] == 1.0
    assert s.loc["a", "test_share"] == pytest.approx(1 / 3)
    assert s.loc["a", "max_share_gap"] == pytest.approx(1 / 3)
    assert s.loc["all"].to_dict()["items"] == 6


# ---- on a store -----------------------------------------------------------------------------
def _csv() -> bytes:
    """40 items: 30 unanimous (3 classes), 6 with a 2-1 majority, 4 tied 1-1."""
    rows = ["item_id,labeler_id,label,data_ref"]
    for i in range(30):
        for labeler in ("ann", "bob", "cy"):
            rows.append(f"u{i:02d},{labeler},{'abc'[i % 3]},img/u{i:02d}.png")
    for i in range(6):
        for labeler, label in (("ann", "a"), ("bob", "a"), ("cy", "b")):
            rows.append(f"m{i},{labeler},{label},img/m{i}.png")
    for i in range(4):
        for labeler, label in (("ann", "a"), ("bob", "c")):
            rows.append(f"t{i},{labeler},{label},img/t{i}.png")
    return ("\n".join(rows) + "\n").encode()


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("split") / "store.duckdb"
    store = Store(path)
    try:
        data = _csv()
        store.import_result(
            read_source(Source("votes.csv", data)),
            file_name="votes.csv",
            data=data,
            dataset="votes",
        )
    finally:
        store.close()
    return path


@pytest.fixture
def store(db: Path):
    opened = Store(db, read_only=True)
    yield opened
    opened.close()


def test_ties_are_set_aside_and_every_class_is_split_as_a_whole(store: Store) -> None:
    result = split_dataset(store, "votes", options=SplitOptions(ratios="60,20,20", seed=3))
    assert sorted(result.excluded["item_id"]) == ["t0", "t1", "t2", "t3"]
    assert set(result.excluded["flag"]) == {"tie"}
    assert result.counts() == {"train": 22, "dev": 7, "test": 7}
    summary = result.summary.set_index("class")
    assert summary.loc["a", ["items", "train", "dev", "test"]].tolist() == [16, 10, 3, 3]
    for cls in ("b", "c"):
        assert summary.loc[cls, ["train", "dev", "test"]].tolist() == [6, 2, 2]
    assert list(result.items.columns) == list(ITEM_COLUMNS)
    assert set(result.items["data_ref"].str[:4]) == {"img/"}


def test_flagged_uncertain_items_are_kept_and_marked(store: Store) -> None:
    options = SplitOptions(uncertain="flag", min_confidence=0.7)
    result = split_dataset(store, "votes", options=options)
    flags = result.items.set_index("item_id")["flag"]
    assert result.excluded.empty
    assert len(result.items) == 40
    assert flags[[f"t{i}" for i in range(4)]].tolist() == ["tie"] * 4
    assert flags[[f"m{i}" for i in range(6)]].tolist() == ["low_confidence"] * 6
    assert (flags[[f"u{i:02d}" for i in range(30)]] == "").all()
    assert "flagged and kept: 10 items (column 'flag')" in format_split(result)


def test_dawid_skene_settles_ties_and_low_confidence_still_applies(store: Store) -> None:
    result = split_dataset(
        store, "votes", options=SplitOptions(method="dawid-skene", min_confidence=0.999)
    )
    assert "tie" not in set(result.excluded["flag"])
    assert set(result.excluded["flag"]) <= {"low_confidence"}
    assert (result.items["confidence"] >= 0.999).all()


def test_same_seed_same_split_other_seed_other_split(store: Store) -> None:
    def train(seed: int) -> list[str]:
        r = split_dataset(store, "votes", options=SplitOptions(seed=seed))
        return sorted(r.items.loc[r.items["split"] == "train", "item_id"])

    assert train(1) == train(1)
    assert train(1) != train(2)


def test_nothing_left_to_split_is_not_computable(tmp_path: Path) -> None:
    data = b"item_id,labeler_id,label\nx,ann,a\nx,bob,b\ny,ann,a\ny,bob,c\n"
    store = Store(tmp_path / "ties.duckdb")
    try:
        result = read_source(Source("ties.csv", data))
        store.import_result(result, file_name="ties.csv", data=data, dataset="ties")
        message = (
            "no item left to split in dataset 'ties' (each item's latest round): 2 items, "
            "2 set aside (tie: 2). Keep them with --uncertain flag, or lower --min-confidence"
        )
        with pytest.raises(NotComputable, match=f"^{re.escape(message)}$"):
            split_dataset(store, "ties")
    finally:
        store.close()


def test_options_are_checked_in_words() -> None:
    with pytest.raises(
        InvalidArgument, match=r"^unknown --stratify 'labels'\. Choices: consensus, none$"
    ):
        SplitOptions(stratify="labels")
    with pytest.raises(
        InvalidArgument, match=r"^--min-confidence must be between 0 and 1; found 2$"
    ):
        SplitOptions(min_confidence=2)


def test_files_of_a_split(store: Store, tmp_path: Path) -> None:
    result = split_dataset(store, "votes", options=SplitOptions(ratios="80,20"))
    written = write_split(result, tmp_path / "out")
    assert sorted(p.name for p in written) == [
        "excluded.csv",
        "split.json",
        "summary.csv",
        "test.csv",
        "train.csv",
    ]
    train = pd.read_csv(tmp_path / "out" / "train.csv", keep_default_na=False)
    assert list(train.columns) == list(ITEM_COLUMNS)
    assert set(train["split"]) == {"train"}
    excluded = pd.read_csv(tmp_path / "out" / "excluded.csv", keep_default_na=False)
    assert sorted(excluded["item_id"]) == ["t0", "t1", "t2", "t3"]
    manifest = json.loads((tmp_path / "out" / "split.json").read_text())
    assert manifest["items"] == {"train": 29, "test": 7}
    assert manifest["excluded"] == {"tie": 4}
    assert manifest["options"]["ratios"] == {"train": 0.8, "test": 0.2}
    assert manifest["files"] == sorted(p.name for p in written if p.name != "split.json")
    summary = pd.read_csv(tmp_path / "out" / "summary.csv")
    assert summary["class"].tolist() == ["a", "b", "c", "all"]


def test_parquet_files_round_trip(store: Store) -> None:
    import io

    result = split_dataset(store, "votes")
    files = split_files(result, "parquet")
    dev = pd.read_parquet(io.BytesIO(files["dev.parquet"]))
    assert len(dev) == result.counts()["dev"]
    with pytest.raises(
        InvalidArgument, match=r"^unknown file format 'xlsx'\. Formats: csv, parquet$"
    ):
        split_files(result, "xlsx")


def test_output_folder_errors(store: Store, tmp_path: Path) -> None:
    result = split_dataset(store, "votes")
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(InvalidArgument, match="is a file; give a folder for the split files$"):
        write_split(result, tmp_path / "a-file")
    with pytest.raises(
        InvalidArgument, match=r"^cannot create folder 'out': folder '.*missing' does not exist$"
    ):
        write_split(result, tmp_path / "missing" / "out")


# ---- the command ---------------------------------------------------------------------------
def test_split_command_prints_class_shares_and_writes_files(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "splits"
    code = main(["split", "votes", "--db", str(db), "--out", str(out), "--seed", "7"])
    printed = capsys.readouterr().out
    assert code == 0
    lines = printed.splitlines()
    assert lines[1] == "  train: 22 items, dev: 7 items, test: 7 items"
    assert lines[2] == "  set aside: 4 with a tied majority vote"
    assert re.search(r"^  a\s+16\s+44\.4%\s+10\s+45\.5%\s+3\s+42\.9%\s+3\s+42\.9%$", printed, re.M)
    assert (out / "dev.csv").is_file()


def test_split_command_json_and_errors(db: Path, tmp_path: Path, capsys) -> None:
    code = main(["split", "votes", "--db", str(db), "--out", str(tmp_path / "j"), "--json"])
    manifest = json.loads(capsys.readouterr().out)
    assert code == 0
    assert manifest["items"] == {"train": 22, "dev": 7, "test": 7}
    code = main(["split", "votes", "--db", str(db), "--out", str(tmp_path), "--ratios", "5"])
    _, err = capsys.readouterr()
    assert code == 1
    assert err.startswith("error: --ratios expects 2 or 3 numbers")
