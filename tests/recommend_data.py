"""Datasets with one planted problem each, where the right recommendation is known.

Every generator draws the same clean labeling process and then plants one
problem in it:

* :func:`clean`: nothing planted. Eight labelers with small generic mistake
  rates (4% to 10%, a wrong label drawn uniformly from the other classes),
  3 to 5 labels per item, two metadata fields (``camera``, ``shift``) with no
  effect, gold labels on 10% of the items and a model about as good as a
  labeler on every class. No recommendation should score above
  ``Thresholds.min_score``.
* :func:`merge`: labelers swap two classes at random (on an item of either
  class, each label is one of the two with probability 1/2).
* :func:`clarify`: one class labeled at random half the time (four classes;
  half of the labels of that class's items are drawn uniformly from all of
  them, so its disagreement goes to a few partner classes).
* :func:`uncertain`: the items of one class split their votes over all the
  classes (each label is that class with probability 1/4, else any other
  class uniformly): no clear winner, no single partner class.
* :func:`slice_input`: every label of the images of one camera is drawn
  uniformly from all classes.
* :func:`labeler`: one labeler answers uniformly at random.
* :func:`model_weak`: the model is right on 50% of one class (it says a
  neighbouring class instead) and 95% elsewhere, while people agree well on
  that class (generic mistakes only).

Each returns a :class:`Planted` with the canonical tables and the row
expected first (``expected``); :meth:`Planted.import_into` writes it into a
store and :meth:`Planted.long_table` gives one long table (the CSV a user
would bring). Everything is deterministic for a given seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from consistency.schema import ImportResult
from consistency.store import Store

#: The classes of the planted datasets (most common first).
CLASSES: tuple[str, ...] = ("ok", "scratch", "dent", "crack", "stain", "pit")
PRIOR: tuple[float, ...] = (0.30, 0.18, 0.16, 0.14, 0.12, 0.10)
LABELERS: tuple[str, ...] = tuple(f"lab_{i}" for i in range(1, 9))
#: Generic mistake rate of each labeler of :data:`LABELERS`.
MISTAKES: tuple[float, ...] = (0.04, 0.05, 0.06, 0.07, 0.08, 0.08, 0.09, 0.10)
CAMERAS: tuple[str, ...] = ("cam_A", "cam_B", "cam_C", "cam_D")
SHIFTS: tuple[str, ...] = ("day", "night")
MODEL = "net-1"
N_ITEMS = 600
GOLD_SHARE = 0.1
MODEL_ACCURACY = 0.93


@dataclass
class Planted:
    """One generated dataset and the recommendation it should produce first.

    Attributes:
        name: the dataset id to import it as.
        annotations: item_id, labeler_id, label, duration_s.
        items: item_id, gold_label (on 10% of the items), camera, shift.
        predictions: item_id, model, predicted_label.
        truth: item_id -> the item's true class.
        expected: (action, target) of the row that should rank first, or None
            for a dataset with nothing planted.
    """

    name: str
    annotations: pd.DataFrame
    items: pd.DataFrame
    predictions: pd.DataFrame
    truth: pd.Series
    expected: tuple[str, str] | None = None
    notes: dict[str, str] = field(default_factory=dict)

    def long_table(self) -> pd.DataFrame:
        """One row per label with the item columns beside it (the file a user imports)."""
        return self.annotations.merge(self.items, on="item_id", how="left")

    def import_into(self, store: Store, dataset: str | None = None) -> str:
        """Import the annotations, items and predictions into ``store``; return the dataset id."""
        result = ImportResult(
            "long", self.annotations, items=self.items, predictions=self.predictions
        )
        data = self.long_table().to_csv(index=False).encode()
        report = store.import_result(
            result, file_name=f"{self.name}.csv", data=data, dataset=dataset or self.name
        )
        return report.dataset


@dataclass
class _Draw:
    """The clean process of one dataset, before a problem is planted."""

    rng: np.random.Generator
    classes: tuple[str, ...]
    truth: np.ndarray  # per item: class code
    camera: np.ndarray  # per item
    shift: np.ndarray  # per item
    item: np.ndarray  # per label: item index
    labeler: np.ndarray  # per label: labeler index
    label: np.ndarray  # per label: class code (clean)

    @property
    def k(self) -> int:
        return len(self.classes)

    def uniform(self, where: np.ndarray) -> None:
        """Redraw the labels of ``where`` (a mask over labels) uniformly from all classes."""
        self.label[where] = self.rng.integers(0, self.k, int(where.sum()))

    def other(self, codes: np.ndarray) -> np.ndarray:
        """A class other than each of ``codes``, uniformly."""
        shift = self.rng.integers(1, self.k, len(codes))
        return (codes + shift) % self.k


def _draw(
    seed: int,
    classes: tuple[str, ...] = CLASSES,
    prior: tuple[float, ...] = PRIOR,
    n_items: int = N_ITEMS,
    mistakes: tuple[float, ...] = MISTAKES,
) -> _Draw:
    rng = np.random.default_rng(seed)
    k = len(classes)
    truth = rng.choice(k, size=n_items, p=np.asarray(prior) / np.sum(prior))
    camera = rng.choice(len(CAMERAS), size=n_items)
    shift = rng.choice(len(SHIFTS), size=n_items)
    m = rng.integers(3, 6, size=n_items)
    item = np.repeat(np.arange(n_items), m)
    labeler = np.concatenate([rng.permutation(len(LABELERS))[:j] for j in m])
    label = truth[item].copy()
    d = _Draw(rng, classes, truth, camera, shift, item, labeler, label)
    wrong = rng.random(len(label)) < np.asarray(mistakes)[labeler]
    d.label[wrong] = d.other(d.label[wrong])
    return d


def _finish(
    d: _Draw,
    name: str,
    expected: tuple[str, str] | None,
    model_right: np.ndarray | None = None,
    model_wrong_as: dict[int, int] | None = None,
) -> Planted:
    """The tables of a draw; the model is right on ``model_right`` (per item) of the items."""
    rng = d.rng
    n = len(d.truth)
    ids = np.array([f"it_{i:04d}" for i in range(n)])
    durations = np.round(np.exp(rng.normal(np.log(8.0), 0.35, len(d.label))), 2)
    annotations = pd.DataFrame(
        {
            "item_id": ids[d.item],
            "labeler_id": np.asarray(LABELERS)[d.labeler],
            "label": np.asarray(d.classes)[d.label],
            "duration_s": durations,
        }
    )
    gold = np.where(rng.random(n) < GOLD_SHARE, np.asarray(d.classes)[d.truth], None)
    items = pd.DataFrame(
        {
            "item_id": ids,
            "gold_label": gold,
            "camera": np.asarray(CAMERAS)[d.camera],
            "shift": np.asarray(SHIFTS)[d.shift],
        }
    )
    if model_right is None:
        model_right = np.full(n, MODEL_ACCURACY)
    predicted = d.truth.copy()
    wrong = rng.random(n) >= model_right
    predicted[wrong] = d.other(predicted[wrong])
    for true_code, said in (model_wrong_as or {}).items():
        predicted[wrong & (d.truth == true_code)] = said
    predictions = pd.DataFrame(
        {"item_id": ids, "model": MODEL, "predicted_label": np.asarray(d.classes)[predicted]}
    )
    truth = pd.Series(np.asarray(d.classes)[d.truth], index=ids, name="true_label")
    return Planted(name, annotations, items, predictions, truth, expected)


def clean(seed: int = 1) -> Planted:
    """Nothing planted: no recommendation should score above the threshold."""
    return _finish(_draw(seed), "clean", None)


def merge(seed: int = 2, a: str = "scratch", b: str = "dent") -> Planted:
    """Labelers swap ``a`` and ``b`` at random: "merge classes a + b" ranks first."""
    d = _draw(seed)
    ia, ib = d.classes.index(a), d.classes.index(b)
    either = np.isin(d.truth[d.item], [ia, ib]) & np.isin(d.label, [ia, ib])
    d.label[either] = np.where(d.rng.random(int(either.sum())) < 0.5, ia, ib)
    first, second = sorted((a, b))  # the order of the store's class list
    return _finish(d, "merge", ("merge classes", f"{first} + {second}"))


def clarify(seed: int = 3, cls: str = "scratch") -> Planted:
    """Class ``cls`` is labeled at random half the time: "clarify instructions" ranks first.

    Four classes, so that the random labels go to a few partner classes.
    """
    classes, prior = CLASSES[:4], PRIOR[:4]
    d = _draw(seed, classes=classes, prior=prior)
    c = classes.index(cls)
    d.uniform((d.truth[d.item] == c) & (d.rng.random(len(d.label)) < 0.5))
    return _finish(d, "clarify", ("clarify instructions", f"class {cls}"))


def uncertain(seed: int = 4, cls: str = "scratch") -> Planted:
    """Items of ``cls`` split their votes over every class: "add an uncertain tag" ranks first.

    They are 18% of the items, so the tag applies globally (the rule's
    per-class row for ``cls`` comes after it, and no other class gets one).
    """
    d = _draw(seed)
    c = d.classes.index(cls)
    mine = d.truth[d.item] == c
    keep = d.rng.random(len(d.label)) < 0.25
    d.label[mine & keep] = c
    redraw = mine & ~keep
    d.label[redraw] = d.other(np.full(int(redraw.sum()), c))
    return _finish(d, "uncertain", ("add an uncertain tag", "globally"))


def slice_input(seed: int = 5, camera: str = "cam_C") -> Planted:
    """Images of ``camera`` draw random labels: "fix the input camera = ..." ranks first."""
    d = _draw(seed)
    d.uniform(d.camera[d.item] == CAMERAS.index(camera))
    return _finish(d, "slice", ("fix the input", f"camera = {camera}"))


def labeler(seed: int = 6, who: str = "lab_3") -> Planted:
    """Labeler ``who`` answers at random: "review labeler" ranks first."""
    d = _draw(seed)
    d.uniform(d.labeler == LABELERS.index(who))
    return _finish(d, "labeler", ("review labeler", f"labeler {who}"))


def model_weak(seed: int = 7, cls: str = "crack", said: str = "scratch") -> Planted:
    """The model is right on half of ``cls`` (says ``said``), people agree on it: "model work"."""
    d = _draw(seed)
    c = d.classes.index(cls)
    right = np.where(d.truth == c, 0.5, 0.95)
    return _finish(d, "model", ("model work", f"class {cls}"), right, {c: d.classes.index(said)})


#: Every planted dataset with a known first recommendation, by name.
PLANTED = {
    "merge": merge,
    "clarify": clarify,
    "uncertain": uncertain,
    "slice": slice_input,
    "labeler": labeler,
    "model": model_weak,
}
