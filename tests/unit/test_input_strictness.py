"""Typos and odd input fail with one line and exit 2; valid odd input is read as data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from judgekit.cli import app
from judgekit.core.data import DataError, load_samples
from tests.fault_server import FaultServer

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = str(ROOT / "examples" / "pairs.jsonl")


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def one_error(result, *needles: str) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code == 2, result.output
    assert result.output.count("error:") == 1 and "Traceback" not in result.output, result.output
    flat = " ".join(result.output.split())
    for needle in needles:
        assert needle in flat, flat


def test_jsonl_lines_end_at_newline_only(tmp_path: Path) -> None:
    texts = ["line\u2028separator", "next\u0085line", "form\x0cfeed", "para\u2029graph", "crlf"]
    path = tmp_path / "odd.jsonl"
    rows = [json.dumps({"prompt": t, "chosen": "c", "rejected": "r"}, ensure_ascii=False) for t in texts]
    path.write_bytes(("\n".join(rows[:-1]) + "\n" + rows[-1] + "\r\n").encode())
    samples = load_samples(path)
    assert [s.prompt for s in samples] == texts
    assert [s.id for s in samples] == [f"line-{i}" for i in range(1, 6)]


def test_csv_field_with_a_line_separator_is_one_field(tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text('prompt,chosen,rejected\n"a\u2028b",c,r\n"multi\nline",c2,r2\nlast,c3,r3\n', encoding="utf-8")
    samples = load_samples(path)
    assert [s.prompt for s in samples] == ["a\u2028b", "multi\nline", "last"]
    assert [s.id for s in samples] == ["line-2", "line-4", "line-5"]  # the line each row ends on


@pytest.mark.parametrize("label", [[7], {"score": 7}])
def test_non_scalar_pointwise_label_is_a_data_error(tmp_path: Path, label: object) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps({"prompt": "p", "response": "r", "label": label}) + "\n")
    with pytest.raises(DataError, match="line 1.*'label'.*not a single value"):
        load_samples(path, task="pointwise")
    one_error(invoke("judge", str(path), "--backend", "fake", "-p", "pointwise", "-o", str(tmp_path / "o")),
              "not a single value")


def test_named_columns_missing_from_a_row_fail(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('{"q": "Q", "a": "x", "b": "y", "pref": 1, "key": "k1"}\n{"q": "Q2", "a": "x", "b": "y"}\n')
    base = ["judge", str(path), "--backend", "fake", "--prompt-col", "q", "--response-cols", "a,b"]
    one_error(invoke(*base, "--label-col", "pref", "-o", str(tmp_path / "o1")), "line 2", "'pref'", "missing")
    one_error(invoke(*base, "--id-col", "key", "-o", str(tmp_path / "o2")), "line 2", "'key'", "missing")
    one_error(invoke("judge", EXAMPLE, "--backend", "fake", "--label-col", "winner"), "--label-col needs")


@pytest.mark.parametrize(("flags", "needle"), [
    (["--inconsistency", "avg"], "--inconsistency 'avg'"),
    (["-p", "pairwise", "--reduce", "score-sum"], "score-sum needs per-response scores"),
    (["--reduce", "median"], "unknown reducer"),
    (["--backend", "nope"], "--backend 'nope'"),
])
def test_typos_fail_before_any_work(tmp_path: Path, flags: list[str], needle: str) -> None:
    args = ["judge", EXAMPLE, "-o", str(tmp_path / "o"), *flags]
    one_error(invoke(*args if "--backend" in flags else [*args, "--backend", "fake"]), needle)
    assert not (tmp_path / "o").exists()


def test_score_sum_still_works_where_scores_exist(tmp_path: Path) -> None:
    result = invoke("judge", EXAMPLE, "--backend", "fake", "-p", "spct", "--samples", "2",
                    "--reduce", "score-sum", "--limit", "2", "-o", str(tmp_path / "o"))
    assert result.exit_code == 0, result.output


def test_output_path_that_is_a_file_is_one_line(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.write_text("x")
    one_error(invoke("judge", EXAMPLE, "--backend", "fake", "-o", str(target)), "not a directory")


def test_partial_api_failure_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    rows = [{"prompt": "fine", "chosen": "c", "rejected": "r"}, {"prompt": "FAULT:500:inf", "chosen": "c",
                                                                 "rejected": "r"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with FaultServer() as server:
        result = invoke("judge", str(path), "--backend", "openai", "--base-url", server.base_url, "--model",
                        "fault-model", "--api-key-env", "", "--max-retries", "0", "--constraint-style", "vllm",
                        "--cache-dir", str(tmp_path / "cache"), "-o", str(tmp_path / "o"))
    one_error(result, "2 of 4 model requests failed", "HTTP 500", "run the same command again")


def test_broken_chat_template_is_refused_at_start(tmp_path: Path) -> None:
    template = tmp_path / "t.jinja"
    template.write_text("{% for m in messages %}{{ m.content }")
    result = invoke("judge", EXAMPLE, "--backend", "openai", "--base-url", "http://127.0.0.1:9/v1", "--model", "m",
                    "--api-mode", "completions", "--chat-template", str(template), "--constraint-style", "none")
    one_error(result, "--chat-template", "does not render")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX resource limits")
def test_file_size_limit_is_one_line(tmp_path: Path) -> None:
    script = (
        "import resource, sys; from judgekit.cli import main; "
        "resource.setrlimit(resource.RLIMIT_FSIZE, (4000, 4000)); sys.argv = sys.argv[:1] + sys.argv[1:]; main()"
    )
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", script, "judge", EXAMPLE, "--backend", "fake", "--no-cache", "-o", str(tmp_path / "o")],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=120,
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "File too large" in proc.stderr
