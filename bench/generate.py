"""Deterministic generator of long-format annotations for the benchmarks.

The data imitate an inspection project: 12 classes, some of which are easily
confused with each other (groups), 200 labelers of varied skill and activity
(a few of them spammers who answer at random), 3 to 7 labels per item, a
few gold (control) items and an answer time per label. The output is one
Parquet file with the canonical long columns::

    item_id, labeler_id, label, duration_s, gold_label

written in row groups, so 1e8 annotations are generated in bounded memory.
The same arguments always give the same file: every block of items draws
from its own random stream, seeded by ``(seed, block number)``.

Usage::

    python bench/generate.py 1e4 1e5 1e6          # writes bench/data/annotations_1e4.parquet ...
    python bench/generate.py 1e7 --out-dir /data  # elsewhere
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

#: The classes, most frequent first, and their prior probabilities.
CLASSES: tuple[str, ...] = (
    "ok",
    "scratch_light",
    "scratch_deep",
    "dent_small",
    "dent_large",
    "pit",
    "stain",
    "smudge",
    "discoloration",
    "crack",
    "chip",
    "dust",
)
PRIOR = np.array([0.40, 0.09, 0.05, 0.08, 0.04, 0.04, 0.07, 0.05, 0.04, 0.05, 0.04, 0.05])

#: Groups of classes that labelers confuse with each other.
GROUPS: tuple[tuple[str, ...], ...] = (
    ("scratch_light", "scratch_deep"),
    ("dent_small", "dent_large", "pit"),
    ("stain", "smudge", "discoloration"),
    ("ok", "dust"),
    ("crack", "chip"),
)

LABELERS = 200
SPAMMERS = 10
MIN_LABELS, MAX_LABELS = 3, 7
GOLD_SHARE = 0.02
#: Items per block (one random stream and one Parquet row group per block).
BLOCK_ITEMS = 500_000
#: Candidate labelers drawn per item before removing repeats.
CANDIDATES = 14

DEFAULT_DIR = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class Crowd:
    """The labelers: activity weights, skill, answer-time scale, and who is a spammer."""

    activity: np.ndarray
    accuracy: np.ndarray
    within_group: np.ndarray
    speed: np.ndarray
    spammer: np.ndarray


def make_crowd(seed: int) -> Crowd:
    """200 labelers: log-normal activity, Beta skill, 10 spammers (random labels, fast)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 10**9]))
    activity = rng.lognormal(0.0, 1.0, LABELERS)
    activity /= activity.sum()
    accuracy = rng.beta(8.0, 2.0, LABELERS)  # mean 0.8
    within = rng.uniform(0.6, 0.95, LABELERS)  # share of mistakes that stay in the group
    speed = rng.lognormal(np.log(8.0), 0.4, LABELERS)
    spammer = np.zeros(LABELERS, dtype=bool)
    spammer[rng.choice(LABELERS, SPAMMERS, replace=False)] = True
    speed[spammer] = 1.5
    return Crowd(activity, accuracy, within, speed, spammer)


def _group_table() -> tuple[np.ndarray, np.ndarray]:
    """For each class: the other members of its group (padded with -1) and their number."""
    k = len(CLASSES)
    index = {c: i for i, c in enumerate(CLASSES)}
    width = max(len(g) for g in GROUPS) - 1
    others = np.full((k, width), -1, dtype=np.int64)
    size = np.zeros(k, dtype=np.int64)
    for group in GROUPS:
        for c in group:
            mates = [index[x] for x in group if x != c]
            others[index[c], : len(mates)] = mates
            size[index[c]] = len(mates)
    return others, size


