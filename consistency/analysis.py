"""The full analysis of a dataset: what ``consistency analyze`` prints and the dashboard shows.

Each function here takes a store, a dataset id and a view (filters), runs the
engine queries and the metric functions, and returns plain data. The
functions are the library's public entry points for one panel each; the
dashboard caches their results.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from consistency.engine import Profile, kept, labeler_patterns, profile
from consistency.errors import InvalidArgument, NotComputable
from consistency.store import Store, ViewFilter


@dataclass(frozen=True)
class AnalysisOptions:
    """Settings of an analysis.

    Attributes:
        level: level of measurement of Krippendorff's alpha.
        n_boot: bootstrap draws for intervals.
        seed: bootstrap seed.
        min_shared: items two labelers must share for their Cohen's kappa.
        fast_threshold_s: answers faster than this are "suspiciously fast".
        model: which model's predictions to compare with (default: the only one,
            else the first by name).
    """

    level: str = "nominal"
    n_boot: int = 1000
    seed: int = 0
    min_shared: int = 10
    fast_threshold_s: float = 3.0
    model: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The options as a dict (for JSON output)."""
        return asdict(self)


def dataset_profile(store: Store, dataset: str, view: ViewFilter | None = None) -> Profile:
    """The profile (distinct per-item count patterns) of a dataset's view."""
    return profile(store.annotations(dataset, view))


def _view_ann(
    store: Store, dataset: str, view: ViewFilter | None, ann: ir.Table | None
) -> ir.Table:
    return ann if ann is not None else store.annotations(dataset, view)


@contextmanager
def view_table(store: Store, dataset: str, view: ViewFilter | None = None) -> Iterator[ir.Table]:
    """The view's annotations computed once into a temporary table, dropped on exit.

    :func:`analyze` runs some forty queries on the same annotations. Reading
    them from a temporary table spares the engine re-running the view's
    filters (each item's latest round, metadata and labeler filters) and Ibis
    re-compiling them in every query; the figures are the same. The table
    lives in this thread's connection of the store (also on a read-only store).
    A store over another engine (:class:`consistency.spark.TableStore`)
    materializes the view its own way.
    """
    own = getattr(store, "view_table", None)
    if own is not None:
        with own(dataset, view) as table:
            yield table
        return
    with kept(store.annotations(dataset, view), store.backend()) as table:
        yield table


#: How many known values an error message lists before "... and N more".
MAX_LISTED_VALUES = 20


def _listed(values: list[str]) -> str:
    shown = ", ".join(values[:MAX_LISTED_VALUES]) or "none"
    more = len(values) - MAX_LISTED_VALUES
    return shown + (f" ... and {more} more" if more > 0 else "")


def check_view(store: Store, dataset: str, view: ViewFilter | None = None) -> None:
    """Check that every round, labeler and metadata value a view names exists in the dataset.

    Raises:
        DatasetNotFound: an unknown dataset.
        InvalidArgument: the first unknown name, with the known ones listed, e.g.
            ``labeler 'zz' not found in dataset 'votes'. Labelers: ann, bob``.
    """
    store.require(dataset)
    view = view or ViewFilter()
    if view.rounds is not None and view.rounds != ("*",):
        rounds = store.rounds(dataset)
        for r in view.rounds:
            if r not in rounds:
                raise InvalidArgument(
                    f"round '{r}' not found in dataset '{dataset}'. Rounds: {_listed(rounds)}"
                )
    if view.labelers:
        t = store.table("annotations")
        t = t.filter(t.dataset == dataset).select("labeler_id").distinct()
        known = sorted(str(x) for x in t.execute()["labeler_id"])
        for labeler in view.labelers:
            if labeler not in known:
                raise InvalidArgument(
                    f"labeler '{labeler}' not found in dataset '{dataset}'. "
                    f"Labelers: {_listed(known)}"
                )
    fields = store.metadata_fields(dataset)["field"].astype(str).tolist()
    for field_name, values in view.metadata:
        if field_name not in fields:
            raise InvalidArgument(
                f"metadata field '{field_name}' not found in dataset '{dataset}'. "
                f"Fields: {_listed(fields)}"
            )
        known = store.metadata_values(dataset, field_name)
        for value in values:
            if value not in known:
                raise InvalidArgument(
                    f"value '{value}' of metadata field '{field_name}' not found in dataset "
                    f"'{dataset}'. Values: {_listed(known)}"
                )


