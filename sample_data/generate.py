"""Generate the phone-screen visual-inspection sample dataset.

Eight inspectors label about 2,000 photos of phone screens with one of eight
defect classes, in two rounds; a model labels every photo too. The data is
synthetic, drawn from a known process with planted problems (see README.md in
this folder), and written in four formats: a long CSV, a predictions CSV, a
Label Studio JSON export and a Toloka results TSV, plus a few small PNG images.

The output is deterministic: the same seed gives the same bytes on every run
and platform. Only ``Generator.random`` (uniform doubles, the most stable part
of NumPy's random API) is drawn from; every other distribution is derived from
it here. PNG files use stored (uncompressed) deflate blocks so that their bytes
do not depend on the zlib build.

Usage::

    python sample_data/generate.py              # rewrite the files in this folder
    python sample_data/generate.py --out DIR    # write them elsewhere
    python sample_data/generate.py --check      # exit 1 if the files on disk differ
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import struct
import sys
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

SEED = 20250303
N_ITEMS = 2000
N_ROUND2 = 600
CONTROL_SHARE = 0.05
N_IMAGES = 12
IMAGE_SIZE = 64
MODEL = "defect-net-v3"
MODEL_ACCURACY = 0.93
MODEL_CRACK_ACCURACY = 0.60

CLASSES = (
    "ok",
    "scratch_light",
    "scratch_deep",
    "discoloration",
    "dent",
    "crack",
    "stain",
    "pit",
)
PRIOR = (0.45, 0.12, 0.08, 0.09, 0.07, 0.07, 0.07, 0.05)
#: The true classes of the first items, the ones that get a PNG image.
FIRST_CLASSES = (
    "ok",
    "scratch_light",
    "scratch_deep",
    "discoloration",
    "dent",
    "crack",
    "stain",
    "pit",
    "ok",
    "scratch_light",
    "crack",
    "discoloration",
)
CLASS_INDEX = {c: i for i, c in enumerate(CLASSES)}

#: Which wrong label a generic mistake picks, by true class (weights; 0.2 elsewhere).
MISTAKE_WEIGHTS: dict[str, dict[str, float]] = {
    "ok": {"scratch_light": 1.5, "discoloration": 2, "stain": 2, "pit": 1, "dent": 1},
    "scratch_light": {"ok": 2, "scratch_deep": 2, "stain": 0.5, "crack": 0.5},
    "scratch_deep": {"scratch_light": 2, "crack": 1, "dent": 1, "ok": 0.5, "pit": 0.5},
    "discoloration": {"stain": 3, "ok": 3},
    "dent": {"pit": 2, "ok": 2, "scratch_deep": 0.5},
    "crack": {"scratch_deep": 2, "scratch_light": 1, "dent": 0.5},
    "stain": {"discoloration": 3, "ok": 2, "pit": 0.5},
    "pit": {"dent": 2, "stain": 1, "ok": 1, "scratch_light": 0.5},
}
#: Confusions on top of generic mistakes: true class -> {label: probability}, by round.
#: The scratch subtypes are hard to tell apart in both rounds; the discoloration
#: instructions were clarified after round 1.
EXTRA_CONFUSION: dict[int, dict[str, dict[str, float]]] = {
    1: {
        "scratch_light": {"scratch_deep": 0.26},
        "scratch_deep": {"scratch_light": 0.28},
        "discoloration": {"stain": 0.22, "ok": 0.16},
        "stain": {"discoloration": 0.12},
        "ok": {"discoloration": 0.02},
    },
    2: {
        "scratch_light": {"scratch_deep": 0.26},
        "scratch_deep": {"scratch_light": 0.28},
        "discoloration": {"stain": 0.03, "ok": 0.02},
        "stain": {"discoloration": 0.03},
    },
}
#: Generic mistakes are rarer on classes that are easy to see: a crack is unmistakable.
MISTAKE_SCALE = {"crack": 0.4}
#: Where the model's mistakes go: crack is mostly taken for a deep scratch.
MODEL_MISTAKE_WEIGHTS: dict[str, dict[str, float]] = {
    **MISTAKE_WEIGHTS,
    "crack": {"scratch_deep": 6, "scratch_light": 2, "ok": 1},
}

FACTORY_LINES = {"F1": ("L1", "L2"), "F2": ("L3", "L4")}
CAMERAS = ("cam_A", "cam_B", "cam_C", "cam_D")
BLURRY_CAMERA = "cam_C"
BLUR_ERROR = 0.22  # extra mistake probability on blurry images
BLUR_SLOWDOWN = 1.35
SHIFTS = ("day", "night")
SHIFT_SHARE = (0.6, 0.4)
LABELS_PER_ITEM = (3, 4, 5)
LABELS_PER_ITEM_SHARE = (0.40, 0.35, 0.25)


@dataclass(frozen=True)
class Inspector:
    """One inspector: how often they slip, how fast they are, how often they guess."""

    id: str
    error: float  # probability of a generic mistake on a sharp image
    median_s: float  # median seconds per image
    spread: float  # sigma of log seconds
    guess: float = 0.0  # probability of a uniformly random label
    weight: float = 1.0  # relative share of the images they get


INSPECTORS = (
    Inspector("insp_01", 0.04, 11.0, 0.45),
    Inspector("insp_02", 0.06, 9.0, 0.45),
    Inspector("insp_03", 0.08, 8.0, 0.50),
    Inspector("insp_04", 0.05, 13.0, 0.40),
    Inspector("insp_05", 0.11, 7.0, 0.50),
    Inspector("insp_06", 0.07, 10.0, 0.45),
    Inspector("insp_07", 0.10, 2.0, 0.30, guess=0.40, weight=1.8),
    Inspector("insp_08", 0.09, 9.5, 0.45),
)

#: First day of each round (UTC) and how many working days it lasts.
ROUND_DAYS = {1: (datetime(2025, 3, 3, tzinfo=UTC), 4), 2: (datetime(2025, 3, 17, tzinfo=UTC), 2)}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Label Studio and Toloka bookkeeping.
LS_PROJECT = 7
LS_TASKS_CREATED = datetime(2025, 2, 27, 9, 30, tzinfo=UTC)
LS_GOLD_CREATED = datetime(2025, 2, 28, 14, 0, tzinfo=UTC)
LS_QA_LEAD = {"id": 2, "email": "qa_lead@example.com", "first_name": "", "last_name": ""}
LS_CANCELLED = 24
TOLOKA_POOL = 41027183
TOLOKA_SUITE = 5
TOLOKA_REJECT_SHARE = 0.3  # of the suites in which the worker failed a control task

LONG_COLUMNS = (
    "item_id",
    "labeler_id",
    "label",
    "round",
    "duration_s",
    "started_at",
    "submitted_at",
    "gold_label",
    "image",
    "factory",
    "line",
    "camera",
    "shift",
)
TOLOKA_COLUMNS = (
    "INPUT:image",
    "INPUT:item_id",
    "OUTPUT:result",
    "GOLDEN:result",
    "ASSIGNMENT:link",
    "ASSIGNMENT:task_id",
    "ASSIGNMENT:assignment_id",
    "ASSIGNMENT:worker_id",
    "ASSIGNMENT:status",
    "ASSIGNMENT:started",
    "ASSIGNMENT:submitted",
)


# --------------------------------------------------------------------------- draws


def _rng(seed: int, stream: str) -> np.random.Generator:
    """An independent, named random stream, so that parts do not shift each other."""
    return np.random.default_rng([seed, zlib.crc32(stream.encode())])


def _categorical(rng: np.random.Generator, probs: Sequence[float] | np.ndarray) -> int:
    """One index drawn with the given probabilities (inverse CDF on a uniform)."""
    cdf = np.cumsum(np.asarray(probs, dtype=float))
    return min(int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right")), len(cdf) - 1)


def _normal(rng: np.random.Generator) -> float:
    """A standard normal draw (Box-Muller on two uniforms)."""
    u1, u2 = rng.random(2)
    return math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2)


def _sample_without_replacement(rng: np.random.Generator, weights: np.ndarray, k: int) -> list[int]:
    """``k`` distinct indices, weighted (Efraimidis-Spirakis keys), in index order."""
    keys = np.log(1.0 - rng.random(len(weights))) / weights
    return sorted(int(i) for i in np.argsort(-keys, kind="stable")[:k])


def _token(rng: np.random.Generator, n: int, alphabet: str) -> str:
    """A random string, like the ids the labeling tools make."""
    return "".join(alphabet[int(u * len(alphabet))] for u in rng.random(n))


_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_HEX = "0123456789abcdef"


# --------------------------------------------------------------------------- model


@dataclass(frozen=True)
class Item:
    """One image and what is known about it."""

    index: int  # 0-based
    truth: int
    factory: str
    line: str
    camera: str
    shift: str
    is_control: bool

    @property
    def item_id(self) -> str:
        return f"img_{self.index + 1:05d}"

    @property
    def image(self) -> str:
        return f"images/{self.item_id}.png"

    @property
    def blurry(self) -> bool:
        return self.camera == BLURRY_CAMERA

    @property
    def gold_label(self) -> str:
        return CLASSES[self.truth] if self.is_control else ""


@dataclass
class Annotation:
    """One label given by one inspector to one image in one round."""

    item: Item
    inspector: int
    label: int
    round: int
    duration_ms: int
    started_ms: int = 0

    @property
    def submitted_ms(self) -> int:
        return self.started_ms + self.duration_ms


@dataclass(frozen=True)
class Prediction:
    """The model's label for one image."""

    item: Item
    label: int
    confidence: float


