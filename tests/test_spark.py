"""The same figures on DuckDB and on Spark, and the store API over a plain long table.

The Spark tests start one local session (``local[2]``) for the module and
compare, to 1e-9, what DuckDB and Spark compute: the whole ``analyze --json``
of the sample data (the store on one side, ``--engine spark`` on the exported
Parquet file on the other), and the main figures of a generated dataset with
two rounds, metadata, gold and durations. They share one xdist group, so one
worker starts one JVM.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from consistency import cli
from consistency.analysis import AnalysisOptions, analyze
from consistency.engine import disputed_by_class, disputed_by_pair, disputed_items, profile
from consistency.errors import DatasetNotFound, InvalidArgument
from consistency.metrics.alpha import alpha_with_ci, alphas_without_labelers, coincidence
from consistency.metrics.classes import per_class
from consistency.metrics.consensus import dawid_skene, majority_vote
from consistency.metrics.labelers import cohen_kappa_pairs, labelers
from consistency.metrics.slices import alpha_by_round
from consistency.sample import import_sample
from consistency.spark import (
    TableStore,
    check_engine,
    connect,
    open_annotations,
    read_table,
    spark_session,
)
from consistency.store import Store, ViewFilter

TOL = 1e-9

pytestmark = pytest.mark.filterwarnings(
    "ignore:The copy keyword is deprecated"  # pyspark's own pandas conversion
)
CLASSES = ("ok", "scratch", "dent", "stain", "crack")


# ---- helpers --------------------------------------------------------------------------
def same(a: Any, b: Any, path: str = "$") -> list[str]:
    """Differences between two JSON-like values; floats may differ by TOL (relative to 1)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{path}: keys {sorted(set(a) ^ set(b))}"] if set(a) != set(b) else []
        for k in a.keys() & b.keys():
            out += same(a[k], b[k], f"{path}.{k}")
        return out
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        if len(a) != len(b):
            return [f"{path}: {len(a)} vs {len(b)} elements"]
        return [
            d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in same(x, y, f"{path}[{i}]")
        ]
    if (
        isinstance(a, float)
        and isinstance(b, float | int)
        or isinstance(b, float)
        and isinstance(a, int)
    ):
        if math.isnan(a) and math.isnan(b):
            return []
        return [] if abs(a - b) <= TOL * max(1.0, abs(a)) else [f"{path}: {a!r} vs {b!r}"]
    return [] if a == b else [f"{path}: {a!r} vs {b!r}"]


def frame_records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame as plain records (NaN kept, numpy scalars as Python ones), rows in order."""
    out = []
    for rec in df.to_dict("records"):
        clean = {}
        for k, v in rec.items():
            if isinstance(v, np.ndarray | list | tuple):
                v = [x.item() if hasattr(x, "item") else x for x in v]
            elif v is None or v is pd.NA:
                v = None
            elif hasattr(v, "item"):
                v = v.item()
            clean[k] = float("nan") if isinstance(v, float) and math.isnan(v) else v
        out.append(clean)
    return out


def generated(seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A small long table with two rounds, item metadata, gold and durations, and predictions."""
    rng = np.random.default_rng(seed)
    rows = []
    truth = rng.integers(0, len(CLASSES), 240)
    skill = rng.uniform(0.4, 0.95, 9)
    for item in range(240):
        site = "ABC"[item % 3]
        gold = CLASSES[truth[item]] if item % 11 == 0 else None
        rounds = ["1", "2"] if item % 5 == 0 else ["1"]
        for rnd in rounds:
            for lab in rng.choice(9, size=int(rng.integers(2, 6)), replace=False):
                right = rng.random() < skill[lab]
                label = CLASSES[truth[item]] if right else CLASSES[rng.integers(0, len(CLASSES))]
                rows.append(
                    {
                        "task": f"t{item:04d}",
                        "worker": f"w{lab}",
                        "answer": label,
                        "round": int(rnd),
                        "site": site,
                        "golden": gold,
                        "lead_time": float(np.round(rng.lognormal(1.5, 0.6), 2)),
                        "note": f"n{rng.integers(0, 3)}",  # varies within an item: not metadata
                    }
                )
    preds = pd.DataFrame(
        {
            "item_id": [f"t{i:04d}" for i in range(240)],
            "predicted_label": [CLASSES[(t + (i % 4 == 0)) % 5] for i, t in enumerate(truth)],
            "confidence": np.round(rng.uniform(0.3, 1.0, 240), 3),
        }
    )
    return pd.DataFrame(rows), preds