def require_annotations(profile_: Profile, dataset: str, view: ViewFilter | None) -> None:
    """Raise NotComputable when a view keeps no annotation (its filters exclude each other)."""
    if profile_.annotations == 0:
        raise NotComputable(
            f"no annotations in this view of dataset '{dataset}' "
            f"({(view or ViewFilter()).describe()}); loosen the filters"
        )


def dataset_summary(
    store: Store,
    dataset: str,
    view: ViewFilter | None = None,
    profile_: Profile | None = None,
) -> dict[str, Any]:
    """Items, labelers, annotations, labels per item, classes, rounds, gold, models, metadata.

    ``profile_``: the view's profile when already computed (else it is built here).
    """
    view = view or ViewFilter()
    p = profile_ if profile_ is not None else dataset_profile(store, dataset, view)
    items = store.items(dataset)
    gold_items = int(items.filter(items.gold_label.notnull()).count().execute())
    preds = store.predictions(dataset)
    models = sorted(str(m) for m in preds.select("model").distinct().execute()["model"])
    counts = p.label_totals if p.label_totals.size else np.zeros(len(p.labels), dtype=int)
    return {
        "dataset": dataset,
        "view": view.describe(),
        "items": p.items,
        "labelers": p.labelers,
        "annotations": p.annotations,
        "pairable_items": p.pairable_items,
        "unpairable_items": p.items - p.pairable_items,
        "repeated_labels": p.repeats,
        "classes": list(p.labels),
        "class_counts": [
            {"class": lab, "n": int(n)} for lab, n in zip(p.labels, counts.tolist(), strict=True)
        ],
        "labels_per_item": {str(k): v for k, v in p.labels_per_item().items()},
        "rounds": store.rounds(dataset),
        "gold_items": gold_items,
        "models": models,
        "metadata_fields": store.metadata_fields(dataset)["field"].tolist(),
    }


# ---- panels ------------------------------------------------------------------
def overall(profile_: Profile, options: AnalysisOptions) -> dict[str, Any]:
    """alpha with its interval, Fleiss' kappa (or why not), percent agreement, Gwet's AC1."""
    from consistency.metrics.agreement import fleiss_kappa, gwet_ac1, percent_agreement
    from consistency.metrics.alpha import alpha_with_ci

    est = alpha_with_ci(profile_, options.level, options.n_boot, options.seed)  # type: ignore[arg-type]
    fk = fleiss_kappa(profile_)
    return {
        "alpha": {
            "level": est.level,
            "value": est.value,
            "ci_low": est.ci_low,
            "ci_high": est.ci_high,
            "confidence": est.confidence,
            "draws": est.draws,
        },
        "fleiss_kappa": fk.value,
        "fleiss_kappa_note": fk.note,
        "percent_agreement": percent_agreement(profile_),
        "gwet_ac1": gwet_ac1(profile_),
    }


def class_table(
    store: Store,
    dataset: str,
    view: ViewFilter | None,
    options: AnalysisOptions,
    profile_: Profile | None = None,
    ann: ir.Table | None = None,
) -> pd.DataFrame:
    """Per class: agreement (specific, one-vs-rest alpha, Fleiss) beside HLP and model accuracy.

    ``profile_`` and ``ann``: the view's profile and annotations when already at hand.
    """
    from consistency.metrics.classes import per_class
    from consistency.metrics.hlp import hlp_per_class

    p = profile_ or dataset_profile(store, dataset, view)
    pc = per_class(p, "nominal")
    ann = _view_ann(store, dataset, view, ann)
    preds = store.predictions(dataset)
    has_preds = bool(preds.count().execute())
    model = options.model
    if has_preds and model is None:
        models = sorted(preds.select("model").distinct().execute()["model"].astype(str))
        model = models[0]
    hlp = hlp_per_class(
        ann,
        store.items(dataset),
        preds if has_preds else None,
        model=model,
    )
    hlp = hlp.rename(columns={"share": "label_share"})
    # an empty view gives empty tables whose class columns pandas types differently
    out = pc.astype({"class": object}).merge(hlp.astype({"class": object}), on="class", how="outer")
    for col in ("n", "items"):  # a gold-only class has no label in the view: 0, not NaN
        out[col] = out[col].fillna(0).astype(np.int64)
    return out


