"""A run directory never mixes runs: old finals moved aside, one run at a time, torn headers discarded."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from judgekit.backends.fake import FakeBackend
from judgekit.core.rundir import open_partial, resume_rows
from judgekit.core.runner import Runner
from judgekit.core.types import Prompt, Sample
from judgekit.judge import RunDirError, run_fingerprint, run_judge
from judgekit.protocols.base import get_protocol


def pairs(n: int, tag: str = "") -> list[Sample]:
    return [Sample(id=f"s{i}", prompt=f"Question {tag}{i}?", responses=(f"good {i}", f"bad {i}"), label="A")
            for i in range(n)]


def test_new_run_moves_the_old_finals_aside_before_it_starts(tmp_path: Path) -> None:
    run_judge(pairs(2, "old"), get_protocol("pairwise"), Runner(FakeBackend()), tmp_path)
    old_results = (tmp_path / "results.jsonl").read_text()
    seen: list[list[str]] = []

    def watching(prompt: Prompt, index: int, params) -> str:  # type: ignore[no-untyped-def]
        seen.append(sorted(p.name for p in tmp_path.iterdir()))
        return "Reasoning: r\nVerdict: [[A]]"

    result = run_judge(pairs(3, "new"), get_protocol("pairwise"), Runner(FakeBackend(watching)), tmp_path)
    # while the new run works, no final file of the old run sits beside its partial file
    assert seen and all(not {"results.jsonl", "manifest.json", "summary.json"} & set(names) for names in seen)
    assert (tmp_path / "superseded" / "1" / "results.jsonl").read_text() == old_results
    assert {p.name for p in (tmp_path / "superseded" / "1").iterdir()} == {"results.jsonl", "manifest.json",
                                                                           "summary.json"}
    assert result.manifest["superseded"] == os.path.join("superseded", "1")
    assert len((tmp_path / "results.jsonl").read_text().splitlines()) == 3


def test_a_second_run_into_the_same_directory_fails_fast(tmp_path: Path) -> None:
    errors: list[str] = []

    def intruder(prompt: Prompt, index: int, params) -> str:  # type: ignore[no-untyped-def]
        if not errors:  # while the first run holds the directory, start another one into it
            with pytest.raises(RunDirError, match="another judgekit run") as err:
                run_judge(pairs(1), get_protocol("pairwise"), Runner(FakeBackend()), tmp_path)
            errors.append(str(err.value))
        return "Reasoning: r\nVerdict: [[A]]"

    result = run_judge(pairs(2), get_protocol("pairwise"), Runner(FakeBackend(intruder)), tmp_path)
    assert errors and len(result.judgments) == 2
    # the lock is released when the run ends
    run_judge(pairs(2), get_protocol("pairwise"), Runner(FakeBackend()), tmp_path)


def test_run_directory_that_is_a_file_is_a_clear_error(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.write_text("not a directory")
    with pytest.raises(RunDirError, match="not a directory"):
        run_judge(pairs(1), get_protocol("pairwise"), Runner(FakeBackend()), target)


def test_torn_header_discards_the_partial_file(tmp_path: Path) -> None:
    """Rows from another input behind a torn first line are never resumed."""
    proto, runner = get_protocol("pairwise"), Runner(FakeBackend())
    fingerprint = run_fingerprint(proto, runner, "another input")
    stale = {"sample_id": "s0", "verdict": "STALE", "reward": 0.0, "parse_failure": False, "failure_reason": None}
    header = json.dumps({"fingerprint": fingerprint})
    (tmp_path / "results.partial.jsonl").write_text(header[:20] + "\n" + json.dumps(stale) + "\n")
    result = run_judge(pairs(2), proto, runner, tmp_path)
    assert result.resumed == 0 and "STALE" not in {j.verdict for j in result.judgments}


def test_resume_after_a_torn_last_row_writes_the_next_row_on_its_own_line(tmp_path: Path) -> None:
    proto = get_protocol("pairwise")
    fingerprint = run_judge(pairs(3), proto, Runner(FakeBackend()), tmp_path / "full").manifest["fingerprint"]
    full = (tmp_path / "full" / "results.jsonl").read_text().splitlines()
    part = tmp_path / "r" / "results.partial.jsonl"
    part.parent.mkdir()
    part.write_text(json.dumps({"fingerprint": fingerprint}) + "\n" + full[0] + "\n" + full[1][:30])

    def dies_on_item_2(prompt: Prompt, index: int, params) -> str:  # type: ignore[no-untyped-def]
        if "Question 2?" in prompt.as_text():
            raise RuntimeError("killed")
        return FakeBackend()._text(prompt, index, params)

    with pytest.raises(RuntimeError, match="killed"):
        run_judge(pairs(3), proto, Runner(FakeBackend(dies_on_item_2)), tmp_path / "r", chunk_size=1)
    lines = part.read_text().splitlines()
    assert lines[-1] == full[1]  # the resumed row is readable, not glued to the torn one
    result = run_judge(pairs(3), proto, Runner(FakeBackend()), tmp_path / "r")
    assert result.resumed == 2
    assert (tmp_path / "r" / "results.jsonl").read_text().splitlines() == full


def test_resume_rows_need_the_same_fingerprint_header_and_a_text_key(tmp_path: Path) -> None:
    part = tmp_path / "p.jsonl"
    assert resume_rows(part, "fp", "id") == {}  # no file
    with open_partial(part, "fp", resuming=False) as fh:
        fh.write('{"id": "a", "v": 1}\n{"id": 3}\n[1]\n{"id": "b"}\n')
    assert resume_rows(part, "fp", "id") == {"a": {"id": "a", "v": 1}, "b": {"id": "b"}}
    assert resume_rows(part, "other", "id") == {}
    with open_partial(part, "fp", resuming=True) as fh:  # appends, no second header
        fh.write('{"id": "c"}\n')
    assert list(resume_rows(part, "fp", "id")) == ["a", "b", "c"]
    with open_partial(part, "new", resuming=False) as fh:  # starts over under the new header
        pass
    assert part.read_text() == '{"fingerprint": "new"}\n'