def main_figures(store: TableStore, view: ViewFilter) -> dict[str, Any]:
    """The figures of the issue, computed with the public functions on one store."""
    ann = store.annotations(store.dataset, view)
    p = profile(ann)
    order = np.lexsort(p.counts.T[::-1])
    est = alpha_with_ci(p, "nominal", n_boot=300, seed=3)
    ds = dawid_skene(ann, max_iter=200)
    return {
        "labels": list(p.labels),
        "patterns": p.counts[order].tolist(),
        "weights": p.weight[order].tolist(),
        "totals": [p.annotations, p.repeats, p.labelers],
        "alpha": [est.value, est.ci_low, est.ci_high],
        "coincidence": coincidence(p).tolist(),
        "per_class": frame_records(per_class(p)),
        "majority": frame_records(majority_vote(ann)),
        "dawid_skene": frame_records(ds.labels) + [ds.iterations, ds.log_likelihood],
        "labelers": frame_records(labelers(ann, store.items(store.dataset))),
        "kappa_pairs": frame_records(cohen_kappa_pairs(ann, min_shared=5)),
        "disputed": frame_records(disputed_items(ann, limit=15)),
        "disputed_by_class": frame_records(disputed_by_class(ann, limit=5)),
        "disputed_by_pair": frame_records(disputed_by_pair(ann, limit=3)),
        "without_each_labeler": alphas_without_labelers(ann),
        "rounds": frame_records(alpha_by_round(store, store.dataset, view, n_boot=100)),
    }


# ---- Spark ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Any:
    import pyspark  # noqa: F401  (in the test extra: the Spark test runs in CI)

    warehouse = tmp_path_factory.mktemp("spark-warehouse")
    session = spark_session(
        "local[2]",
        {
            # small data: one shuffle partition and no adaptive re-planning answer fastest
            "spark.sql.shuffle.partitions": "1",
            "spark.sql.adaptive.enabled": "false",
            "spark.sql.warehouse.dir": str(warehouse),
        },
    )
    yield session
    session.stop()