def labeler_table(
    store: Store,
    dataset: str,
    view: ViewFilter | None,
    options: AnalysisOptions,
    ann: ir.Table | None = None,
) -> pd.DataFrame:
    """One row per labeler (see :func:`consistency.metrics.labelers.labelers`)."""
    from consistency.metrics.labelers import labelers

    return labelers(
        _view_ann(store, dataset, view, ann),
        store.items(dataset),
        fast_threshold_s=options.fast_threshold_s,
    )


def kappa_pairs(
    store: Store,
    dataset: str,
    view: ViewFilter | None,
    options: AnalysisOptions,
    ann: ir.Table | None = None,
) -> pd.DataFrame:
    """Cohen's kappa for every pair of labelers sharing at least ``min_shared`` items."""
    from consistency.metrics.labelers import cohen_kappa_pairs

    return cohen_kappa_pairs(_view_ann(store, dataset, view, ann), min_shared=options.min_shared)


def consensus_table(
    store: Store, dataset: str, view: ViewFilter | None = None, method: str = "majority"
) -> pd.DataFrame:
    """item_id, label, confidence, tie: the consensus of each item.

    ``majority``: the majority vote, ties reported (``tie`` true, ``label`` the
    first tied label by name). ``dawid-skene``: the Dawid–Skene label and its
    posterior probability (``tie`` true when the majority vote is tied).
    """
    from consistency.metrics.consensus import dawid_skene, majority_vote

    ann = store.annotations(dataset, view)
    mv = majority_vote(ann)
    if method == "majority":
        out = mv[["item_id", "label", "confidence", "tie"]].copy()
        out["tied_labels"] = mv["tied_labels"].map(lambda t: "|".join(t))
        return out
    if method in ("dawid-skene", "dawid_skene", "ds"):
        ds = dawid_skene(ann, max_iter=DS_MAX_ITER)
        out = ds.labels[["item_id", "label", "confidence"]].merge(
            mv[["item_id", "tie"]], on="item_id", how="left"
        )
        return out
    raise InvalidArgument(f"unknown consensus method '{method}'. Methods: majority, dawid-skene")


