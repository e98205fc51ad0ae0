"""Format detection from content, and what each format keeps, on small inline inputs."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from consistency.io import Source, read_source

LS_TASK = {
    "id": 1,
    "data": {"text": "a"},
    "annotations": [
        {"id": 1, "completed_by": 1, "result": [
            {"type": "choices", "from_name": "s", "to_name": "text", "value": {"choices": ["A"]}}]}
    ],
}  # fmt: skip


def _parquet(df: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    df.to_parquet(buffer)
    return buffer.getvalue()


CASES = {
    "long-csv": (b"item_id,labeler_id,label\n1,a,x\n", "long"),
    "long-tsv": (b"item\tuser\tclass\n1\ta\tx\n", "long"),
    "long-semicolon": (b"item;rater;answer\n1;a;x\n", "long"),
    "long-jsonl": (
        b'{"task": 1, "labeler": "a", "label": "x"}\n{"task": 2, "labeler": "a", "label": "y"}\n',
        "long",
    ),
    "long-json-array": (b'[{"task": 1, "labeler": "a", "label": "x"}]', "long"),
    "long-parquet": (_parquet(pd.DataFrame({"item": [1], "coder": ["a"], "label": ["x"]})), "long"),
    "wide": (b"item,ann,bob\n1,x,y\n", "wide"),
    "wide-id": (b"id,ann,bob\n1,x,y\n", "wide"),
    "crowdkit": (b"worker,task,label\nw1,t1,no\n", "crowdkit"),
    "crowdkit-true-label": (b"task,worker,label,true_label\nt1,w1,no,no\n", "crowdkit"),
    "labelstudio-json-array": (json.dumps([LS_TASK]).encode(), "labelstudio-json"),
    "labelstudio-json-object": (json.dumps(LS_TASK, indent=2).encode(), "labelstudio-json"),
    "labelstudio-json-min": (
        b'[{"id": 1, "s": "A", "annotator": 1, "annotation_id": 1}]',
        "labelstudio-json-min",
    ),
    "labelstudio-csv": (
        b'"annotation_id","annotator","id","s"\n1,"a@x",1,"A"\n',
        "labelstudio-csv",
    ),
    "labelstudio-tsv": (
        b'"annotation_id"\t"annotator"\t"id"\t"s"\n1\t"a@x"\t1\t"A"\n',
        "labelstudio-csv",
    ),
    "toloka": (b"INPUT:image\tOUTPUT:result\tASSIGNMENT:worker_id\nu\tcat\tw1\n", "toloka"),
    "prodigy": (
        b'{"text": "t", "label": "X", "answer": "accept", "_input_hash": 1, "_task_hash": 2, "_annotator_id": "a"}\n'
        b'{"text": "t", "label": "X", "answer": "reject", "_input_hash": 1, "_task_hash": 2, "_annotator_id": "b"}\n',
        "prodigy",
    ),
}


@pytest.mark.parametrize("data, expected", CASES.values(), ids=list(CASES))
def test_detected_format(data: bytes, expected: str) -> None:
    assert read_source(Source("input", data)).format == expected


def test_json_lines_of_one_record_is_read() -> None:
    data = (
        b'{"text": "t", "label": "X", "answer": "accept", "_input_hash": 1, "_annotator_id": "a"}\n'
    )
    result = read_source(Source("one.jsonl", data))
    assert result.format == "prodigy"
    assert list(result.annotations["label"]) == ["X"]


def test_parquet_values_become_text_labels_and_typed_metadata() -> None:
    df = pd.DataFrame({"item": [1, 2], "worker": ["a", "a"], "label": [1.0, 2.5], "n": [3, 4]})
    result = read_source(Source("p.parquet", _parquet(df)))
    assert list(result.annotations["label"]) == ["1", "2.5"]
    assert list(result.annotations["label_value"]) == [1.0, 2.5]
    assert str(result.items["n"].dtype) == "Int64"
    assert list(result.items["item_id"]) == ["1", "2"]


def test_long_table_is_control_column() -> None:
    data = b"item,worker,label,is_control\nt1,w1,a,true\nt2,w1,b,false\n"
    result = read_source(Source("c.csv", data))
    assert list(result.items["is_control"]) == [True, False]
    assert "is_control" not in result.annotations["attributes"].dropna().str.cat()


def test_toloka_groups_pages_by_worker_and_start_without_assignment_id() -> None:
    data = (
        b"INPUT:item_id\tOUTPUT:result\tASSIGNMENT:worker_id\tASSIGNMENT:started\tASSIGNMENT:submitted\n"
        b"a\tx\tw1\t2021-01-01T10:00:00\t2021-01-01T10:00:40\n"
        b"b\tx\tw1\t2021-01-01T10:00:00\t2021-01-01T10:00:40\n"
        b"a\ty\tw2\t2021-01-01T10:00:00\t2021-01-01T10:00:10\n"
    )
    result = read_source(Source("t.tsv", data))
    assert list(result.annotations["duration_s"]) == [20.0, 20.0, 10.0]


def test_toloka_field_may_name_the_output_with_its_prefix() -> None:
    data = b"INPUT:item_id\tOUTPUT:a\tOUTPUT:b\tASSIGNMENT:worker_id\nq\tx\ty\tw\n"
    for field in ("b", "OUTPUT:b"):
        assert list(read_source(Source("t.tsv", data), field=field).annotations["label"]) == ["y"]


def test_prodigy_item_id_prefers_explicit_ids() -> None:
    records = [
        {
            "item_id": "top",
            "meta": {"item_id": "meta"},
            "label": "X",
            "answer": "accept",
            "_input_hash": 1,
            "_annotator_id": "a",
        },
        {
            "meta": {"item_id": "meta"},
            "label": "X",
            "answer": "accept",
            "_input_hash": 2,
            "_annotator_id": "a",
        },
        {"label": "X", "answer": "accept", "_input_hash": 3, "_session_id": "s"},
    ]
    data = "\n".join(json.dumps(r) for r in records).encode()
    result = read_source(Source("p.jsonl", data))
    assert list(result.annotations["item_id"]) == ["top", "meta", "3"]
    assert list(result.annotations["labeler_id"]) == ["a", "a", "s"]


def test_labelstudio_completed_by_email_else_id() -> None:
    task = json.loads(json.dumps(LS_TASK))
    first = task["annotations"][0]
    task["annotations"] = [
        first | {"completed_by": {"id": 5, "email": "e@x"}},
        first | {"completed_by": {"id": 6, "email": ""}},
        first | {"completed_by": 7},
        first | {"completed_by": "8"},
    ]
    result = read_source(Source("ls.json", json.dumps([task]).encode()))
    assert list(result.annotations["labeler_id"]) == ["e@x", "6", "7", "8"]


def test_labelstudio_predictions_keep_the_first_per_model() -> None:
    pred = {"model_version": "m", "score": 0.5, "result": LS_TASK["annotations"][0]["result"]}
    task = LS_TASK | {"predictions": [pred, pred | {"score": 0.9}, pred | {"model_version": None}]}
    result = read_source(Source("ls.json", json.dumps([task]).encode()))
    assert result.predictions.to_dict("list") == {
        "item_id": ["1", "1"], "model": ["m", "model"], "predicted_label": ["A", "A"], "confidence": [0.5, 0.5],
    }  # fmt: skip
    assert [w.code for w in result.warnings] == ["repeat_prediction"]