@pytest.mark.slow
@pytest.mark.xdist_group("spark")
def test_sample_analysis_is_the_same_json_on_spark(
    spark: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "store.duckdb"
    store = Store(db)
    import_sample(store)
    parquet = tmp_path / "inspection.parquet"
    preds = tmp_path / "predictions.parquet"
    store.export("inspection", parquet)
    store.predictions("inspection").execute().to_parquet(preds)
    store.close()

    assert cli.main(["analyze", "inspection", "--db", str(db), "--json", "--bootstrap", "200"]) == 0
    on_duckdb = capsys.readouterr().out
    code = cli.main(
        [
            "analyze",
            "--engine",
            "spark",
            str(parquet),
            "--predictions",
            str(preds),
            "--json",
            "--bootstrap",
            "200",
        ]
    )
    on_spark = capsys.readouterr().out
    assert code == 0
    a, b = json.loads(on_duckdb), json.loads(on_spark)
    assert a["dataset"]["annotations"] > 5000 and a["per_class"] and a["recommendations"]
    assert same(a, b) == []


@pytest.mark.slow
@pytest.mark.xdist_group("spark")
def test_generated_figures_are_the_same_on_duckdb_and_spark(spark: Any, tmp_path: Path) -> None:
    ann, preds = generated()
    ann.to_parquet(tmp_path / "gen.parquet")
    preds.to_parquet(tmp_path / "preds.parquet")
    stores = [
        open_annotations(
            str(tmp_path / "gen.parquet"),
            engine,
            session=spark if engine == "spark" else None,
            predictions=str(tmp_path / "preds.parquet"),
        )
        for engine in ("duckdb", "spark")
    ]
    assert [s.backend().name for s in stores] == ["duckdb", "pyspark"]
    # the default view: each item's latest round (items relabeled in round 2)
    duck, spk = (main_figures(s, ViewFilter()) for s in stores)
    assert duck["totals"][0] > 500 and len(duck["labels"]) == 5
    assert same(duck, spk) == []


# ---- the store API over a long table (DuckDB, fast) ----------------------------------------
@pytest.fixture(scope="module")
def gen_store(tmp_path_factory: pytest.TempPathFactory) -> TableStore:
    folder = tmp_path_factory.mktemp("gen")
    ann, preds = generated()
    ann.to_parquet(folder / "votes_2025.parquet")
    preds.to_csv(folder / "preds.csv", index=False)
    return open_annotations(
        str(folder / "votes_2025.parquet"), "duckdb", predictions=str(folder / "preds.csv")
    )


def test_table_store_maps_aliases_and_defaults(gen_store: TableStore) -> None:
    assert gen_store.dataset == "votes-2025"
    assert gen_store.dataset_ids() == ["votes-2025"]
    assert gen_store.rounds("votes-2025") == ["1", "2"]
    fields = gen_store.metadata_fields("votes-2025")
    assert fields["field"].tolist() == ["site"]  # "note" varies within an item
    assert fields["distinct_values"].tolist() == [3]
    assert gen_store.metadata_values("votes-2025", "site") == ["A", "B", "C"]
    items = gen_store.items().execute()
    assert len(items) == 240 and int(items["gold_label"].notna().sum()) == 22
    assert bool(items.loc[items["gold_label"].notna(), "is_control"].all())
    preds = gen_store.predictions().execute()
    assert set(preds["model"]) == {"model"} and len(preds) == 240
    ann = gen_store.annotations().execute()
    assert ann["duration_s"].notna().all() and set(ann["round"]) == {"1", "2"}


def test_default_view_keeps_each_items_latest_round(gen_store: TableStore) -> None:
    raw, _ = generated()
    latest = raw[raw["round"] == raw.groupby("task")["round"].transform("max")]
    assert gen_store.annotations().count().execute() == len(latest)
    pooled = gen_store.annotations(view=ViewFilter(rounds=("*",)))
    assert pooled.count().execute() == len(raw)
    site_a = gen_store.annotations(view=ViewFilter(rounds=("*",), metadata=(("site", ("A",)),)))
    assert site_a.count().execute() == int((raw["site"] == "A").sum())


def test_analysis_on_a_table_store_equals_the_store(gen_store: TableStore, tmp_path: Path) -> None:
    raw, preds = generated()
    csv = tmp_path / "votes_2025.csv"
    raw.to_csv(csv, index=False)
    store = Store(tmp_path / "s.duckdb")
    assert cli.main(["import", str(csv), "--db", str(store.path)]) == 0
    store = Store(tmp_path / "s.duckdb")
    options = AnalysisOptions(n_boot=50)
    a = analyze(store, "votes-2025", ViewFilter(rounds=("2",)), options)
    b = analyze(gen_store, "votes-2025", ViewFilter(rounds=("2",)), options)
    # the store has no predictions attached: compare what does not depend on them
    for key in (
        "dataset",
        "alpha",
        "fleiss_kappa",
        "labelers",
        "kappa_pairs",
        "consensus",
        "slices",
    ):
        if key == "dataset":
            a[key] = {k: v for k, v in a[key].items() if k != "models"}
            b[key] = {k: v for k, v in b[key].items() if k != "models"}
        assert same(a[key], b[key]) == [], key


def test_unknown_dataset_and_missing_columns(gen_store: TableStore, tmp_path: Path) -> None:
    with pytest.raises(
        DatasetNotFound, match="dataset 'other' not found in the store. Datasets: votes-2025"
    ):
        gen_store.annotations("other")
    pd.DataFrame({"item_id": ["a"], "rater": ["r"]}).to_parquet(tmp_path / "bad.parquet")
    with pytest.raises(
        InvalidArgument,
        match=r"the table of dataset 'bad' lacks column\(s\) label. Columns found: 'item_id', 'rater'",
    ):
        open_annotations(str(tmp_path / "bad.parquet"), "duckdb")


def test_unknown_engine_target_and_table() -> None:
    with pytest.raises(InvalidArgument, match="unknown engine 'polars'. Engines: duckdb, spark"):
        check_engine("polars")
    con = connect("duckdb")
    with pytest.raises(
        InvalidArgument, match="'nowhere.parquet' not found: no such file or folder"
    ):
        read_table(con, "nowhere.parquet")
    with pytest.raises(InvalidArgument, match="cannot read 'no_such_table': expected a Parquet"):
        read_table(con, "no_such_table")


def test_only_the_canonical_tables_are_available(gen_store: TableStore) -> None:
    with pytest.raises(
        InvalidArgument,
        match="table 'lineage' is not available on this engine. "
        "Tables: annotations, items, item_metadata, predictions",
    ):
        gen_store.table("lineage")
    meta = gen_store.table("item_metadata").execute()
    assert set(meta.columns) == {"dataset", "item_id", "field", "value", "value_num"}
    assert len(meta) == 240 and set(meta["dataset"]) == {"votes-2025"}


def test_cli_engine_options_are_checked(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = cli.main(
        [
            "analyze",
            "x",
            "--engine",
            "duckdb",
            "--predictions",
            "p.parquet",
            "--db",
            str(tmp_path / "d.duckdb"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "error: --predictions, --spark-master and --spark-conf go with --engine spark" in err
    code = cli.main(["analyze", "x", "--engine", "spark", "--spark-conf", "oops"])
    assert code == 1
    assert "error: --spark-conf expects KEY=VALUE; found 'oops'" in capsys.readouterr().err


def test_engine_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from consistency.spark import default_engine, store_from_env

    monkeypatch.delenv("CONSISTENCY_ENGINE", raising=False)
    assert default_engine() == "duckdb" and store_from_env() is None
    monkeypatch.setenv("CONSISTENCY_ENGINE", "spark")
    assert default_engine() == "spark"
    monkeypatch.delenv("CONSISTENCY_TABLE", raising=False)
    with pytest.raises(InvalidArgument, match="CONSISTENCY_ENGINE=spark needs CONSISTENCY_TABLE"):
        store_from_env()
    monkeypatch.setenv("CONSISTENCY_ENGINE", "sparkk")
    with pytest.raises(InvalidArgument, match="unknown engine 'sparkk'"):
        default_engine()


def test_spark_errors_become_one_line_reports() -> None:
    from consistency.errors import ConsistencyError
    from consistency.spark import spark_errors

    spark_like = type("AnalysisException", (Exception,), {"__module__": "pyspark.errors"})
    message = "\n[TABLE_OR_VIEW_NOT_FOUND] The table `db.labels` cannot be found.\n\tat org"
    with pytest.raises(ConsistencyError) as info, spark_errors("analyze 'db.labels' on Spark"):
        raise spark_like(message)
    assert str(info.value) == (
        "could not analyze 'db.labels' on Spark: "
        "[TABLE_OR_VIEW_NOT_FOUND] The table `db.labels` cannot be found."
    )
    with pytest.raises(KeyError), spark_errors("anything"):
        raise KeyError("not Spark's: a bug, not a report")
