"""Train / dev / test splits of consensus labels, balanced per class.

:func:`split_dataset` takes each item's consensus label (majority vote or
Dawid–Skene, :func:`consistency.analysis.consensus_table`), sets aside (or
flags) the items whose consensus is uncertain, and assigns the others to the
splits so that every class is represented in each split as in the whole:

* per class c with n_c items and split shares r_s, split s receives
  floor(r_s n_c) or ceil(r_s n_c) items (:func:`allocate`), so a class of
  12 items split 60/20/20 gives 7 or 8 / 2 or 3 / 2 or 3, where a random split
  leaves it anywhere from 0 to 12 in each;
* every split receives at least one item of each class that has at least as
  many items as there are splits;
* among the classes, the splits that receive the rounded-up counts are those
  furthest behind their share of the items so far (smallest classes first),
  so each split's size stays within one item of r_s N, plus one for each item
  a split received only so that a small class is represented in it.

Which items of a class go where is random (``seed``); the same data, options
and seed give the same split.

>>> allocate([12, 3, 100], (0.6, 0.2, 0.2)).tolist()
[[8, 2, 2], [1, 1, 1], [60, 20, 20]]
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from consistency.errors import InvalidArgument, NotComputable
from consistency.store import Store, ViewFilter
from consistency.ui import fmt

Method = Literal["majority", "dawid-skene"]
Stratify = Literal["consensus", "none"]
Uncertain = Literal["exclude", "flag"]

#: Split names by number of ratios.
SPLIT_NAMES: dict[int, tuple[str, ...]] = {2: ("train", "test"), 3: ("train", "dev", "test")}
METHODS: tuple[str, ...] = ("majority", "dawid-skene")
STRATIFY: tuple[str, ...] = ("consensus", "none")
UNCERTAIN: tuple[str, ...] = ("exclude", "flag")
FILE_FORMATS: tuple[str, ...] = ("csv", "parquet")

#: The ``flag`` of an uncertain item, in words.
REASONS: dict[str, str] = {
    "tie": "with a tied majority vote",
    "low_confidence": "below --min-confidence",
}

#: Columns of each split's file (``data_ref`` only when some item has one).
ITEM_COLUMNS: tuple[str, ...] = (
    "item_id",
    "label",
    "confidence",
    "tie",
    "tied_labels",
    "flag",
    "split",
    "data_ref",
)


def parse_ratios(text: str | Sequence[float]) -> tuple[float, ...]:
    """Split shares from ``"60,20,20"`` (or ``"0.8,0.2"``, or numbers), normalised to sum 1.

    >>> parse_ratios("60,20,20")
    (0.6, 0.2, 0.2)
    >>> parse_ratios("1,1")
    (0.5, 0.5)
    """
    parts = [p.strip() for p in text.split(",")] if isinstance(text, str) else list(text)
    if len(parts) not in SPLIT_NAMES:
        raise InvalidArgument(
            "--ratios expects 2 or 3 numbers separated by commas (train,test or "
            f"train,dev,test), e.g. 60,20,20; found '{_joined(parts)}'"
        )
    values = []
    for p in parts:
        try:
            v = float(p)
        except (TypeError, ValueError):
            v = math.nan
        if not math.isfinite(v) or v <= 0:
            raise InvalidArgument(
                f"--ratios expects positive numbers, e.g. 60,20,20; found '{p}' in "
                f"'{_joined(parts)}'"
            )
        values.append(v)
    total = sum(values)
    return tuple(v / total for v in values)


def _joined(parts: Sequence[Any]) -> str:
    return ",".join(str(p) for p in parts)


# ---- allocation -------------------------------------------------------------------------
def allocate(sizes: Sequence[int], ratios: Sequence[float]) -> np.ndarray:
    """How many items of each class go to each split (classes x splits).

    For class c (n_c items) and split s (share r_s): floor(r_s n_c) items,
    at least 1 when n_c is at least the number of splits, and the remaining
    items one each to splits whose count is below ceil(r_s n_c), choosing the
    splits furthest behind r_s times the items allocated so far. Classes are
    taken smallest first (ties in the order given), so the largest classes
    even out the split sizes. Deterministic.

    Args:
        sizes: items per class.
        ratios: split shares, positive (normalised here).

    Returns:
        An integer array of shape (len(sizes), len(ratios)) whose row c sums to sizes[c].
    """
    r = np.asarray(ratios, dtype=float)
    r = r / r.sum()
    k = len(r)
    out = np.zeros((len(sizes), k), dtype=np.int64)
    given = np.zeros(k, dtype=np.int64)
    seen = 0
    for c in np.argsort(np.asarray(sizes, dtype=np.int64), kind="stable"):
        n = int(sizes[c])
        if n <= 0:
            continue
        seen += n
        quota = r * n
        alloc = np.floor(quota + 1e-9).astype(np.int64)
        ceiling = np.maximum(np.ceil(quota - 1e-9).astype(np.int64), alloc)
        floor_min = 1 if n >= k else 0
        alloc = np.maximum(alloc, floor_min)
        target = r * seen
        while alloc.sum() > n:  # only after giving each split its one item
            surplus = np.where(alloc > floor_min, given + alloc - target, -np.inf)
            alloc[_pick(surplus, r)] -= 1
        while alloc.sum() < n:
            deficit = np.where(alloc < ceiling, target - given - alloc, -np.inf)
            alloc[_pick(deficit, r)] += 1
        out[c] = alloc
        given += alloc
    return out


def _pick(score: np.ndarray, r: np.ndarray) -> int:
    """The split with the highest score; ties to the larger share, then the first."""
    best = score.max()
    candidates = np.flatnonzero(np.isclose(score, best, rtol=0, atol=1e-9))
    return int(candidates[np.argmax(r[candidates])])


# ---- options and result -----------------------------------------------------------------
@dataclass(frozen=True)
class SplitOptions:
    """How to split.

    Attributes:
        ratios: split shares (2: train, test; 3: train, dev, test), any scale.
        method: ``majority`` (majority vote; ties reported) or ``dawid-skene``.
        stratify: ``consensus`` (balanced per consensus class) or ``none``
            (a plain random split of the same items, for comparison).
        min_confidence: items whose consensus confidence (share of the votes
            for majority, posterior probability for Dawid–Skene) is below
            this are uncertain (None: no such limit).
        uncertain: ``exclude`` uncertain items (listed in ``excluded``) or
            ``flag`` them (kept, with ``flag`` set). Majority-vote ties are
            uncertain; with Dawid–Skene the model settles ties.
        seed: seed of the random order within each class.
    """

    ratios: tuple[float, ...] = (0.6, 0.2, 0.2)
    method: str = "majority"
    stratify: str = "consensus"
    min_confidence: float | None = None
    uncertain: str = "exclude"
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "ratios", parse_ratios(self.ratios))
        for name, value, allowed in (
            ("method", self.method, METHODS),
            ("stratify", self.stratify, STRATIFY),
            ("uncertain", self.uncertain, UNCERTAIN),
        ):
            if value not in allowed:
                raise InvalidArgument(
                    f"unknown --{name.replace('_', '-')} '{value}'. Choices: {', '.join(allowed)}"
                )
        mc = self.min_confidence
        if mc is not None and not (isinstance(mc, int | float) and 0 <= mc <= 1):
            raise InvalidArgument(f"--min-confidence must be between 0 and 1; found {mc}")

    @property
    def names(self) -> tuple[str, ...]:
        """The split names (``train, test`` or ``train, dev, test``)."""
        return SPLIT_NAMES[len(self.ratios)]


@dataclass
class SplitResult:
    """A split: the items of each split, the items set aside, and the class shares.

    Attributes:
        dataset: the dataset id.
        view: the view split, in words.
        options: the options used.
        items: one row per kept item: :data:`ITEM_COLUMNS` (``split`` names its split).
        excluded: the items set aside, same columns, ``split`` empty, ``flag`` the reason.
        summary: one row per class, then ``all``: class, items, share, and for
            each split ``<split>`` (items) and ``<split>_share`` (share of the
            split's items), then ``max_share_gap`` (largest difference between
            a split's share and the overall share of the class).
    """

    dataset: str
    view: str
    options: SplitOptions
    items: pd.DataFrame
    excluded: pd.DataFrame
    summary: pd.DataFrame = field(default_factory=pd.DataFrame)

    def counts(self) -> dict[str, int]:
        """Items per split, in split order."""
        vc = self.items["split"].value_counts()
        return {s: int(vc.get(s, 0)) for s in self.options.names}

    def excluded_counts(self) -> dict[str, int]:
        """Items set aside per reason."""
        return {
            str(k): int(v) for k, v in self.excluded["flag"].value_counts().sort_index().items()
        }

    def manifest(self) -> dict[str, Any]:
        """The split as a JSON-ready dict (written as ``split.json``)."""
        from consistency.analysis import clean_json

        opts = asdict(self.options)
        opts["ratios"] = dict(zip(self.options.names, self.options.ratios, strict=True))
        return clean_json(
            {
                "dataset": self.dataset,
                "view": self.view,
                "options": opts,
                "items": self.counts(),
                "excluded": self.excluded_counts(),
                "flagged": int((self.items["flag"] != "").sum()),
                "classes": self.summary.to_dict("records"),
            }
        )


# ---- splitting --------------------------------------------------------------------------
def consensus_items(
    store: Store, dataset: str, view: ViewFilter | None, options: SplitOptions
) -> pd.DataFrame:
    """Each item's consensus with ``flag``: ``tie``, ``low_confidence`` or empty.

    Columns: item_id, label, confidence, tie, tied_labels (``a|b``), flag,
    data_ref (None where the item has none).
    """
    from consistency.analysis import consensus_table

    df = consensus_table(store, dataset, view, method=options.method).copy()
    if "tied_labels" not in df:
        df["tied_labels"] = ""
    df["tie"] = df["tie"].fillna(False).astype(bool)
    flag = np.full(len(df), "", dtype=object)
    if options.min_confidence is not None:
        flag[df["confidence"].to_numpy(dtype=float) < options.min_confidence] = "low_confidence"
    if options.method == "majority":
        flag[df["tie"].to_numpy()] = "tie"
    df["flag"] = flag
    items = store.items(dataset).select("item_id", "data_ref").execute()
    refs = dict(zip(items["item_id"].astype(str), items["data_ref"], strict=True))
    df["item_id"] = df["item_id"].astype(str)
    df["data_ref"] = [refs.get(i) for i in df["item_id"]]
    df["split"] = ""
    return df[list(ITEM_COLUMNS)].sort_values("item_id", kind="stable").reset_index(drop=True)


def assign(consensus: pd.DataFrame, options: SplitOptions) -> pd.Series:
    """The split of each row of ``consensus`` (item_id, label), by :func:`allocate`.

    With ``stratify="consensus"`` each label is allocated on its own; with
    ``"none"`` all items are one group (a random split). Items are ordered
    by item id, then shuffled with ``options.seed``.
    """
    names = np.asarray(options.names, dtype=object)
    out = pd.Series("", index=consensus.index, dtype=object)
    if consensus.empty:
        return out
    rng = np.random.default_rng(options.seed)
    if options.stratify == "consensus":
        groups = sorted(
            consensus.groupby("label", sort=True).groups.items(), key=lambda g: str(g[0])
        )
    else:
        groups = [("all", consensus.index)]
    sizes = [len(index) for _, index in groups]
    counts = allocate(sizes, options.ratios)
    for (_, index), row in zip(groups, counts, strict=True):
        ordered = consensus.loc[index].sort_values("item_id", kind="stable").index.to_numpy()
        shuffled = ordered[rng.permutation(len(ordered))]
        out.loc[shuffled] = np.repeat(names, row)
    return out


def class_summary(items: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """Per class (then ``all``): items and share overall and in each split, and the largest gap.

    >>> df = pd.DataFrame({"label": list("aaab"), "split": ["train", "train", "test", "test"]})
    >>> class_summary(df, ["train", "test"])[["class", "items", "train", "test"]].values.tolist()
    [['a', 3, 2, 1], ['b', 1, 0, 1], ['all', 4, 2, 2]]
    """
    table = pd.crosstab(items["label"].astype(str), items["split"]).reindex(
        columns=list(names), fill_value=0
    )
    table = table.sort_index()
    total = table.sum(axis=0)
    rows = []
    n = int(table.to_numpy().sum())
    for cls, row in table.iterrows():
        rec: dict[str, Any] = {"class": cls, "items": int(row.sum())}
        rec["share"] = rec["items"] / n if n else math.nan
        gaps = []
        for s in names:
            rec[s] = int(row[s])
            rec[f"{s}_share"] = row[s] / total[s] if total[s] else math.nan
            if total[s]:
                gaps.append(abs(rec[f"{s}_share"] - rec["share"]))
        rec["max_share_gap"] = max(gaps) if gaps else math.nan
        rows.append(rec)
    all_row: dict[str, Any] = {"class": "all", "items": n, "share": 1.0 if n else math.nan}
    for s in names:
        all_row[s] = int(total[s])
        all_row[f"{s}_share"] = total[s] / n if n else math.nan
    all_row["max_share_gap"] = math.nan
    rows.append(all_row)
    columns = ["class", "items", "share"]
    columns += [c for s in names for c in (s, f"{s}_share")]
    return pd.DataFrame(rows, columns=[*columns, "max_share_gap"])


def split_dataset(
    store: Store,
    dataset: str,
    view: ViewFilter | None = None,
    options: SplitOptions | None = None,
) -> SplitResult:
    """Split a dataset view's items by consensus label (see the module docstring).

    Raises:
        DatasetNotFound: an unknown dataset.
        NotComputable: no item is left to split once uncertain items are set aside.
    """
    options = options or SplitOptions()
    view = view or ViewFilter()
    store.require(dataset)
    cons = consensus_items(store, dataset, view, options)
    uncertain = cons["flag"] != ""
    if options.uncertain == "exclude":
        kept, excluded = cons[~uncertain].copy(), cons[uncertain].copy()
    else:
        kept, excluded = cons.copy(), cons.iloc[0:0].copy()
    if kept.empty:
        reasons = ", ".join(f"{k}: {v}" for k, v in excluded["flag"].value_counts().items())
        raise NotComputable(
            f"no item left to split in dataset '{dataset}' ({view.describe()}): "
            f"{len(cons)} items, {len(excluded)} set aside ({reasons or 'none'}). "
            "Keep them with --uncertain flag, or lower --min-confidence"
        )
    kept["split"] = assign(kept, options)
    kept = kept.reset_index(drop=True)
    return SplitResult(
        dataset=dataset,
        view=view.describe(),
        options=options,
        items=kept,
        excluded=excluded.reset_index(drop=True),
        summary=class_summary(kept, options.names),
    )


# ---- writing ----------------------------------------------------------------------------
def _frame_bytes(df: pd.DataFrame, file_format: str) -> bytes:
    if file_format == "parquet":
        import io

        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        return buf.getvalue()
    return df.to_csv(index=False).encode("utf-8")


def split_files(result: SplitResult, file_format: str = "csv") -> dict[str, bytes]:
    """The files of a split by name: one per split, ``excluded``, ``summary.csv``, ``split.json``."""
    if file_format not in FILE_FORMATS:
        raise InvalidArgument(
            f"unknown file format '{file_format}'. Formats: {', '.join(FILE_FORMATS)}"
        )
    columns = list(ITEM_COLUMNS)
    if result.items["data_ref"].isna().all() and result.excluded["data_ref"].isna().all():
        columns.remove("data_ref")
    files: dict[str, bytes] = {}
    for name in result.options.names:
        part = result.items[result.items["split"] == name][columns]
        files[f"{name}.{file_format}"] = _frame_bytes(part, file_format)
    files[f"excluded.{file_format}"] = _frame_bytes(result.excluded[columns], file_format)
    files["summary.csv"] = result.summary.to_csv(index=False).encode("utf-8")
    manifest = result.manifest()
    manifest["files"] = sorted(files)
    files["split.json"] = (json.dumps(manifest, indent=2, allow_nan=False) + "\n").encode("utf-8")
    return files


def write_split(result: SplitResult, out_dir: str | Path, file_format: str = "csv") -> list[Path]:
    """Write :func:`split_files` into ``out_dir`` (created when its parent exists).

    Every file is built before the first is written; existing files of the
    same names are replaced.

    Raises:
        InvalidArgument: ``out_dir`` is a file, or its parent folder does not exist.
    """
    out = Path(out_dir)
    files = split_files(result, file_format)
    if out.exists() and not out.is_dir():
        raise InvalidArgument(f"--out '{out}' is a file; give a folder for the split files")
    if not out.exists():
        if not out.parent.is_dir():
            raise InvalidArgument(
                f"cannot create folder '{out.name}': folder '{out.parent}' does not exist"
            )
        out.mkdir()
    written = []
    for name, data in files.items():
        path = out / name
        path.write_bytes(data)
        written.append(path)
    return written


def format_split(result: SplitResult) -> str:
    """A readable summary: items per split, items set aside, and class shares per split."""
    names = result.options.names
    counts = result.counts()
    ratios = ", ".join(f"{n} {r:.0%}" for n, r in zip(names, result.options.ratios, strict=True))
    lines = [
        f"split of dataset '{result.dataset}' ({result.view}): {result.options.method} "
        f"consensus, stratified by {result.options.stratify}, seed {result.options.seed} "
        f"({ratios})",
        "  " + ", ".join(f"{n}: {fmt.count(counts[n], 'item')}" for n in names),
    ]
    excluded = result.excluded_counts()
    if excluded:
        lines.append(
            "  set aside: " + ", ".join(f"{v:,} {REASONS.get(k, k)}" for k, v in excluded.items())
        )
    flagged = int((result.items["flag"] != "").sum())
    if flagged:
        lines.append(f"  flagged and kept: {fmt.count(flagged, 'item')} (column 'flag')")
    width = max([len("class"), *(len(str(c)) for c in result.summary["class"])])
    head = f"  {'class':<{width}} {'items':>7} {'share':>6}" + "".join(f" {n:>12}" for n in names)
    lines += ["", head]
    for r in result.summary.to_dict("records"):
        cells = "".join(f" {r[n]:>6,} {fmt.percent(r[f'{n}_share'], 1):>6}" for n in names)
        lines.append(
            f"  {str(r['class']):<{width}} {r['items']:>7,} {fmt.percent(r['share'], 1):>6}{cells}"
        )
    return "\n".join(lines)