def _mistake_row(weights: dict[str, float], truth: str) -> np.ndarray:
    row = np.array([weights.get(c, 0.2) for c in CLASSES])
    row[CLASS_INDEX[truth]] = 0.0
    return row / row.sum()


def label_distribution(truth: str, inspector: Inspector, blurry: bool, round_: int) -> np.ndarray:
    """The probability of each label (in ``CLASSES`` order) for one inspector and image.

    The true class keeps what is left after a generic mistake and the round's
    extra confusions (``EXTRA_CONFUSION``). A generic mistake happens with
    probability ``inspector.error`` times the class's ``MISTAKE_SCALE``, plus
    ``BLUR_ERROR`` on blurry images, and picks a wrong label by
    ``MISTAKE_WEIGHTS``. A guessing inspector then answers uniformly at random
    ``inspector.guess`` of the time.
    """
    error = inspector.error * MISTAKE_SCALE.get(truth, 1.0) + (BLUR_ERROR if blurry else 0.0)
    extra = EXTRA_CONFUSION[round_].get(truth, {})
    probs = error * _mistake_row(MISTAKE_WEIGHTS[truth], truth)
    for label, p in extra.items():
        probs[CLASS_INDEX[label]] += p
    probs[CLASS_INDEX[truth]] += 1.0 - error - sum(extra.values())
    return (1.0 - inspector.guess) * probs + inspector.guess / len(CLASSES)