def consensus_summary(
    store: Store,
    dataset: str,
    view: ViewFilter | None,
    ann: ir.Table | None = None,
    mv: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Majority vote (ties, gold accuracy) and Dawid–Skene (gold accuracy, iterations).

    ``mv``: the view's majority vote when already computed.
    """
    from consistency.metrics.consensus import dawid_skene, gold_accuracy, majority_vote

    ann = _view_ann(store, dataset, view, ann)
    items = store.items(dataset)
    mv = majority_vote(ann) if mv is None else mv
    ds = dawid_skene(ann, max_iter=DS_MAX_ITER)
    g_mv = gold_accuracy(mv, items)
    g_ds = gold_accuracy(ds.labels, items)
    return {
        "majority_vote": {
            "items": int(len(mv)),
            "ties": int(mv["tie"].sum()),
            "gold_accuracy": g_mv.accuracy,
            "gold_n": g_mv.n,
            "gold_ci_low": g_mv.ci_low,
            "gold_ci_high": g_mv.ci_high,
        },
        "dawid_skene": {
            "items": int(len(ds.labels)),
            "gold_accuracy": g_ds.accuracy,
            "gold_n": g_ds.n,
            "gold_ci_low": g_ds.ci_low,
            "gold_ci_high": g_ds.ci_high,
            "iterations": ds.iterations,
            "converged": ds.converged,
            "agrees_with_majority": float(
                (mv.set_index("item_id")["label"] == ds.labels.set_index("item_id")["label"]).mean()
            )
            if len(mv)
            else float("nan"),
        },
    }


def confusion_summary(profile_: Profile, top: int = 10) -> dict[str, Any]:
    """The coincidence matrix (counts and row-normalized) and the most confused pairs."""
    from consistency.metrics.classes import confused_pairs, confusion

    conf = confusion(profile_)
    pairs = confused_pairs(profile_, top=top) if len(profile_.labels) >= 2 else pd.DataFrame()
    return {
        "classes": list(conf.classes),
        "counts": np.asarray(conf.counts).tolist(),
        "row_normalized": np.asarray(conf.row_normalized).tolist(),
        "top_pairs": pairs.to_dict("records"),
    }


#: EM steps allowed to Dawid–Skene in the analysis (confusable classes converge slowly).
DS_MAX_ITER = 500

#: Metadata fields with more distinct values than this are not sliced automatically.
MAX_SLICE_VALUES = 50


def _slice_profiles(
    store: Store, dataset: str, ann: Any, fields: list[str]
) -> dict[str, dict[str | None, Profile]]:
    """field -> (value -> profile of the view's items with that value), in one engine pass.

    Each annotation is repeated once per field (a cross join with the field
    names) and joined with the item's value of that field; the slice key is
    ``<field number>=<value>`` (just ``<field number>`` for items without a
    value). :func:`consistency.metrics.slices.profiles_by` then builds every
    slice's profile from one set of grouped queries, whatever the number of
    fields. Each profile is the one a single-field pass would give (profiles
    are canonical: labels and patterns in the engine's order).
    """
    import ibis

    from consistency.metrics.slices import profiles_by

    m = store.table("item_metadata")
    m = m.filter((m.dataset == dataset) & m.field.isin(fields))
    # one value per item and field (the store keeps one; max() guards the join)
    m = m.group_by(["item_id", "field"]).agg(slice_value=m.value.max())
    m = m.select(meta_item=m.item_id, meta_field=m.field, slice_value=m.slice_value)
    names = ibis.memtable(pd.DataFrame({"field_no": range(len(fields)), "slice_field": fields}))
    t = ann.select("item_id", "labeler_id", "label", "label_value").cross_join(names)
    t = t.left_join(m, (t.item_id == m.meta_item) & (t.slice_field == m.meta_field))
    value = ibis.ifelse(t.slice_value.isnull(), "", "=" + t.slice_value)
    t = t.select(
        "item_id", "labeler_id", "label", "label_value", slice_key=t.field_no.cast("string") + value
    )
    out: dict[str, dict[str | None, Profile]] = {f: {} for f in fields}
    for key, p in profiles_by(t, "slice_key").items():
        number, has_value, text = str(key).partition("=")
        out[fields[int(number)]][text if has_value else None] = p
    return out


def slice_table(
    store: Store,
    dataset: str,
    view: ViewFilter | None,
    options: AnalysisOptions,
    fields: list[str] | None = None,
    ann: ir.Table | None = None,
) -> pd.DataFrame:
    """Alpha per value of each metadata field, with the alpha of the rest beside it.

    Columns: field, value, items, pairable_items, annotations, items_share,
    alpha, ci_low, ci_high, rest_alpha, rest_ci_low, rest_ci_high. Fields in
    the order given (default: every field with 2 to ``MAX_SLICE_VALUES``
    distinct values, by name), values by :func:`consistency.store.round_sort_key`
    (numbers by value, then names). "The rest" of a value is every other item
    of the view, items without a value for the field included. All slices of
    all fields come from one engine pass (:func:`_slice_profiles`); a profile
    met twice (the rest of a two-valued field is its other value) is
    bootstrapped once.
    """
    from consistency.engine import combine
    from consistency.metrics.alpha import AlphaEstimate, alpha_with_ci
    from consistency.store import round_sort_key

    meta = store.metadata_fields(dataset)
    if fields is None:
        fields = meta[meta["distinct_values"].between(2, MAX_SLICE_VALUES)]["field"].tolist()
    rows = []
    ann = _view_ann(store, dataset, view, ann) if fields else None
    by_field = _slice_profiles(store, dataset, ann, fields) if fields else {}
    estimates: dict[tuple[Any, ...], AlphaEstimate] = {}

    def estimate(p: Profile) -> AlphaEstimate:
        key = (p.labels, p.values.tobytes(), p.counts.shape, p.counts.tobytes(), p.weight.tobytes())
        if key not in estimates:
            estimates[key] = alpha_with_ci(p, options.level, options.n_boot, options.seed)  # type: ignore[arg-type]
        return estimates[key]

    for field_name in fields:
        profiles = by_field.get(field_name, {})
        total_items = sum(p.items for p in profiles.values())
        values = sorted((v for v in profiles if v is not None), key=round_sort_key)
        for value in values:
            p = profiles[value]
            est = estimate(p)
            rest_est = estimate(combine([q for v, q in profiles.items() if v != value]))
            rows.append(
                {
                    "field": field_name,
                    "value": value,
                    "items": p.items,
                    "pairable_items": p.pairable_items,
                    "annotations": p.annotations,
                    "items_share": p.items / total_items if total_items else float("nan"),
                    "alpha": est.value,
                    "ci_low": est.ci_low,
                    "ci_high": est.ci_high,
                    "rest_alpha": rest_est.value,
                    "rest_ci_low": rest_est.ci_low,
                    "rest_ci_high": rest_est.ci_high,
                }
            )
    cols = [
        "field",
        "value",
        "items",
        "pairable_items",
        "annotations",
        "items_share",
        "alpha",
        "ci_low",
        "ci_high",
        "rest_alpha",
        "rest_ci_low",
        "rest_ci_high",
    ]
    return pd.DataFrame(rows, columns=cols)


def round_table(
    store: Store, dataset: str, view: ViewFilter | None, options: AnalysisOptions
) -> pd.DataFrame:
    """Alpha per labeling round with its interval: round, items, annotations, alpha, ci_low, ci_high."""
    from consistency.metrics.slices import alpha_by_round

    view = view or ViewFilter()
    df = alpha_by_round(store, dataset, view, options.level, options.n_boot, options.seed)  # type: ignore[arg-type]
    return df.rename(columns={"value": "round"})


# ---- recommendations -----------------------------------------------------------
def recommend_context(
    store: Store,
    dataset: str,
    view: ViewFilter | None,
    options: AnalysisOptions,
    parts: dict[str, Any] | None = None,
) -> Any:
    """The :class:`consistency.recommend.Context` of a view (reuses ``parts`` already computed)."""
    from consistency.engine import disputed_items
    from consistency.metrics.alpha import alpha as alpha_of
    from consistency.metrics.alpha import alphas_without_labelers
    from consistency.metrics.classes import confused_pairs
    from consistency.recommend import Context

    parts = parts or {}
    view = view or ViewFilter()
    ann = _view_ann(store, dataset, view, parts.get("ann"))
    p = parts.get("profile") or profile(ann)
    require_annotations(p, dataset, view)
    classes = parts.get("classes")
    if classes is None:
        classes = class_table(store, dataset, view, options, p, ann)
    labelers_df = parts.get("labelers")
    if labelers_df is None:
        labelers_df = labeler_table(store, dataset, view, options, ann)
    slices = parts.get("slices")
    if slices is None:
        slices = slice_table(store, dataset, view, options, ann=ann)
    a = parts.get("alpha")
    if a is None:
        a = alpha_of(p, options.level)  # type: ignore[arg-type]

    left_out: dict[str, float] = {}

    def without(labeler: str) -> float:
        # one engine pass answers for every labeler (the rules ask for a few)
        if not left_out:
            source = parts.get("labeler_patterns", ann)
            left_out.update(alphas_without_labelers(source, options.level))  # type: ignore[arg-type]
        return left_out.get(str(labeler), float("nan"))

    def examples(
        classes: list[str] | None = None,
        slice: tuple[str, str] | None = None,
        labeler: str | None = None,
    ) -> list[str]:
        t = ann
        if slice is not None:
            meta = (*view.metadata, (slice[0], (slice[1],)))
            t = store.annotations(
                dataset, ViewFilter(view.rounds, view.labelers, meta, view.time_from, view.time_to)
            )
        if labeler is not None:
            mine = t.filter(t.labeler_id == labeler).select("item_id").distinct()
            t = t.semi_join(mine, "item_id")
        return disputed_items(t, 20, classes)["item_id"].astype(str).tolist()

    pair_table = confused_pairs(p, top=None) if len(p.labels) >= 2 else pd.DataFrame()
    hlp_cols = [
        "class",
        "hlp",
        "hlp_ci_low",
        "hlp_ci_high",
        "model_accuracy",
        "model_accuracy_ci_low",
        "model_accuracy_ci_high",
        "model_accuracy_agreed",
    ]
    hlp = classes[[c for c in hlp_cols if c in classes.columns]].copy()
    hlp["share"] = classes["label_share"] if "label_share" in classes else classes["share"]
    return Context(
        profile=p,
        level=options.level,
        alpha=a,
        per_class=classes,
        pairs=pair_table,
        labelers=labelers_df,
        slices=slices,
        hlp=hlp,
        alpha_without_labeler=without,
        example_items=examples,
    )


def recommendations_table(
    store: Store,
    dataset: str,
    view: ViewFilter | None = None,
    options: AnalysisOptions | None = None,
    parts: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """The ranked recommendations of a view (see :mod:`consistency.recommend`)."""
    from consistency.recommend import recommend

    options = options or AnalysisOptions()
    return recommend(recommend_context(store, dataset, view, options, parts))


# ---- everything ------------------------------------------------------------------
def analyze(
    store: Store,
    dataset: str,
    view: ViewFilter | None = None,
    options: AnalysisOptions | None = None,
    note_thresholds: Any = None,
) -> dict[str, Any]:
    """Every figure of a dataset view as one JSON-ready dict (the ``analyze --json`` schema).

    See docs/analyze-json.md for the schema. Figures that do not apply are None.
    Each figure carries ``notes`` on its fragility (see :mod:`consistency.notes`;
    ``note_thresholds``: a :class:`consistency.notes.NoteThresholds`, default ones if None).
    """
    options = options or AnalysisOptions()
    view = view or ViewFilter()
    check_view(store, dataset, view)
    with view_table(store, dataset, view) as ann:
        from consistency.metrics.consensus import profile_and_majority

        p, mv = profile_and_majority(ann)
        require_annotations(p, dataset, view)
        summary = dataset_summary(store, dataset, view, p)
        ov = overall(p, options)
        classes = class_table(store, dataset, view, options, p, ann)
        labelers_df = labeler_table(store, dataset, view, options, ann)
        slices = slice_table(store, dataset, view, options, ann=ann)
        rounds = round_table(
            store,
            dataset,
            ViewFilter(("*",), view.labelers, view.metadata, view.time_from, view.time_to),
            options,
        )
        per_labeler = labeler_patterns(ann)  # the notes and the recommendations read it
        recs = recommendations_table(
            store,
            dataset,
            view,
            options,
            parts={
                "profile": p,
                "ann": ann,
                "classes": classes,
                "labelers": labelers_df,
                "slices": slices,
                "alpha": ov["alpha"]["value"],
                "labeler_patterns": per_labeler,
            },
        )
        per_class_cols = [
            "class",
            "n",
            "items",
            "share",
            "label_share",
            "specific_agreement",
            "alpha_one_vs_rest",
            "fleiss_kappa",
            "disagreement_share",
            "main_partners",
            "hlp",
            "hlp_n",
            "hlp_ci_low",
            "hlp_ci_high",
            "hlp_gold",
            "hlp_gold_n",
            "model_accuracy",
            "model_accuracy_n",
            "model_accuracy_ci_low",
            "model_accuracy_ci_high",
            "model_accuracy_gold",
            "model_accuracy_gold_n",
            "model_accuracy_agreed",
            "model_accuracy_agreed_n",
            "model_accuracy_agreed_ci_low",
            "model_accuracy_agreed_ci_high",
            "gap",
            "gap_gold",
            "priority",
        ]
        result = {
            "dataset": {
                k: summary[k]
                for k in (
                    "dataset",
                    "items",
                    "labelers",
                    "annotations",
                    "pairable_items",
                    "unpairable_items",
                    "repeated_labels",
                    "classes",
                    "labels_per_item",
                    "rounds",
                    "gold_items",
                    "models",
                    "metadata_fields",
                )
            },
            "view": view.describe(),
            "options": options.to_dict(),
            **ov,
            "per_class": _records(classes[[c for c in per_class_cols if c in classes.columns]]),
            "labelers": _records(labelers_df),
            "kappa_pairs": _records(kappa_pairs(store, dataset, view, options, ann)),
            "consensus": consensus_summary(store, dataset, view, ann, mv),
            "confusion": confusion_summary(p),
            "slices": _records(slices),
            "rounds": _records(rounds),
            "recommendations": _records(recs),
        }
        from consistency.notes import add_notes

        result = add_notes(result, note_thresholds, per_labeler)
        result["round_change"] = None  # the latest round against the one before it
        if len(summary["rounds"]) >= 2:
            from consistency.compare import latest_round_change

            result["round_change"] = latest_round_change(store, dataset, view, options)
    return clean_json(result)


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return df.to_dict("records") if df is not None and len(df) else []


def clean_json(value: Any) -> Any:
    """Plain JSON values: NaN and infinities become None, numpy scalars Python ones."""
    if isinstance(value, dict):
        return {str(k): clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(v) for v in value]
    if isinstance(value, np.ndarray):
        return [clean_json(v) for v in value.tolist()]
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        f = float(value)
        return f if np.isfinite(f) else None
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def _fmt(x: Any, pct: bool = False) -> str:
    if x is None:
        return "n/a"
    return f"{x:.1%}" if pct else f"{x:.3f}"


def format_summary(result: dict[str, Any]) -> str:
    """A readable summary of :func:`analyze`'s result for the terminal."""
    d = result["dataset"]
    a = result["alpha"]
    lines = [
        f"dataset {d['dataset']} ({result['view']})",
        f"  {d['items']} items, {d['labelers']} labelers, {d['annotations']} annotations, "
        f"{d['pairable_items']} pairable items",
        f"  Krippendorff's alpha ({a['level']}): {_fmt(a['value'])} "
        f"[{_fmt(a['ci_low'])}, {_fmt(a['ci_high'])}] (95% bootstrap interval)",
        f"  Fleiss' kappa: {_fmt(result['fleiss_kappa'])}"
        + (f" ({result['fleiss_kappa_note']})" if result.get("fleiss_kappa_note") else ""),
        f"  percent agreement: {_fmt(result['percent_agreement'], True)}   "
        f"Gwet's AC1: {_fmt(result['gwet_ac1'])}",
        "",
        "  class            n  agreement  HLP     model   gap     priority",
    ]
    for c in result["per_class"]:
        lines.append(
            f"  {str(c['class'])[:14]:<14} {c.get('n') or 0:>5.0f}  "
            f"{_fmt(c.get('specific_agreement'), True):>8}  {_fmt(c.get('hlp'), True):>6}  "
            f"{_fmt(c.get('model_accuracy'), True):>6}  {_fmt(c.get('gap'), True):>6}  "
            f"{_fmt(c.get('priority'))}"
        )
    lines += ["", "  labeler        n  agreement  gold    fast"]
    for r in result["labelers"]:
        lines.append(
            f"  {str(r['labeler_id'])[:12]:<12} {r['n']:>5}  {_fmt(r.get('agreement'), True):>8}  "
            f"{_fmt(r.get('gold_accuracy'), True):>6}  {_fmt(r.get('fast_share'), True):>6}"
        )
    recs = result["recommendations"]
    if recs:
        lines += ["", "  what to do next:"]
        for r in recs[:5]:
            lines.append(f"  {r['rank']}. {r['action']}: {r['target']} (score {r['score']:.4f})")
            lines.append(f"     {r['evidence']}")
    return "\n".join(lines)
