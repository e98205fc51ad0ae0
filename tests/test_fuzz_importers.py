"""Fuzzing every importer: each input ends in a clean import or in the collected problems.

Three kinds of input, for each of the eight formats and the gold and
predictions readers, read with the format forced and with detection:

* **shaped**: a valid export of the format written from hostile labels and
  ids (quotes, commas, newlines, HTML, SQL, Markdown, emoji, right-to-left
  text, very long strings, numbers), then damaged or not: truncated, bytes
  flipped, inserted or deleted, re-encoded (UTF-16, Latin-1), line ends
  changed. A file that reads is imported into a store: the import lands
  whole (exact row counts, labels kept verbatim) or not at all;
* **random bytes**;
* **monsters**: deeply nested JSON, a header of a million columns, a 20 MB
  line, a 100,000-digit number, NUL bytes, ten thousand blank lines...

No input may raise anything but :class:`ImportFailed`, report an
``internal_error`` (a bug turned into a problem), or take more than a few
seconds. The number of cases tried is printed at the end of the module.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consistency.errors import ImportFailed
from consistency.io import FORMATS, Source, read_gold, read_predictions, read_source
from consistency.settings import Limits
from consistency.store import Store, ViewFilter

#: Cases tried, by (kind of input, reader, outcome); printed at the end.
TRIED: Counter[tuple[str, str, str]] = Counter()
#: The slowest single read, in seconds (a hang would show here first).
SLOWEST: list[float] = [0.0]
READERS = (*FORMATS, "detect", "gold", "predictions")
MAX_SECONDS = 10.0

HOSTILE = (
    'say "hi"',
    "a,b;c\td",
    "two\nlines",
    "cr\ronly",
    "<script>alert('x')</script>",
    '<img src=x onerror="alert(1)">',
    "'; DROP TABLE annotations; --",
    "Robert'); DELETE FROM items WHERE ('1'='1",
    "**bold** [click](javascript:alert(1)) <b>",
    '=HYPERLINK("http://example.com")',
    "😀 🔥 👍🏽",
    "שלום עולם",
    "مرحبا بالعالم",
    "\u202egnp.exe\u202c",
    "x" * 20_000,
    "1e3",
    "007",
    "-0.5",
    "NaN",
    "null",
    "True",
    '{"choices": ["a"]}',
    "[1, 2]",
    "\\n not a newline \\",
    "../../etc/passwd",
    "{{7*7}} ${7*7}",
)
_chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
labels = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(_chars, min_size=1, max_size=30).filter(str.strip),
    st.integers(-(10**6), 10**6).map(str),
)
#: Ids as importers keep them: non-empty, no surrounding blanks.
ids = st.one_of(
    st.sampled_from([h for h in HOSTILE if h == h.strip() and len(h) < 100]),
    st.text(_chars, min_size=1, max_size=12).map(str.strip).filter(bool),
)


@st.composite
def label_sets(draw: st.DrawFn) -> list[tuple[str, str, str]]:
    """(item, labeler, label) with each (item, labeler) once."""
    items = draw(st.lists(ids, min_size=1, max_size=5, unique=True))
    labelers = draw(st.lists(ids, min_size=1, max_size=4, unique=True))
    rows = []
    for item in items:
        chosen = draw(st.lists(st.sampled_from(labelers), min_size=1, unique=True))
        rows += [(item, who, draw(labels)) for who in chosen]
    return rows


# ---- one writer per format --------------------------------------------------------
def _table(header: list[str], rows: list[list[object]], sep: str = ",", **kw: object) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=sep, **kw)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def _by_item(rows: list[tuple[str, str, str]]) -> dict[str, list[tuple[str, str]]]:
    grouped: dict[str, list[tuple[str, str]]] = {}
    for item, who, label in rows:
        grouped.setdefault(item, []).append((who, label))
    return grouped


def _long(rows: list[tuple[str, str, str]]) -> bytes:
    return _table(["item_id", "labeler_id", "label"], [list(r) for r in rows])


def _crowdkit(rows: list[tuple[str, str, str]]) -> bytes:
    return _table(["task", "worker", "label"], [list(r) for r in rows], sep="\t")


def _wide(rows: list[tuple[str, str, str]]) -> bytes:
    labelers = list(dict.fromkeys(who for _, who, _ in rows))
    cells = [
        [item, *(dict(votes).get(who, "") for who in labelers)]
        for item, votes in _by_item(rows).items()
    ]
    return _table(["item_id", *labelers], cells)


def _ls_json(rows: list[tuple[str, str, str]]) -> bytes:
    tasks, k = [], 0
    for t, (item, votes) in enumerate(_by_item(rows).items(), start=1):
        annotations = []
        for who, label in votes:
            k += 1
            value = {"choices": [label]}
            result = [{"type": "choices", "from_name": "cls", "to_name": "text", "value": value}]
            annotations.append({"id": k, "completed_by": {"id": k, "email": who}, "result": result})
        tasks.append({"id": t, "data": {"text": item}, "annotations": annotations})
    return json.dumps(tasks, ensure_ascii=False).encode()


def _ls_records(rows: list[tuple[str, str, str]]) -> list[dict[str, object]]:
    index = {item: t for t, item in enumerate(_by_item(rows), start=1)}
    return [
        {"id": index[item], "text": item, "cls": label, "annotator": who, "annotation_id": k}
        for k, (item, who, label) in enumerate(rows, start=1)
    ]


def _ls_json_min(rows: list[tuple[str, str, str]]) -> bytes:
    return json.dumps(_ls_records(rows), ensure_ascii=False).encode()


def _ls_csv(rows: list[tuple[str, str, str]]) -> bytes:
    records = _ls_records(rows)
    header = sorted(records[0])
    cells = [[r[c] for c in header] for r in records]
    return _table(header, cells, quoting=csv.QUOTE_NONNUMERIC)


def _toloka(rows: list[tuple[str, str, str]]) -> bytes:
    header = [
        "INPUT:text",
        "OUTPUT:result",
        "ASSIGNMENT:worker_id",
        "ASSIGNMENT:assignment_id",
        "ASSIGNMENT:status",
        "ASSIGNMENT:started",
    ]
    cells = [
        [item, label, who, f"a{k}", "APPROVED", "2021-03-01T10:00:00"]
        for k, (item, who, label) in enumerate(rows)
    ]
    return _table(header, cells, sep="\t")


def _prodigy(rows: list[tuple[str, str, str]]) -> bytes:
    index = {item: t for t, item in enumerate(_by_item(rows), start=1)}
    options = [{"id": label, "text": label} for label in dict.fromkeys(r[2] for r in rows)]
    lines = [
        {
            "text": item,
            "options": options,
            "accept": [label],
            "answer": "accept",
            "_input_hash": index[item],
            "_task_hash": index[item] * 10,
            "_annotator_id": who,
        }
        for item, who, label in rows
    ]
    return "\n".join(json.dumps(x, ensure_ascii=False) for x in lines).encode()


def _gold(rows: list[tuple[str, str, str]]) -> bytes:
    first = {item: label for item, _, label in reversed(rows)}
    return _table(["item_id", "gold_label"], [list(kv) for kv in first.items()])


def _predictions(rows: list[tuple[str, str, str]]) -> bytes:
    first = {item: label for item, _, label in reversed(rows)}
    return _table(
        ["item_id", "predicted_label", "confidence"], [[i, lab, 0.5] for i, lab in first.items()]
    )


WRITERS: dict[str, Callable[[list[tuple[str, str, str]]], bytes]] = {
    "long": _long,
    "wide": _wide,
    "labelstudio-json": _ls_json,
    "labelstudio-json-min": _ls_json_min,
    "labelstudio-csv": _ls_csv,
    "toloka": _toloka,
    "prodigy": _prodigy,
    "crowdkit": _crowdkit,
    "gold": _gold,
    "predictions": _predictions,
}


def test_every_format_has_a_writer() -> None:
    assert set(FORMATS) | {"gold", "predictions"} == set(WRITERS)


# ---- damage ------------------------------------------------------------------------
@st.composite
def damaged(draw: st.DrawFn, data: bytes) -> tuple[str, bytes]:
    """The file, or a damaged copy of it, and the name of the damage."""
    how = draw(
        st.sampled_from(
            ["none", "none", "truncate", "flip", "insert", "delete", "utf16", "latin1", "cr", "bom"]
        )
    )
    n = len(data)
    at = draw(st.integers(0, max(n - 1, 0)))
    if how == "truncate":
        return how, data[:at]
    if how == "flip":
        flips = draw(
            st.lists(st.tuples(st.integers(0, max(n - 1, 0)), st.integers(0, 255)), max_size=4)
        )
        out = bytearray(data)
        for i, b in flips:
            if out:
                out[i] = b
        return how, bytes(out)
    if how == "insert":
        return how, data[:at] + draw(st.binary(min_size=1, max_size=16)) + data[at:]
    if how == "delete":
        return how, data[:at] + data[at + draw(st.integers(1, 64)) :]
    text = data.decode("utf-8")
    if how == "utf16":
        return how, text.encode("utf-16")
    if how == "latin1":
        return how, text.encode("latin-1", "replace")
    if how == "cr":
        return how, text.replace("\n", "\r").encode()
    if how == "bom":
        return how, b"\xef\xbb\xbf" + data
    return how, data


# ---- running one case ----------------------------------------------------------------------
def _read(reader: str, source: Source, limits: Limits | None = None) -> object:
    if reader == "gold":
        return read_gold(source, limits=limits)
    if reader == "predictions":
        return read_predictions(source, limits=limits)
    return read_source(source, format=None if reader == "detect" else reader, limits=limits)


def _outcome(kind: str, reader: str, source: Source, limits: Limits | None = None) -> object:
    """Read; return the result or None after problems; fail on anything else."""
    start = time.perf_counter()
    try:
        result = _read(reader, source, limits)
        outcome = "imported"
    except ImportFailed as exc:
        assert exc.problems, "an ImportFailed without problems"
        codes = {p.code for p in exc.problems}
        assert "internal_error" not in codes, str(exc)
        assert str(exc) and all(p.message for p in exc.problems)
        result, outcome = None, "problems"
    finally:
        elapsed = time.perf_counter() - start
        SLOWEST[0] = max(SLOWEST[0], elapsed)
    assert elapsed < MAX_SECONDS, f"{reader} took {elapsed:.1f} s on {source.name}"
    TRIED[(kind, reader, outcome)] += 1
    return result


@pytest.fixture(scope="module", autouse=True)
def _report(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    total = sum(TRIED.values())
    by_kind = Counter()
    for (kind, _, outcome), n in TRIED.items():
        by_kind[(kind, outcome)] += n
    parts = ", ".join(f"{k} {o}: {n}" for (k, o), n in sorted(by_kind.items()))
    line = (
        f"importer fuzzing: {total} reads of {len(READERS)} readers ({parts}); "
        f"slowest read {SLOWEST[0]:.2f} s; 0 unhandled exceptions, 0 internal errors"
    )
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if capture is not None and reporter is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line("\n" + line)
    print(line)  # also in the captured output of the last test of the module


@pytest.fixture(scope="module")
def store() -> Iterator[Store]:
    opened = Store(":memory:")
    yield opened
    opened.close()


def _counts(store: Store) -> tuple[int, int]:
    return tuple(
        store._fetch("SELECT (SELECT count(*) FROM annotations), (SELECT count(*) FROM imports)")[0]
    )


# ---- the tests -------------------------------------------------------------------------
_fuzz = settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.parametrize("fmt", list(WRITERS))
@_fuzz
@given(data=st.data())
def test_shaped_files_import_whole_or_report_problems(
    fmt: str, data: st.DataObject, store: Store
) -> None:
    rows = data.draw(label_sets())
    how, raw = data.draw(damaged(WRITERS[fmt](rows)))
    source = Source(f"{fmt}.{how}", raw)
    readers = (fmt,) if fmt in ("gold", "predictions") else (fmt, "detect")
    for reader in readers:
        result = _outcome("shaped", reader, source)
        if result is None or reader in ("gold", "predictions"):
            continue
        before = _counts(store)
        dataset = f"fuzz-{sum(TRIED.values())}"
        report = store.import_result(result, file_name=source.name, data=raw, dataset=dataset)
        n = len(result.annotations)
        assert _counts(store) == (before[0] + n, before[1] + 1)
        stored = store.annotations(report.dataset, ViewFilter(rounds=("*",))).execute()
        assert sorted(stored["label"]) == sorted(result.annotations["label"])
        if how == "none" and fmt in ("long", "crowdkit", "labelstudio-json"):
            expected = rows
            if fmt == "labelstudio-json":  # the item is the task id
                task = {item: str(t) for t, item in enumerate(_by_item(rows), start=1)}
                expected = [(task[item], who, label) for item, who, label in rows]
            got = zip(stored.item_id, stored.labeler_id, stored.label, strict=True)
            assert sorted(got) == sorted(expected)


@_fuzz
@given(raw=st.binary(max_size=2_000))
def test_random_bytes_never_crash_a_reader(raw: bytes) -> None:
    for reader in READERS:
        _outcome("random", reader, Source("random.bin", raw))


@_fuzz
@given(
    prefix=st.sampled_from([b"[", b"{", b"PAR1", b"item,worker,label\n", b"\xef\xbb\xbf"]),
    raw=st.binary(max_size=500),
)
def test_random_bytes_after_a_plausible_start_never_crash(prefix: bytes, raw: bytes) -> None:
    for reader in READERS:
        _outcome("random", reader, Source("prefixed.bin", prefix + raw))


def _nested(depth: int, open_: str = "[", close: str = "]") -> bytes:
    return (open_ * depth + close * depth).encode()


def _ls_nested(depth: int) -> bytes:
    value = "[" * depth + '"a"' + "]" * depth
    return (
        '[{"id": 1, "annotations": [{"completed_by": 1, "result": [{"type": "choices", '
        f'"from_name": "c", "value": {{"choices": {value}}}}}]}}]}}]'
    ).encode()


MONSTERS: dict[str, Callable[[], bytes]] = {
    "deep_array": lambda: _nested(100_000),
    "deep_object": lambda: b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    "deep_unclosed": lambda: b"[" * 200_000,
    "deep_json_lines": lambda: _nested(50_000) + b"\n{}\n",
    "deep_second_line": lambda: b'{"a": 1}\n' + _nested(50_000) + b"\n",
    "nested_choice_900": lambda: _ls_nested(900),
    "nested_choice_3000": lambda: _ls_nested(3_000),
    "million_columns": lambda: b",".join(b"c%d" % i for i in range(1_000_000)) + b"\n1\n",
    "hundred_thousand_json_keys": lambda: json.dumps({f"k{i}": i for i in range(100_000)}).encode(),
    "long_line_20mb": lambda: b"item,worker,label\n1,a," + b"x" * 20_000_000 + b"\n",
    "long_header_cell": lambda: b"item," + b"w" * 5_000_000 + b",label\n1,a,b\n",
    "number_100k_digits": lambda: (
        b'[{"item": 1' + b"0" * 100_000 + b', "worker": "a", "label": "x"}]'
    ),
    "huge_float": lambda: b'[{"item": 1e999, "worker": "a", "label": 1e-999}]',
    "nan_and_infinity": lambda: b'[{"item": NaN, "worker": Infinity, "label": -Infinity}]',
    "nul_bytes": lambda: b"item,worker,label\n1,a\x00,b\n",
    "utf16_le_no_bom": lambda: "item,worker,label\n1,a,b\n".encode("utf-16-le"),
    "utf32": lambda: "item,worker,label\n1,a,b\n".encode("utf-32"),
    "lone_surrogate_escape": lambda: b'[{"item": "\\ud800", "worker": "a", "label": "\\udfff"}]',
    "blank_lines": lambda: b"\n" * 10_000 + b"item,worker,label\n" + b"\n" * 10_000 + b"1,a,b\n",
    "only_header": lambda: b"item,worker,label\n",
    "unterminated_quote": lambda: b'item,worker,label\n1,a,"never closed\n2,b,c\n',
    "parquet_magic_garbage": lambda: b"PAR1" + bytes(range(256)) * 4 + b"PAR1",
    "json_scalar": lambda: b'"just a string"',
    "json_duplicate_keys": lambda: b'[{"item": 1, "item": 2, "worker": "a", "label": "x"}]',
    "many_records": lambda: b"item,worker,label\n" + b"i,w,l\n" * 50_000,
    "jsonl_mixed": lambda: b'{"item": 1, "worker": "a", "label": "x"}\n[1]\n"s"\nnull\n{"item"\n',
    "semicolons": lambda: b"item;worker;label\n1;a;b\n1;c;d\n",
    "html_header": lambda: b"<html><body>item,worker,label</body></html>\n1,a,b\n",
}


@pytest.mark.parametrize("name", list(MONSTERS))
def test_monster_files_are_refused_or_read_quickly(name: str) -> None:
    source = Source(f"{name}.txt", MONSTERS[name]())
    for reader in READERS:
        _outcome("monster", reader, source)


def test_a_million_column_header_is_refused_at_once_with_the_limit() -> None:
    source = Source("wide.csv", MONSTERS["million_columns"]())
    start = time.perf_counter()
    with pytest.raises(ImportFailed) as err:
        read_source(source)
    assert time.perf_counter() - start < 5.0  # was 10-18 s per importer before the limit
    assert str(err.value) == (
        "wide.csv is over the upload limit; nothing was imported:\n"
        "  - wide.csv: expected at most 1,000 columns (set CONSISTENCY_MAX_COLUMNS to change it); "
        "found 1,000,000 columns"
    )


def test_deep_json_is_one_problem_not_a_traceback() -> None:
    with pytest.raises(ImportFailed) as err:
        read_source(Source("deep.json", MONSTERS["deep_array"]()))
    assert str(err.value) == (
        "1 problem in deep.json; nothing was imported:\n"
        "  - deep.json: expected valid JSON; found nesting too deep to read"
    )


def test_a_number_too_long_to_read_is_one_problem() -> None:
    with pytest.raises(ImportFailed) as err:
        read_source(Source("n.json", MONSTERS["number_100k_digits"]()))
    assert str(err.value) == (
        "1 problem in n.json; nothing was imported:\n"
        "  - n.json: expected valid JSON; found a number with more digits than can be read"
    )


def test_a_lone_surrogate_escape_is_one_problem_with_its_place() -> None:
    with pytest.raises(ImportFailed) as err:
        read_source(
            Source(
                "s.jsonl",
                b'{"item": "a", "worker": "w", "label": "ok"}\n'
                b'{"item": "b", "worker": "w", "label": "\\udc00"}\n',
            )
        )
    assert str(err.value) == (
        "1 problem in s.jsonl; nothing was imported:\n"
        "  - s.jsonl, line 2: expected valid JSON text; found the escape \\udc00, "
        "half of a character pair (a lone surrogate), which is not text"
    )


def test_escaped_character_pairs_are_text() -> None:
    data = json.dumps([{"item": "😀", "worker": "w", "label": "שלום"}]).encode()  # ASCII escapes
    assert b"\\ud83d\\ude00" in data
    result = read_source(Source("e.json", data))
    assert result.annotations["item_id"].tolist() == ["😀"]