def make_items(seed: int) -> list[Item]:
    """The images: true class, factory, line, camera, shift and control flag."""
    rng = _rng(seed, "items")
    controls = set(
        int(i) for i in np.argsort(rng.random(N_ITEMS))[: round(N_ITEMS * CONTROL_SHARE)]
    )
    items = []
    for i in range(N_ITEMS):
        truth = _categorical(rng, PRIOR)
        if i < len(FIRST_CLASSES):
            truth = CLASS_INDEX[FIRST_CLASSES[i]]
        factory = ("F1", "F2")[_categorical(rng, (0.5, 0.5))]
        line = FACTORY_LINES[factory][_categorical(rng, (0.5, 0.5))]
        camera = CAMERAS[_categorical(rng, (1, 1, 1, 1))]
        shift = SHIFTS[_categorical(rng, SHIFT_SHARE)]
        items.append(Item(i, truth, factory, line, camera, shift, i in controls))
    return items


def _label_items(rng: np.random.Generator, items: Sequence[Item], round_: int) -> list[Annotation]:
    """3 to 5 labels per image from distinct inspectors, with durations."""
    weights = np.array([insp.weight for insp in INSPECTORS])
    out = []
    for item in items:
        k = LABELS_PER_ITEM[_categorical(rng, LABELS_PER_ITEM_SHARE)]
        for j in _sample_without_replacement(rng, weights, k):
            insp = INSPECTORS[j]
            probs = label_distribution(CLASSES[item.truth], insp, item.blurry, round_)
            label = _categorical(rng, probs)
            slow = BLUR_SLOWDOWN if item.blurry and insp.guess == 0 else 1.0
            seconds = slow * insp.median_s * math.exp(insp.spread * _normal(rng))
            duration_ms = max(4, round(seconds * 10)) * 100  # tenths of a second
            out.append(Annotation(item, j, label, round_, duration_ms))
    return out


