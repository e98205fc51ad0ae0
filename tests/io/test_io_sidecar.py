"""Gold and prediction side files."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from consistency.errors import ImportFailed
from consistency.io import Source, read_gold, read_predictions


def _parquet(df: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    df.to_parquet(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        b"item_id,gold_label\nt1,yes\nt2,no\n",
        b"task\tlabel\nt1\tyes\nt2\tno\n",
        b"\xef\xbb\xbfTask,Agg_Label\nt1,yes\nt2,no\nt1,yes\n",
        b'{"item": "t1", "gold": "yes"}\n{"item": "t2", "gold": "no"}\n',
        _parquet(pd.DataFrame({"unit": ["t1", "t2"], "ground_truth": ["yes", "no"]})),
    ],
    ids=["csv", "tsv-label-alias", "bom-agg-label-duplicate", "jsonl", "parquet"],
)
def test_read_gold(data: bytes) -> None:
    gold = read_gold(Source("gold", data))
    assert gold.to_dict("list") == {"item_id": ["t1", "t2"], "gold_label": ["yes", "no"]}
    assert list(gold.dtypes.astype(str)) == ["string", "string"]


def test_gold_rows_without_gold_are_skipped() -> None:
    gold = read_gold(Source("g.csv", b"item,gold\nt1,\nt2,no\n"))
    assert list(gold["item_id"]) == ["t2"]


def test_conflicting_gold_is_an_error() -> None:
    with pytest.raises(ImportFailed) as err:
        read_gold(Source("g.csv", b"item,gold\nt1,yes\nt2,no\nt1,no\n"))
    assert str(err.value) == (
        "1 problem in g.csv; nothing was imported:\n"
        "  - g.csv, line 4, field 'gold': expected one gold label per item (item 't1'); "
        "found 'no' here and 'yes' at line 2"
    )


def test_gold_missing_columns() -> None:
    with pytest.raises(ImportFailed) as err:
        read_gold(Source("g.csv", b"name,verdict\nt1,yes\n"))
    assert [p.field for p in err.value.problems] == ["item_id", "gold_label"]
    assert err.value.problems[1].message == (
        "g.csv, field 'gold_label': expected a gold label column (one of: gold_label, gold, golden, "
        "ground_truth, true_label, gt, label, answer, response, annotation, class, category, value, "
        "agg_label; any case); found columns name, verdict"
    )


def test_read_predictions_with_model_and_confidence() -> None:
    data = b"item,model_version,prediction,score\nt1,m1,cat,0.9\nt1,m2,dog,0.4\nt1,m1,cat,0.9\n"
    preds = read_predictions(Source("p.csv", data))
    assert preds.to_dict("list") == {
        "item_id": ["t1", "t1"], "model": ["m1", "m2"], "predicted_label": ["cat", "dog"], "confidence": [0.9, 0.4],
    }  # fmt: skip
    assert str(preds["confidence"].dtype) == "Float64"


def test_read_predictions_defaults() -> None:
    preds = read_predictions(Source("p.csv", b"item_id,label\nt1,cat\nt2,dog\n"))
    assert list(preds["model"]) == ["model", "model"]
    assert preds["confidence"].isna().all()


def test_prediction_errors_are_collected() -> None:
    data = b"item,pred,confidence\nt1,cat,high\nt1,dog,0.3\n,cat,0.1\nt3,,0.2\n"
    with pytest.raises(ImportFailed) as err:
        read_predictions(Source("p.csv", data))
    assert [p.message for p in err.value.problems] == [
        "p.csv, line 2, field 'confidence': expected a number; found 'high'",
        "p.csv, line 3, field 'pred': expected one prediction per model and item (model 'model', "
        "item 't1'); found 'dog' here and 'cat' at line 2",
        "p.csv, line 4, field 'item': expected an item id; found an empty value",
        "p.csv, line 5, field 'pred': expected a predicted label; found an empty value",
    ]


def test_side_files_must_be_tables() -> None:
    with pytest.raises(
        ImportFailed, match="expected gold: a table or JSON records; found a JSON array"
    ):
        read_gold(Source("g.json", b"[1, 2]"))
