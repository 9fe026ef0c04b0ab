"""JSONL files and digests: what a crash leaves behind is readable, names are stable."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import BaseModel

from detect.errors import CorpusError
from detect.hashing import digest, file_digest
from detect.io import JsonlAppender, read_jsonl, read_models, write_jsonl


class Row(BaseModel):
    id: str
    n: int


def test_a_torn_last_line_is_dropped_and_repaired_before_the_next_append(tmp_path):
    path = tmp_path / "rows.jsonl"
    with JsonlAppender(path) as out:
        out.write_line('{"id": "a", "n": 1}')
    with open(path, "ab") as handle:  # a write cut short by a crash
        handle.write(b'{"id": "b", "n"')
    assert [r.id for r in read_models(path, Row, what="row", fix="-", torn_tail_ok=True)] == ["a"]
    with pytest.raises(CorpusError, match=r"rows\.jsonl:2: not valid JSON"):
        read_models(path, Row, what="row", fix="-")
    with JsonlAppender(path) as out:  # opening repairs the tail
        out.write_line('{"id": "c", "n": 3}')
    assert [r.id for r in read_models(path, Row, what="row", fix="-")] == ["a", "c"]


def test_bad_lines_name_the_file_line_and_field(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"id": "a", "n": 1}\n\n{"id": "b", "n": "many"}\n')
    with pytest.raises(CorpusError, match=r"rows\.jsonl:3: bad row: n: .*\(delete it\)") as info:
        read_models(path, Row, what="row", fix="delete it")
    assert "\n" not in str(info.value)
    with pytest.raises(CorpusError, match="file not found"):
        list(read_jsonl(tmp_path / "none.jsonl", fix="-"))
    assert list(read_jsonl(tmp_path / "none.jsonl", fix="-", missing_ok=True)) == []


@pytest.mark.slow
def test_appends_from_concurrent_processes_never_interleave(tmp_path):
    path = tmp_path / "rows.jsonl"
    script = (
        "import sys; from detect.io import JsonlAppender\n"
        "with JsonlAppender(sys.argv[1], fsync=False) as out:\n"
        '    for i in range(300): out.write_line(\'{"id": "%s-%d", "n": %d}\' % (sys.argv[2], i, i) + \' \' * 3000)\n'
    )
    workers = [subprocess.Popen([sys.executable, "-c", script, str(path), name]) for name in "ab"]
    assert all(w.wait() == 0 for w in workers)
    rows = read_models(path, Row, what="row", fix="-")
    assert len(rows) == 600 and len({r.id for r in rows}) == 600


def test_an_atomic_write_that_fails_leaves_the_old_file(tmp_path):
    path = write_jsonl(tmp_path / "rows.jsonl", ['{"id": "a", "n": 1}'])

    def broken():
        yield '{"id": "b", "n": 2}'
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_jsonl(path, broken())
    assert path.read_text() == '{"id": "a", "n": 1}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["rows.jsonl"]  # no temp file left behind


def test_digests_depend_on_content_only(tmp_path):
    assert digest({"b": [1, 2], "a": "x"}) == digest({"a": "x", "b": [1, 2]})
    assert digest({"a": 1}) != digest({"a": 2})
    assert len(digest("text", 10)) == 10 and len(digest("text", None)) == 64
    (tmp_path / "w1").write_bytes(b"weights")
    (tmp_path / "w2").write_bytes(b"weights")
    assert file_digest([tmp_path / "w1"]) == file_digest([tmp_path / "w2"]) == digest(b"weights", None)
    assert file_digest([tmp_path / "w1"], with_names=True) != file_digest([tmp_path / "w2"], with_names=True)