def _schedule(rng: np.random.Generator, annotations: list[Annotation], round_: int) -> None:
    """Give each annotation a start time: each inspector works through their
    images one after another, on the round's working days, from the morning."""
    first_day, n_days = ROUND_DAYS[round_]
    for j in range(len(INSPECTORS)):
        mine = [a for a in annotations if a.inspector == j]
        order = np.argsort(rng.random(len(mine)), kind="stable")
        for day, chunk in enumerate(np.array_split(order, n_days)):
            start = first_day + timedelta(days=day, hours=7, minutes=30)
            t = _ms(start) + round(rng.random() * 90 * 60_000)
            for idx in chunk:
                a = mine[int(idx)]
                a.started_ms = t
                gap_s = 4.0 * math.exp(0.6 * _normal(rng))
                if rng.random() < 0.01:  # a break
                    gap_s += 600 + rng.random() * 1200
                t = a.submitted_ms + round(gap_s * 1000)


def _round2_items(
    rng: np.random.Generator, items: list[Item], round1: list[Annotation]
) -> list[Item]:
    """The images relabeled after the discoloration instructions were clarified:
    every image with at least two round-1 labels of discoloration or stain, then
    random others up to ``N_ROUND2``."""
    suspect = {CLASS_INDEX["discoloration"], CLASS_INDEX["stain"]}
    hits = np.zeros(N_ITEMS, dtype=int)
    for a in round1:
        hits[a.item.index] += a.label in suspect
    chosen = set(np.flatnonzero(hits >= 2).tolist())
    others = [i for i in np.argsort(rng.random(N_ITEMS), kind="stable") if int(i) not in chosen]
    chosen.update(int(i) for i in others[: max(0, N_ROUND2 - len(chosen))])
    return [items[i] for i in sorted(chosen)]


def make_annotations(seed: int, items: list[Item]) -> list[Annotation]:
    """Both rounds of labels, sorted by round, item and inspector."""
    rng = _rng(seed, "labels")
    round1 = _label_items(rng, items, 1)
    round2 = _label_items(rng, _round2_items(rng, items, round1), 2)
    timing = _rng(seed, "timing")
    _schedule(timing, round1, 1)
    _schedule(timing, round2, 2)
    return round1 + round2


def make_predictions(seed: int, items: list[Item]) -> list[Prediction]:
    """The model's label and confidence for every image; it is weak on crack."""
    rng = _rng(seed, "model")
    out = []
    for item in items:
        truth = CLASSES[item.truth]
        accuracy = MODEL_CRACK_ACCURACY if truth == "crack" else MODEL_ACCURACY
        if rng.random() < accuracy:
            label = item.truth
            confidence = 0.55 + 0.44 * math.sqrt(rng.random())
        else:
            label = _categorical(rng, _mistake_row(MODEL_MISTAKE_WEIGHTS[truth], truth))
            confidence = 0.35 + 0.45 * rng.random()
        out.append(Prediction(item, label, round(confidence, 3)))
    return out


# --------------------------------------------------------------------------- formats


