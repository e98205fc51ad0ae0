"""The ``analyze --json`` schema: keys, types, the docs, and figures checked independently.

The schema below is the contract of :func:`consistency.analysis.analyze`. It
is checked three ways: every object of the result has exactly the keys of its
section and values of the listed types; docs/analyze-json.md lists the same
keys with the same types; and cheap figures match independent computations
(the ``krippendorff`` package, pandas counts, the per-field slice functions).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import krippendorff
import numpy as np
import pandas as pd
import pytest

from consistency.analysis import (
    AnalysisOptions,
    analyze,
    check_view,
    dataset_profile,
    require_annotations,
    slice_table,
    view_table,
)
from consistency.errors import DatasetNotFound, InvalidArgument, NotComputable
from consistency.io import Source, read_source
from consistency.metrics.alpha import alpha_with_ci
from consistency.metrics.slices import alpha_by_metadata
from consistency.sample import SAMPLE_ANNOTATIONS, import_sample, sample_dir
from consistency.store import Store, ViewFilter

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "analyze-json.md"
N_BOOT = 200
OPTIONS = AnalysisOptions(n_boot=N_BOOT, seed=3)

FIGURE_NOTE = {"code": "str", "severity": "str", "message": "str"}

#: path -> {key: type}. ``x[]`` is a list of objects; "" is the top level.
SCHEMA: dict[str, dict[str, str]] = {
    "": {
        "dataset": "object",
        "view": "str",
        "options": "object",
        "alpha": "object",
        "fleiss_kappa": "float or null",
        "fleiss_kappa_note": "str or null",
        "percent_agreement": "float or null",
        "gwet_ac1": "float or null",
        "per_class": "[object]",
        "labelers": "[object]",
        "kappa_pairs": "[object]",
        "consensus": "object",
        "confusion": "object",
        "slices": "[object]",
        "rounds": "[object]",
        "recommendations": "[object]",
        "notes": "[object]",
        "round_change": "object or null",
    },
    "dataset": {
        "dataset": "str",
        "items": "int",
        "labelers": "int",
        "annotations": "int",
        "pairable_items": "int",
        "unpairable_items": "int",
        "repeated_labels": "int",
        "classes": "[str]",
        "labels_per_item": "{str: int}",
        "rounds": "[str]",
        "gold_items": "int",
        "models": "[str]",
        "metadata_fields": "[str]",
    },
    "options": {
        "level": "str",
        "n_boot": "int",
        "seed": "int",
        "min_shared": "int",
        "fast_threshold_s": "float",
        "model": "str or null",
    },
    "alpha": {
        "level": "str",
        "value": "float or null",
        "ci_low": "float or null",
        "ci_high": "float or null",
        "confidence": "float",
        "draws": "int",
        "notes": "[object]",
    },
    "alpha.notes[]": FIGURE_NOTE,
    "per_class[]": {
        "class": "str",
        "n": "int",
        "items": "int",
        "share": "float or null",
        "label_share": "float or null",
        "specific_agreement": "float or null",
        "alpha_one_vs_rest": "float or null",
        "fleiss_kappa": "float or null",
        "disagreement_share": "float or null",
        "main_partners": "[[str, float]]",
        "hlp": "float or null",
        "hlp_n": "int",
        "hlp_ci_low": "float or null",
        "hlp_ci_high": "float or null",
        "hlp_gold": "float or null",
        "hlp_gold_n": "int",
        "model_accuracy": "float or null",
        "model_accuracy_n": "int",
        "model_accuracy_ci_low": "float or null",
        "model_accuracy_ci_high": "float or null",
        "model_accuracy_gold": "float or null",
        "model_accuracy_gold_n": "int",
        "model_accuracy_agreed": "float or null",
        "model_accuracy_agreed_n": "int",
        "model_accuracy_agreed_ci_low": "float or null",
        "model_accuracy_agreed_ci_high": "float or null",
        "gap": "float or null",
        "gap_gold": "float or null",
        "priority": "float or null",
        "notes": "[object]",
    },
    "labelers[]": {
        "labeler_id": "str",
        "n": "int",
        "items": "int",
        "agreement": "float or null",
        "agreement_n": "int",
        "gold_n": "int",
        "gold_accuracy": "float or null",
        "gold_ci_low": "float or null",
        "gold_ci_high": "float or null",
        "kappa_vs_consensus": "float or null",
        "consensus_n": "int",
        "median_duration_s": "float or null",
        "fast_share": "float or null",
        "repeats": "int",
        "notes": "[object]",
    },
    "kappa_pairs[]": {
        "labeler_a": "str",
        "labeler_b": "str",
        "shared_items": "int",
        "kappa": "float or null",
        "se": "float or null",
        "percent_agreement": "float or null",
    },
    "consensus": {"majority_vote": "object", "dawid_skene": "object"},
    "consensus.majority_vote": {
        "items": "int",
        "ties": "int",
        "gold_accuracy": "float or null",
        "gold_n": "int",
        "gold_ci_low": "float or null",
        "gold_ci_high": "float or null",
    },
    "consensus.dawid_skene": {
        "items": "int",
        "gold_accuracy": "float or null",
        "gold_n": "int",
        "gold_ci_low": "float or null",
        "gold_ci_high": "float or null",
        "iterations": "int",
        "converged": "bool",
        "agrees_with_majority": "float or null",
    },
    "confusion": {
        "classes": "[str]",
        "counts": "[[float]]",
        "row_normalized": "[[float or null]]",
        "top_pairs": "[object]",
    },
    "confusion.top_pairs[]": {
        "class_a": "str",
        "class_b": "str",
        "coincidences": "float",
        "rate_a_to_b": "float",
        "rate_b_to_a": "float",
        "alpha_after_merge": "float or null",
        "alpha_gain": "float or null",
    },
    "slices[]": {
        "field": "str",
        "value": "str",
        "items": "int",
        "pairable_items": "int",
        "annotations": "int",
        "items_share": "float or null",
        "alpha": "float or null",
        "ci_low": "float or null",
        "ci_high": "float or null",
        "rest_alpha": "float or null",
        "rest_ci_low": "float or null",
        "rest_ci_high": "float or null",
        "notes": "[object]",
    },
    "rounds[]": {
        "round": "str",
        "items": "int",
        "pairable_items": "int",
        "annotations": "int",
        "alpha": "float or null",
        "ci_low": "float or null",
        "ci_high": "float or null",
        "notes": "[object]",
    },
    "recommendations[]": {
        "rank": "int",
        "action": "str",
        "target": "str",
        "classes": "[str]",
        "slice": "str or null",
        "labeler_id": "str or null",
        "alpha_before": "float or null",
        "alpha_after": "float or null",
        "share": "float",
        "score": "float",
        "evidence": "str",
        "example_items": "[str]",
    },
    "notes[]": {**FIGURE_NOTE, "where": "str"},
    "round_change": {
        "from": "str",
        "to": "str",
        "items_common": "int",
        "items_from": "int",
        "items_to": "int",
        "level": "str",
        "confidence": "float",
        "draws": "int",
        "alpha_from": "float or null",
        "alpha_to": "float or null",
        "alpha_delta": "float or null",
        "ci_low": "float or null",
        "ci_high": "float or null",
        "verdict": "str",
        "percent_agreement": "object",
        "per_class": "[object]",
        "flips": "[object]",
        "flip_counts": "[object]",
    },
    "round_change.percent_agreement": {
        "from": "float or null",
        "to": "float or null",
        "delta": "float or null",
        "ci_low": "float or null",
        "ci_high": "float or null",
        "verdict": "str",
    },
    "round_change.per_class[]": {
        "class": "str",
        "n_from": "int",
        "n_to": "int",
        "from": "float or null",
        "to": "float or null",
        "delta": "float or null",
        "ci_low": "float or null",
        "ci_high": "float or null",
        "verdict": "str",
    },
    "round_change.flips[]": {"item_id": "str", "from_label": "str", "to_label": "str"},
    "round_change.flip_counts[]": {"from_label": "str", "to_label": "str", "items": "int"},
}

#: Rows that carry their figure's notes, checked with the ``alpha.notes[]`` section.
NOTED_ROWS = ("alpha", "per_class[]", "labelers[]", "slices[]", "rounds[]")


# ---- a tiny type language: the one the doc uses ----------------------------------------
def _split_top(text: str) -> list[str]:
    """Split on the commas that are not inside brackets or braces."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += ch in "[{"
        depth -= ch in "]}"
        if ch == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return parts


def conforms(value: Any, spec: str) -> bool:
    """Whether a JSON value has the type ``spec`` (``int``, ``[str]``, ``float or null``...)."""
    spec = spec.strip()
    if spec.endswith(" or null"):
        return value is None or conforms(value, spec.removesuffix(" or null"))
    if spec.startswith("[") and spec.endswith("]"):
        parts = _split_top(spec[1:-1])
        if not isinstance(value, list):
            return False
        if len(parts) > 1:  # a fixed-length list such as [str, float]
            return len(value) == len(parts) and all(map(conforms, value, parts))
        return all(conforms(v, parts[0]) for v in value)
    if spec.startswith("{") and spec.endswith("}"):
        key_spec, value_spec = (s.strip() for s in spec[1:-1].split(":", 1))
        return isinstance(value, dict) and all(
            conforms(k, key_spec) and conforms(v, value_spec) for k, v in value.items()
        )
    if spec == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if spec == "float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    kinds = {"str": str, "bool": bool, "object": dict}
    if spec not in kinds:
        raise ValueError(f"unknown type {spec!r}")
    return isinstance(value, kinds[spec])


@pytest.mark.parametrize(
    ("value", "spec", "ok"),
    [
        (1, "int", True),
        (1.0, "int", False),
        (True, "int", False),
        (1, "float", True),
        (None, "float", False),
        (None, "float or null", True),
        (["a", 0.5], "[str, float]", True),
        (["a", "b"], "[str, float]", False),
        ([["a", 0.5]], "[[str, float]]", True),
        ([[0.5, None]], "[[float or null]]", True),
        ([[0.5, None]], "[[float]]", False),
        ({"3": 4}, "{str: int}", True),
        ({"3": 4.5}, "{str: int}", False),
        ([{}], "[object]", True),
    ],
)
def test_the_type_language(value: Any, spec: str, ok: bool) -> None:
    assert conforms(value, spec) is ok


def objects_at(result: dict[str, Any], path: str) -> list[dict[str, Any]]:
    """Every object found at ``path`` (``a.b[]`` walks into each row of list ``b``)."""
    found: list[Any] = [result]
    for part in path.split(".") if path else []:
        name, rows = part.removesuffix("[]"), part.endswith("[]")
        found = [x[name] for x in found if x.get(name) is not None]
        if rows:
            found = [row for rows_ in found for row in rows_]
    return found


def doc_sections() -> dict[str, dict[str, str]]:
    """The doc's tables: section path -> {key: type}."""
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            title = line[3:].strip()
            path = "" if title == "Top level" else title.strip("`")
            current = sections.setdefault(path, {})
        elif current is not None and (m := re.match(r"^\| `([^`]+)` \| ([^|]+?) \|", line)):
            current[m.group(1)] = m.group(2).strip()
    return sections


def check_schema(result: dict[str, Any]) -> None:
    """Every object of the result has exactly its section's keys, with values of its types."""
    for path, keys in SCHEMA.items():
        for obj in objects_at(result, path):
            assert set(obj) == set(keys), (path, set(obj) ^ set(keys))
            for key, spec in keys.items():
                assert conforms(obj[key], spec), (path, key, spec, obj[key])
    for path in NOTED_ROWS:
        for obj in objects_at(result, path):
            for note in obj["notes"]:
                assert set(note) == set(FIGURE_NOTE), (path, note)
                assert all(isinstance(note[k], str) for k in FIGURE_NOTE)


# ---- fixtures --------------------------------------------------------------------------
@pytest.fixture(scope="session")
def sample_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """The sample dataset in a store opened read-only (as the dashboard opens it)."""
    path = tmp_path_factory.mktemp("analysis") / "sample.duckdb"
    writer = Store(path)
    import_sample(writer)
    writer.close()
    return Store(path, read_only=True)


@pytest.fixture(scope="session")
def result(sample_store: Store) -> dict[str, Any]:
    return analyze(sample_store, "inspection", options=OPTIONS)


@pytest.fixture(scope="session")
def latest() -> pd.DataFrame:
    """The sample's labels, each item on its latest round, computed with pandas only."""
    raw = pd.read_csv(sample_dir() / SAMPLE_ANNOTATIONS, dtype=str)
    last = raw.groupby("item_id")["round"].transform(lambda r: r.astype(int).max()).astype(str)
    return raw[raw["round"] == last]


def small_store(tmp_path: Path, text: str, name: str = "votes.csv") -> Store:
    store = Store(tmp_path / "small.duckdb")
    data = text.encode()
    store.import_result(read_source(Source(name, data)), file_name=name, data=data)
    return store


# ---- the schema ------------------------------------------------------------------------
def test_result_has_the_schema(result: dict[str, Any]) -> None:
    check_schema(result)


def test_result_is_strict_json(result: dict[str, Any]) -> None:
    text = json.dumps(result, allow_nan=False)
    assert json.loads(text) == result  # plain values only: nothing changes on the way


def test_every_key_is_documented_with_its_type() -> None:
    documented = doc_sections()
    assert documented == SCHEMA


def test_every_top_level_and_per_class_key_is_documented(result: dict[str, Any]) -> None:
    documented = doc_sections()
    assert set(result) <= set(documented[""])
    for row in result["per_class"]:
        assert set(row) <= set(documented["per_class[]"])


def test_the_issue_keys_are_there(result: dict[str, Any]) -> None:
    required = {
        "dataset": {"items", "labelers", "annotations", "pairable_items", "classes"},
        "alpha": {"level", "value", "ci_low", "ci_high"},
        "per_class[]": {
            "class",
            "n",
            "share",
            "specific_agreement",
            "alpha_one_vs_rest",
            "hlp",
            "hlp_gold",
            "model_accuracy",
            "model_accuracy_gold",
            "gap",
            "priority",
        },
        "labelers[]": {
            "labeler_id",
            "n",
            "agreement",
            "gold_accuracy",
            "kappa_vs_consensus",
            "median_duration_s",
            "fast_share",
        },
        "consensus.majority_vote": {"ties", "gold_accuracy"},
        "consensus.dawid_skene": {"gold_accuracy", "iterations"},
        "confusion": {"classes", "counts"},
    }
    assert {"fleiss_kappa", "percent_agreement", "gwet_ac1", "recommendations"} <= set(result)
    for path, keys in required.items():
        rows = objects_at(result, path)
        assert rows, path
        assert all(keys <= set(row) for row in rows), path
    # Fleiss' kappa is undefined on the sample (3 to 5 labels per item), and says why
    assert result["fleiss_kappa"] is None
    assert result["fleiss_kappa_note"].startswith("Fleiss' kappa needs the same number of labels")
    assert result["recommendations"], "the sample has planted problems to recommend on"


def test_a_bare_dataset_fills_nulls_and_keeps_every_key(tmp_path: Path) -> None:
    # one class, no gold, no predictions, no metadata, one round
    store = small_store(
        tmp_path, "item,worker,label\na,x,cat\na,y,cat\nb,x,cat\nb,y,cat\nc,x,cat\n"
    )
    out = analyze(store, "votes", options=OPTIONS)
    check_schema(out)
    json.dumps(out, allow_nan=False)
    assert out["alpha"]["value"] is None and out["alpha"]["ci_low"] is None
    assert out["percent_agreement"] == 1.0
    assert out["gwet_ac1"] is None
    assert out["round_change"] is None
    assert out["slices"] == [] and out["dataset"]["models"] == []
    (row,) = out["per_class"]
    assert row["model_accuracy"] is None and row["hlp_gold"] is None and row["hlp"] == 1.0
    assert out["consensus"]["majority_vote"]["gold_accuracy"] is None
    assert out["dataset"]["labels_per_item"] == {"1": 1, "2": 2}


# ---- figures against independent computations ---------------------------------------------
def test_dataset_counts_match_pandas(result: dict[str, Any], latest: pd.DataFrame) -> None:
    d = result["dataset"]
    per_item = latest.groupby("item_id").size()
    assert d["items"] == latest["item_id"].nunique()
    assert d["labelers"] == latest["labeler_id"].nunique()
    assert d["annotations"] == len(latest)
    assert d["pairable_items"] == int((per_item >= 2).sum())
    assert d["labels_per_item"] == {str(k): int(v) for k, v in per_item.value_counts().items()}
    assert d["classes"] == sorted(latest["label"].unique())
    assert d["rounds"] == ["1", "2"]
    assert sum(r["n"] for r in result["labelers"]) == len(latest)


def test_alpha_matches_the_krippendorff_package(
    result: dict[str, Any], latest: pd.DataFrame
) -> None:
    classes = sorted(latest["label"].unique())
    wide = latest.assign(code=latest["label"].map(classes.index)).pivot(
        index="labeler_id", columns="item_id", values="code"
    )
    expected = krippendorff.alpha(
        reliability_data=wide.to_numpy(dtype=float), level_of_measurement="nominal"
    )
    a = result["alpha"]
    assert a["value"] == pytest.approx(expected, abs=1e-12)
    assert a["ci_low"] < a["value"] < a["ci_high"]
    assert a["draws"] == N_BOOT and a["confidence"] == 0.95


def test_percent_agreement_and_ties_match_pandas(
    result: dict[str, Any], latest: pd.DataFrame
) -> None:
    counts = latest.groupby(["item_id", "label"]).size().rename("n").reset_index()
    per_item = counts.groupby("item_id")["n"]
    m = per_item.sum()
    agreeing = counts.assign(pairs=counts["n"] * (counts["n"] - 1)).groupby("item_id")["pairs"]
    share = (agreeing.sum() / (m * (m - 1)))[m >= 2]
    assert result["percent_agreement"] == pytest.approx(share.mean(), abs=1e-12)
    top = per_item.transform("max")
    ties = (counts[counts["n"] == top].groupby("item_id").size() >= 2).sum()
    mv = result["consensus"]["majority_vote"]
    assert mv["ties"] == int(ties) > 0
    assert mv["items"] == result["dataset"]["items"]


def test_confusion_is_consistent_with_the_class_table(result: dict[str, Any]) -> None:
    conf = result["confusion"]
    counts = np.array(conf["counts"])
    assert conf["classes"] == result["dataset"]["classes"]
    np.testing.assert_allclose(counts, counts.T)
    n_c = {row["class"]: row["n"] for row in result["per_class"]}
    np.testing.assert_allclose(counts.sum(axis=1), [n_c[c] for c in conf["classes"]])
    top = conf["top_pairs"][0]
    assert top["coincidences"] == max(p["coincidences"] for p in conf["top_pairs"])


def test_slices_match_the_per_field_figures(sample_store: Store, result: dict[str, Any]) -> None:
    rows = pd.DataFrame(result["slices"])
    assert list(rows["field"].unique()) == ["camera", "factory", "line", "shift"]
    for field_name, group in rows.groupby("field", sort=False):
        per_field = alpha_by_metadata(
            sample_store, "inspection", field_name, n_boot=N_BOOT, seed=OPTIONS.seed
        )
        assert group["value"].tolist() == per_field["value"].tolist()  # values in order
        for col in ("items", "pairable_items", "annotations", "alpha", "ci_low", "ci_high"):
            assert group[col].tolist() == pytest.approx(per_field[col].tolist(), abs=1e-12), col
    # the rest of a slice: every other value of the field, bootstrapped the same way
    cam_c = rows[(rows["field"] == "camera") & (rows["value"] == "cam_C")].iloc[0]
    others = ViewFilter(metadata=(("camera", ("cam_A", "cam_B", "cam_D")),))
    rest = alpha_with_ci(dataset_profile(sample_store, "inspection", others), n_boot=N_BOOT, seed=3)
    assert (cam_c["rest_alpha"], cam_c["rest_ci_low"], cam_c["rest_ci_high"]) == pytest.approx(
        (rest.value, rest.ci_low, rest.ci_high), abs=1e-12
    )
    # a two-valued field: the rest of one value is the other value
    f1, f2 = (rows[rows["field"] == "factory"].set_index("value").loc[v] for v in ("F1", "F2"))
    assert (f1["rest_alpha"], f1["rest_ci_low"]) == (f2["alpha"], f2["ci_low"])
    assert cam_c["alpha"] < cam_c["rest_alpha"]  # the planted bad camera


def test_slice_table_of_explicit_fields_in_a_view(sample_store: Store) -> None:
    view = ViewFilter(metadata=(("camera", ("cam_C",)),))
    table = slice_table(sample_store, "inspection", view, OPTIONS, fields=["camera", "shift"])
    assert table["field"].tolist() == ["camera", "shift", "shift"]
    assert table["value"].tolist() == ["cam_C", "day", "night"]
    camera = table.iloc[0]
    assert camera["items_share"] == 1.0 and np.isnan(camera["rest_alpha"])
    assert table["items"].iloc[1:].sum() == camera["items"]


def test_rounds_cover_every_round(result: dict[str, Any]) -> None:
    assert [r["round"] for r in result["rounds"]] == ["1", "2"]
    assert result["round_change"]["from"] == "1" and result["round_change"]["to"] == "2"


def test_a_view_narrows_every_figure(sample_store: Store) -> None:
    view = ViewFilter(rounds=("1",), labelers=("insp_01", "insp_07"))
    out = analyze(sample_store, "inspection", view, OPTIONS)
    check_schema(out)
    assert out["view"] == "round 1, labelers insp_01, insp_07"
    assert [r["labeler_id"] for r in out["labelers"]] == ["insp_01", "insp_07"]
    assert [r["round"] for r in out["rounds"]] == ["1", "2"]
    assert out["dataset"]["labelers"] == 2
    assert out["dataset"]["annotations"] == sum(r["n"] for r in out["labelers"])


# ---- views that cannot be analyzed ----------------------------------------------------------
@pytest.mark.parametrize(
    ("view", "message"),
    [
        (
            ViewFilter(labelers=("zz",)),
            "labeler 'zz' not found in dataset 'votes'. Labelers: x, y, z",
        ),
        (ViewFilter(rounds=("7",)), "round '7' not found in dataset 'votes'. Rounds: 1"),
        (
            ViewFilter(metadata=(("lens", ("a",)),)),
            "metadata field 'lens' not found in dataset 'votes'. Fields: cam",
        ),
        (
            ViewFilter(metadata=(("cam", ("c9",)),)),
            "value 'c9' of metadata field 'cam' not found in dataset 'votes'. Values: c1, c2",
        ),
    ],
)
def test_unknown_names_in_a_view(tmp_path: Path, view: ViewFilter, message: str) -> None:
    store = small_store(tmp_path, "item,worker,label,cam\na,x,p,c1\na,y,q,c1\nb,z,p,c2\n")
    with pytest.raises(InvalidArgument) as info:
        analyze(store, "votes", view, OPTIONS)
    assert str(info.value) == message
    with pytest.raises(InvalidArgument):
        check_view(store, "votes", view)


def test_an_empty_view_says_so(tmp_path: Path) -> None:
    store = small_store(tmp_path, "item,worker,label,cam\na,x,p,c1\na,y,q,c1\nb,z,p,c2\n")
    view = ViewFilter(labelers=("z",), metadata=(("cam", ("c1",)),))
    message = (
        "no annotations in this view of dataset 'votes' "
        "(each item's latest round, cam = c1, labelers z); loosen the filters"
    )
    with pytest.raises(NotComputable) as info:
        analyze(store, "votes", view, OPTIONS)
    assert str(info.value) == message
    with pytest.raises(NotComputable):
        require_annotations(dataset_profile(store, "votes", view), "votes", view)


def test_an_unknown_dataset(sample_store: Store) -> None:
    with pytest.raises(DatasetNotFound, match=r"^dataset 'nope' not found in the store\. "):
        analyze(sample_store, "nope", options=OPTIONS)


# ---- the temporary table of a view ----------------------------------------------------------
def _temp_tables(store: Store) -> list[str]:
    backend = store.backend()
    rows = backend.raw_sql("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()
    return [r[0] for r in rows]


def test_view_table_holds_the_view_and_is_dropped(sample_store: Store) -> None:
    view = ViewFilter(metadata=(("camera", ("cam_C",)),))
    before = _temp_tables(sample_store)
    with view_table(sample_store, "inspection", view) as ann:
        assert len(_temp_tables(sample_store)) == len(before) + 1
        assert (
            ann.count().execute() == sample_store.annotations("inspection", view).count().execute()
        )
    assert _temp_tables(sample_store) == before
    with pytest.raises(RuntimeError), view_table(sample_store, "inspection", view):
        raise RuntimeError("dropped even when the analysis fails")
    assert _temp_tables(sample_store) == before