def parse_size(text: str) -> int:
    """``"1e7"`` or ``"10000000"`` -> 10000000; an error message names the bad value."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number of annotations such as 1e6; found '{text}'"
        ) from None
    if not value >= 1 or value != int(value):
        raise argparse.ArgumentTypeError(
            f"expected a whole number of annotations, at least 1; found '{text}'"
        )
    return int(value)


def size_name(n: int) -> str:
    """10000000 -> ``"1e7"``; other numbers as they are."""
    exp = len(str(n)) - 1
    return f"1e{exp}" if n == 10**exp else str(n)


def default_path(n: int, out_dir: Path = DEFAULT_DIR) -> Path:
    """Where the file of ``n`` annotations goes: ``annotations_1e7.parquet``."""
    return Path(out_dir) / f"annotations_{size_name(n)}.parquet"


def _distinct_labelers(rng: np.random.Generator, m: np.ndarray, crowd: Crowd) -> np.ndarray:
    """m[u] distinct labelers per item, drawn by activity; returns items x MAX_LABELS (-1 pads)."""
    n = len(m)
    out = np.full((n, MAX_LABELS), -1, dtype=np.int64)
    todo = np.arange(n)
    while len(todo):
        cand = rng.choice(LABELERS, size=(len(todo), CANDIDATES), p=crowd.activity)
        order = np.argsort(cand, axis=1, kind="stable")
        sorted_c = np.take_along_axis(cand, order, axis=1)
        repeat = np.zeros_like(cand, dtype=bool)
        repeat_sorted = np.concatenate(
            [np.zeros((len(todo), 1), dtype=bool), sorted_c[:, 1:] == sorted_c[:, :-1]], axis=1
        )
        np.put_along_axis(repeat, order, repeat_sorted, axis=1)
        # the first m distinct candidates, in draw order
        rank = np.cumsum(~repeat, axis=1)
        ok = rank[:, -1] >= m[todo]
        rows, cols = np.nonzero(~repeat & (rank <= m[todo][:, None]))
        keep = ok[rows]
        rows, cols = rows[keep], cols[keep]
        slot = rank[rows, cols] - 1
        out[todo[rows], slot] = cand[rows, cols]
        todo = todo[~ok]
    return out


def _answers(
    rng: np.random.Generator, truth: np.ndarray, who: np.ndarray, crowd: Crowd
) -> np.ndarray:
    """The label each labeler gives: right, a group mate, any class, or random for spammers."""
    k = len(CLASSES)
    others, size = _group_table()
    u = rng.random(len(who))
    right = u < crowd.accuracy[who]
    in_group = (rng.random(len(who)) < crowd.within_group[who]) & (size[truth] > 0)
    mate = others[truth, (rng.random(len(who)) * np.maximum(size[truth], 1)).astype(np.int64)]
    anyone = rng.integers(0, k, len(who))
    label = np.where(right, truth, np.where(in_group, mate, anyone))
    return np.where(crowd.spammer[who], rng.integers(0, k, len(who)), label)


def _item_ids(start: int, stop: int) -> pa.Array:
    """``i000000001``-style ids for items start..stop-1 (sortable as text)."""
    nums = np.char.zfill(np.arange(start, stop).astype("U10"), 9)
    return pa.array(np.char.add("i", nums))


def _block(
    seed: int, block: int, first_item: int, budget: int, crowd: Crowd
) -> tuple[pa.Table, int]:
    """One block of items (at most ``budget`` annotations); returns the table and items used."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, block]))
    m = rng.integers(MIN_LABELS, MAX_LABELS + 1, BLOCK_ITEMS)
    total = np.cumsum(m)
    n_items = int(np.searchsorted(total, budget, side="left")) + 1
    n_items = min(n_items, BLOCK_ITEMS)
    m = m[:n_items].copy()
    overshoot = int(m.sum()) - budget
    if overshoot > 0:
        m[-1] -= overshoot  # the very last item of the file may get fewer labels
    truth = rng.choice(len(CLASSES), size=n_items, p=PRIOR / PRIOR.sum())
    who = _distinct_labelers(rng, m, crowd)
    taken = np.arange(MAX_LABELS)[None, :] < m[:, None]
    item_idx = np.repeat(np.arange(n_items), m)
    labeler = who[taken]
    label = _answers(rng, truth[item_idx], labeler, crowd)
    duration = np.round(rng.lognormal(np.log(crowd.speed[labeler]), 0.5), 1)
    gold_item = rng.random(n_items) < GOLD_SHARE
    # rows of a block come in random order, as exports sorted by time do
    order = rng.permutation(len(item_idx))
    item_idx, labeler, label, duration = (
        item_idx[order],
        labeler[order],
        label[order],
        duration[order],
    )
    ids = _item_ids(first_item, first_item + n_items)
    gold_idx = np.where(gold_item[item_idx], truth[item_idx], -1)
    classes = pa.array(list(CLASSES))
    table = pa.table(
        {
            "item_id": ids.take(pa.array(item_idx)),
            "labeler_id": pa.DictionaryArray.from_arrays(
                pa.array(labeler.astype(np.int32)),
                pa.array([f"w{i:03d}" for i in range(LABELERS)]),
            ),
            "label": pa.DictionaryArray.from_arrays(pa.array(label.astype(np.int32)), classes),
            "duration_s": pa.array(duration),
            "gold_label": pa.DictionaryArray.from_arrays(
                pa.array(gold_idx.astype(np.int32), mask=gold_idx < 0), classes
            ),
        }
    )
    return table, n_items


SCHEMA = pa.schema(
    [
        ("item_id", pa.string()),
        ("labeler_id", pa.dictionary(pa.int32(), pa.string())),
        ("label", pa.dictionary(pa.int32(), pa.string())),
        ("duration_s", pa.float64()),
        ("gold_label", pa.dictionary(pa.int32(), pa.string())),
    ]
)


def generate(n: int, path: str | Path, seed: int = 0) -> Path:
    """Write exactly ``n`` annotations to the Parquet file ``path``; return the path.

    >>> import tempfile, pyarrow.parquet as pq
    >>> with tempfile.TemporaryDirectory() as d:
    ...     t = pq.read_table(generate(1000, Path(d) / "a.parquet"))
    >>> t.num_rows, t.column_names
    (1000, ['item_id', 'labeler_id', 'label', 'duration_s', 'gold_label'])
    """
    if n < 1:
        raise ValueError(f"expected at least 1 annotation; found {n}")
    crowd = make_crowd(seed)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".parquet.partial")
    written = items = block = 0
    with pq.ParquetWriter(tmp, SCHEMA, compression="zstd") as writer:
        while written < n:
            table, used = _block(seed, block, items, n - written, crowd)
            writer.write_table(table.cast(SCHEMA))
            written += table.num_rows
            items += used
            block += 1
    tmp.replace(path)
    return path


def main(argv: list[str] | None = None) -> int:
    """Command line: sizes, then ``--out-dir`` and ``--seed``; existing files are kept."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sizes", nargs="+", type=parse_size, metavar="N", help="e.g. 1e4 1e6")
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--force", action="store_true", help="rewrite files that exist")
    args = parser.parse_args(argv)
    for n in args.sizes:
        path = default_path(n, args.out_dir)
        if path.exists() and not args.force:
            print(f"{path.name}: exists (use --force to rewrite)")
            continue
        t0 = time.perf_counter()
        generate(n, path, args.seed)
        size_mb = path.stat().st_size / 1e6
        print(f"{path.name}: {n} annotations, {size_mb:.1f} MB, {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