def _ms(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(milliseconds=1)


def _iso(ms: int, suffix: str = "Z", digits: int = 3) -> str:
    """``2025-03-03T08:15:42.300Z``; ``digits`` 6 gives microseconds like Label Studio."""
    moment = EPOCH + timedelta(milliseconds=ms)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S.%f")
    return text[: len(text) - 6 + digits] + suffix


def _seconds(ms: int) -> str:
    return f"{ms / 1000:.1f}"


def _table(columns: Sequence[str], rows: Iterator[Sequence[object]], delimiter: str = ",") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return buffer.getvalue().encode()


def long_csv(annotations: Sequence[Annotation]) -> bytes:
    """One row per annotation, sorted by round, item and labeler."""

    def rows() -> Iterator[list[object]]:
        for a in annotations:
            item = a.item
            yield [
                item.item_id,
                INSPECTORS[a.inspector].id,
                CLASSES[a.label],
                a.round,
                _seconds(a.duration_ms),
                _iso(a.started_ms),
                _iso(a.submitted_ms),
                item.gold_label,
                item.image,
                item.factory,
                item.line,
                item.camera,
                item.shift,
            ]

    return _table(LONG_COLUMNS, rows())


def predictions_csv(predictions: Sequence[Prediction]) -> bytes:
    """One row per image: the model's label and confidence."""
    rows = ([p.item.item_id, MODEL, CLASSES[p.label], f"{p.confidence:.3f}"] for p in predictions)
    return _table(("item_id", "model", "predicted_label", "confidence"), rows)


def _choice(rng: np.random.Generator, label: str) -> list[dict[str, object]]:
    return [
        {
            "id": _token(rng, 10, _ALNUM),
            "type": "choices",
            "from_name": "defect",
            "to_name": "image",
            "value": {"choices": [label]},
        }
    ]


def _ls_user(inspector: int) -> dict[str, object]:
    insp = INSPECTORS[inspector]
    return {
        "id": inspector + 11,
        "email": f"{insp.id}@example.com",
        "first_name": "",
        "last_name": "",
    }


def labelstudio_json(
    seed: int,
    items: Sequence[Item],
    annotations: Sequence[Annotation],
    predictions: Sequence[Prediction],
) -> bytes:
    """Label Studio's full JSON export of round 1: one task per image.

    Besides the inspectors' annotations, control tasks carry one extra
    ``ground_truth`` annotation with the gold label (by the QA lead), and a few
    tasks carry a cancelled (skipped) annotation that is not a label.
    """
    rng = _rng(seed, "labelstudio")
    # (created ms, task index, annotation) for every annotation, then ids by creation time.
    entries: list[tuple[int, int, dict[str, object]]] = []
    for a in annotations:
        if a.round != 1:
            continue
        entries.append(
            (
                a.submitted_ms,
                a.item.index,
                {
                    "completed_by": _ls_user(a.inspector),
                    "result": _choice(rng, CLASSES[a.label]),
                    "was_cancelled": False,
                    "ground_truth": False,
                    "lead_time": a.duration_ms / 1000,
                },
            )
        )
    labelers: dict[int, set[int]] = {}
    for a in annotations:
        if a.round == 1:
            labelers.setdefault(a.item.index, set()).add(a.inspector)
    times = [e[0] for e in entries]
    for k in np.argsort(rng.random(len(items)), kind="stable")[:LS_CANCELLED]:
        item = items[int(k)]
        free = [j for j in range(len(INSPECTORS)) if j not in labelers[item.index]]
        j = free[int(rng.random() * len(free))]
        when = times[int(rng.random() * len(times))] + round(rng.random() * 60_000)
        result = _choice(rng, CLASSES[_categorical(rng, PRIOR)]) if rng.random() < 0.5 else []
        cancelled = {
            "completed_by": _ls_user(j),
            "result": result,
            "was_cancelled": True,
            "ground_truth": False,
            "lead_time": round(0.5 + rng.random() * 4, 1),
        }
        entries.append((when, item.index, cancelled))
    for item in items:
        if item.is_control:
            gold = {
                "completed_by": LS_QA_LEAD,
                "result": _choice(rng, item.gold_label),
                "was_cancelled": False,
                "ground_truth": True,
                "lead_time": round(5 + rng.random() * 20, 1),
            }
            entries.append((_ms(LS_GOLD_CREATED) + item.index * 1000, item.index, gold))
    entries.sort(key=lambda e: (e[0], e[1]))
    per_task: dict[int, list[dict[str, object]]] = {}
    for number, (created, index, body) in enumerate(entries, start=1):
        stamp = _iso(created, digits=6)
        per_task.setdefault(index, []).append(
            {"id": number, **body, "created_at": stamp, "updated_at": stamp, "task": index + 1}
        )
    created_tasks = _ms(LS_TASKS_CREATED)
    lines = []
    for item, prediction in zip(items, predictions, strict=True):
        task_annotations = per_task[item.index]
        cancelled_count = sum(1 for a in task_annotations if a["was_cancelled"])
        task = {
            "id": item.index + 1,
            "data": {
                "image": item.image,
                "item_id": item.item_id,
                "factory": item.factory,
                "line": item.line,
                "camera": item.camera,
                "shift": item.shift,
            },
            "annotations": task_annotations,
            "predictions": [
                {
                    "id": item.index + 1,
                    "model_version": MODEL,
                    "score": prediction.confidence,
                    "result": _choice(rng, CLASSES[prediction.label]),
                    "task": item.index + 1,
                }
            ],
            "meta": {},
            "created_at": _iso(created_tasks + item.index, digits=6),
            "project": LS_PROJECT,
            "total_annotations": len(task_annotations) - cancelled_count,
            "cancelled_annotations": cancelled_count,
            "total_predictions": 1,
        }
        lines.append(json.dumps(task, ensure_ascii=False, separators=(",", ":")))
    return ("[\n" + ",\n".join(lines) + "\n]\n").encode()


def toloka_tsv(seed: int, annotations: Sequence[Annotation]) -> bytes:
    """Toloka results for round 1: task suites of 5 images per worker, in time order.

    Started and submitted are per suite; suites in which the worker failed a
    control task were rejected about half the time.
    """
    rng = _rng(seed, "toloka")
    task_ids: dict[int, str] = {}
    rows = []
    suites = []
    for j in range(len(INSPECTORS)):
        mine = sorted(
            (a for a in annotations if a.round == 1 and a.inspector == j),
            key=lambda a: a.started_ms,
        )
        suites += [mine[i : i + TOLOKA_SUITE] for i in range(0, len(mine), TOLOKA_SUITE)]
    suites.sort(key=lambda s: (s[0].started_ms, s[0].inspector))
    for suite in suites:
        assignment = f"{TOLOKA_POOL:010x}--{_token(rng, 24, _HEX)}"
        failed = any(a.item.is_control and a.label != a.item.truth for a in suite)
        status = "REJECTED" if failed and rng.random() < TOLOKA_REJECT_SHARE else "APPROVED"
        started = _iso(suite[0].started_ms, suffix="")
        submitted = _iso(suite[-1].submitted_ms, suffix="")
        for a in suite:
            item = a.item
            if item.index not in task_ids:
                task_ids[item.index] = f"{TOLOKA_POOL:010x}--{_token(rng, 24, _HEX)}"
            rows.append(
                [
                    item.image,
                    item.item_id,
                    CLASSES[a.label],
                    item.gold_label,
                    f"https://platform.toloka.ai/task/{TOLOKA_POOL}/{assignment}",
                    task_ids[item.index],
                    assignment,
                    INSPECTORS[a.inspector].id,
                    status,
                    started,
                    submitted,
                ]
            )
    return _table(TOLOKA_COLUMNS, iter(rows), delimiter="\t")


# --------------------------------------------------------------------------- images


def _segment_distance(x: np.ndarray, y: np.ndarray, p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Distance from each pixel centre to the segment ``p``-``q``."""
    d = q - p
    t = np.clip(((x - p[0]) * d[0] + (y - p[1]) * d[1]) / max(float(d @ d), 1e-9), 0.0, 1.0)
    return np.hypot(x - p[0] - t * d[0], y - p[1] - t * d[1])


def _blob(x: np.ndarray, y: np.ndarray, cx: float, cy: float, r: float) -> np.ndarray:
    return np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * r * r))


def _draw_defect(rng: np.random.Generator, kind: str, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The change in grey level that one defect makes (negative is darker)."""
    n = IMAGE_SIZE
    u = rng.random(8)
    cx, cy = n * (0.3 + 0.4 * u[0]), n * (0.3 + 0.4 * u[1])
    angle = math.pi * u[2]
    half = n * (0.2 + 0.15 * u[3])
    ends = np.array(
        [
            [cx - half * math.cos(angle), cy - half * math.sin(angle)],
            [cx + half * math.cos(angle), cy + half * math.sin(angle)],
        ]
    )
    if kind == "scratch_light":
        return -28.0 * (_segment_distance(x, y, ends[0], ends[1]) < 0.7)
    if kind == "scratch_deep":
        dist = _segment_distance(x, y, ends[0], ends[1])
        return -80.0 * (dist < 1.3) + 25.0 * ((dist >= 1.3) & (dist < 2.2))
    if kind == "discoloration":
        return 38.0 * _blob(x, y, cx, cy, 9 + 5 * u[4])
    if kind == "dent":
        r = 7 + 3 * u[4]
        shade = ((x - cx) + (y - cy)) / r
        return 30.0 * shade * _blob(x, y, cx, cy, r)
    if kind == "crack":
        heading = angle
        points = [np.array([cx, cy]) - 20.0 * np.array([math.cos(angle), math.sin(angle)])]
        for step in rng.random(10):
            heading += (step - 0.5) * 1.6
            points.append(points[-1] + 4.0 * np.array([math.cos(heading), math.sin(heading)]))
        dist = np.min(
            [_segment_distance(x, y, a, b) for a, b in zip(points, points[1:], strict=False)],
            axis=0,
        )
        return -95.0 * (dist < 0.9)
    if kind == "stain":
        blobs = sum(
            _blob(x, y, cx + 8 * (u[4 + k] - 0.5), cy + 8 * (u[5 + k] - 0.5), 4 + 2 * k)
            for k in range(3)
        )
        return -45.0 * np.minimum(blobs, 1.0)
    if kind == "pit":
        return -85.0 * (np.hypot(x - cx, y - cy) < 1.8)
    return np.zeros_like(x)


def _box_blur(img: np.ndarray, radius: int = 2) -> np.ndarray:
    padded = np.pad(img, radius, mode="edge")
    size = 2 * radius + 1
    rows = sum(padded[k : k + img.shape[0], :] for k in range(size)) / size
    return sum(rows[:, k : k + img.shape[1]] for k in range(size)) / size


def render_image(seed: int, item: Item) -> np.ndarray:
    """A small grey picture of the screen with the item's true defect drawn on it."""
    rng = _rng(seed, f"image {item.item_id}")
    n = IMAGE_SIZE
    y, x = np.mgrid[0:n, 0:n].astype(float) + 0.5
    noise = np.array([_normal(rng) for _ in range(n * n)]).reshape(n, n)
    img = 150.0 + 18.0 * (y / n - 0.5) + 3.0 * noise
    img += _draw_defect(rng, CLASSES[item.truth], x, y)
    if item.blurry:
        img = _box_blur(_box_blur(img))
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _stored_zlib(data: bytes) -> bytes:
    """A zlib stream of stored (uncompressed) deflate blocks: the same bytes everywhere."""
    out = bytearray(b"\x78\x01")
    blocks = [data[i : i + 65535] for i in range(0, len(data), 65535)] or [b""]
    for k, block in enumerate(blocks):
        final = 1 if k == len(blocks) - 1 else 0
        out += struct.pack("<BHH", final, len(block), 0xFFFF ^ len(block)) + block
    return bytes(out + struct.pack(">I", zlib.adler32(data)))


def png_bytes(pixels: np.ndarray) -> bytes:
    """An 8-bit greyscale PNG of a 2-D uint8 array."""
    height, width = pixels.shape
    raw = b"".join(b"\x00" + pixels[r].tobytes() for r in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", _stored_zlib(raw))
        + _png_chunk(b"IEND", b"")
    )


# --------------------------------------------------------------------------- entry points


def build(seed: int = SEED) -> dict[str, bytes]:
    """Every file of the dataset: relative path -> bytes."""
    items = make_items(seed)
    annotations = make_annotations(seed, items)
    predictions = make_predictions(seed, items)
    files = {
        "inspection_long.csv": long_csv(annotations),
        "inspection_predictions.csv": predictions_csv(predictions),
        "inspection_labelstudio.json": labelstudio_json(seed, items, annotations, predictions),
        "inspection_toloka.tsv": toloka_tsv(seed, annotations),
    }
    for item in items[:N_IMAGES]:
        files[item.image] = png_bytes(render_image(seed, item))
    return files


def write(out: Path, files: dict[str, bytes]) -> None:
    """Write ``files`` under ``out``, creating folders as needed."""
    for name, content in files.items():
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def differences(out: Path, files: dict[str, bytes]) -> list[str]:
    """The files under ``out`` that are missing or differ from ``files``."""
    found = []
    for name, content in files.items():
        path = out / name
        if not path.is_file():
            found.append(f"{name}: missing")
        elif path.read_bytes() != content:
            found.append(f"{name}: differs")
    return found


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: write the files, or with ``--check`` compare them; return the exit code."""
    parser = argparse.ArgumentParser(
        description="Generate the phone-screen visual-inspection sample dataset."
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent,
        help="folder to write into (default: this script's folder)",
    )
    parser.add_argument("--seed", type=int, default=SEED, help=f"random seed (default {SEED})")
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if the files in --out differ from what would be written",
    )
    args = parser.parse_args(argv)
    files = build(args.seed)
    if args.check:
        problems = differences(args.out, files)
        for line in problems:
            print(line, file=sys.stderr)
        if problems:
            print(
                f"{len(problems)} file(s) out of date; run: python {Path(__file__).name}",
                file=sys.stderr,
            )
            return 1
        print(f"{len(files)} files up to date")
        return 0
    write(args.out, files)
    print(f"wrote {len(files)} files to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
