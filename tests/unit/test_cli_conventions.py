"""Conventions every command follows: -o/--out, --sample, no fake backend for users, the cache command."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from judgekit.cli import app
from judgekit.core.cache import CallCache
from judgekit.core.data import load_samples, seeded_subset

ROOT = Path(__file__).resolve().parents[2]
PAIRS = ROOT / "examples" / "pairs.jsonl"
runner = CliRunner()


def invoke(*args: str) -> Any:
    return runner.invoke(app, list(args), catch_exceptions=False)


def _commands() -> list[tuple[str, Any]]:
    found = []

    def walk(cmd: Any, path: list[str]) -> None:
        if hasattr(cmd, "list_commands"):  # a group (the root imports its groups' modules here, lazily)
            ctx = cmd.make_context(cmd.name, [], resilient_parsing=True)
            for name in cmd.list_commands(ctx):
                walk(cmd.get_command(ctx, name), [*path, name])
        else:
            found.append((" ".join(path), cmd))

    walk(typer.main.get_command(app), [])
    return found


def test_every_output_option_is_spelled_o_and_out() -> None:
    commands = _commands()
    assert len(commands) > 20
    for name, cmd in commands:
        for param in cmd.params:
            spellings = set(getattr(param, "opts", []))
            if param.name in ("output", "out", "out_dir", "out_path") or spellings & {"-o", "--out", "--output"}:
                assert {"-o", "--out"} <= spellings, (name, param.name, spellings)


def test_rubrics_generate_writes_where_o_says(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("rubrics", "generate", str(PAIRS), "--backend", "fake", "--tries", "1", "--no-cache",
                    "-o", "mine")
    assert result.exit_code == 0, result.output
    assert "rubric file(s) in mine" in result.output.replace("\n", " ")
    assert not (tmp_path / "rubrics-generated").exists() and not (tmp_path / "runs").exists()


def test_train_distill_writes_where_o_says(tmp_path: Path) -> None:
    out = tmp_path / "sft.jsonl"
    result = invoke("train", "distill", str(PAIRS), "--backend", "fake", "--no-cache", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert out.is_file()


def test_reward_serve_refuses_an_output_it_would_ignore() -> None:
    result = invoke("reward-serve", "--backend", "fake", "-o", "somewhere")
    assert result.exit_code == 2 and "writes no files" in result.output


def test_sample_is_seeded_and_keeps_file_order(tmp_path: Path) -> None:
    rows = [{"id": f"q{i}", "prompt": f"p{i}", "response_a": "a", "response_b": "b", "label": "A"} for i in range(40)]
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    first = [s.id for s in load_samples(data, sample=10, seed=3)]
    assert first == [s.id for s in load_samples(data, sample=10, seed=3)]
    assert first != [s.id for s in load_samples(data, sample=10, seed=4)]
    assert len(first) == 10 and first == sorted(first, key=lambda i: int(i[1:]))
    assert first != [f"q{i}" for i in range(10)]  # not simply the head of the file
    assert [s.id for s in load_samples(data, sample=99)] == [r["id"] for r in rows]
    assert [s.id for s in load_samples(data, limit=5, sample=3, seed=0)] == seeded_subset(
        [f"q{i}" for i in range(5)], 3, 0)
    with pytest.raises(ValueError):
        seeded_subset([1, 2], -1, 0)


def test_sample_flag_judges_that_many_items(tmp_path: Path) -> None:
    result = invoke("judge", str(PAIRS), "--backend", "fake", "--sample", "2", "-o", str(tmp_path / "run"))
    assert result.exit_code == 0, result.output
    assert len((tmp_path / "run" / "results.jsonl").read_text().splitlines()) == 2
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["selection"] == {"limit": None, "sample": 2, "seed": 0, "items": 2}
    bad = invoke("judge", str(PAIRS), "--backend", "fake", "--sample", "0", "-o", str(tmp_path / "run0"))
    assert bad.exit_code == 2


def test_commands_that_cannot_sample_say_so(tmp_path: Path) -> None:
    result = invoke("reward", str(PAIRS), "--backend", "fake", "--sample", "2", "-o", str(tmp_path / "r"))
    assert result.exit_code == 2 and "does not support --sample" in result.output


def test_fake_backend_is_hidden_from_users(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("JUDGEKIT_FAKE_BACKEND")
    result = invoke("judge", str(PAIRS), "--backend", "fake", "-o", str(tmp_path / "run"))
    assert result.exit_code == 2 and "choose from openai, scalar-rm, transformers, vllm" in result.output
    assert "fake" not in invoke("judge", "--help").output


def test_cache_info_and_prune(tmp_path: Path) -> None:
    cache = CallCache(tmp_path / "calls.sqlite")
    cache.put_many({"new": 1, "old": 2})
    with sqlite3.connect(tmp_path / "calls.sqlite") as conn:  # age one entry by ten days
        conn.execute("UPDATE calls SET created = ? WHERE key = 'old'", (time.time() - 10 * 86400,))
    cache.close()
    (tmp_path / "models" / "m").mkdir(parents=True)
    (tmp_path / "models" / "m" / "w.bin").write_bytes(b"x" * 1000)

    info = invoke("cache", "info", "--cache-dir", str(tmp_path))
    assert info.exit_code == 0, info.output
    assert "model calls" in info.output and " 2 " in info.output

    assert invoke("cache", "prune", "--cache-dir", str(tmp_path)).exit_code == 2  # nothing named
    pruned = invoke("cache", "prune", "--older-than", "7", "--cache-dir", str(tmp_path))
    assert pruned.exit_code == 0 and "removed 1, kept 1" in pruned.output
    cache = CallCache(tmp_path / "calls.sqlite")
    assert cache.get_many(["new", "old"]) == {"new": 1}
    cache.close()
    assert invoke("cache", "prune", "--all", "--models", "--cache-dir", str(tmp_path)).exit_code == 0
    assert len(CallCache(tmp_path / "calls.sqlite")) == 0 and not (tmp_path / "models").exists()


def test_a_cache_from_before_dated_entries_is_upgraded(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "calls.sqlite") as conn:
        conn.execute("CREATE TABLE calls (key TEXT PRIMARY KEY, value TEXT)")
        conn.execute("INSERT INTO calls VALUES ('k', '3')")
    cache = CallCache(tmp_path / "calls.sqlite")
    assert cache.get_many(["k"]) == {"k": 3}
    cache.put_many({"j": 4})
    assert cache.prune(older_than_s=3600) == 1  # the undated entry counts as old
    assert cache.get_many(["k", "j"]) == {"j": 4}
    cache.close()


def test_summary_table_says_what_the_rate_counts() -> None:
    from rich.console import Console

    from judgekit.cli.common import summary_table

    console = Console(record=True, width=120)
    console.print(summary_table({"items": 4, "judgments_per_s": 2.0, "tie_rate": 0.5, "position_consistency": 0.5}))
    text = console.export_text()
    assert "items judged / s" in text and "all orders of an item = 1" in text and "judgments_per_s" not in text
    assert "the judge said tie, or its two orders disagreed" in text and "what it means" in text


def test_quiet_libraries_keeps_library_warnings_off_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    import warnings

    from judgekit.cli.common import quiet_libraries

    for var in ("TRANSFORMERS_VERBOSITY", "TQDM_DISABLE", "HF_HUB_DISABLE_PROGRESS_BARS",
                "TRANSFORMERS_NO_ADVISORY_WARNINGS"):
        monkeypatch.delenv(var, raising=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        quiet_libraries()
        warnings.warn("`past_key_values` is deprecated", FutureWarning, stacklevel=1)
        warnings.warn("ours", RuntimeWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == ["ours"]
    assert os.environ["TQDM_DISABLE"] == "1" and os.environ["TRANSFORMERS_VERBOSITY"] == "error"


def test_conversion_pending_names_the_first_run_folder(tmp_path: Path) -> None:
    from judgekit.core.models import _MARKER, conversion_pending

    dest = conversion_pending(None, tmp_path)
    assert dest is not None and dest.parent == tmp_path / "models"
    assert conversion_pending("judgekit-135m", tmp_path) == dest  # the base is converted first
    dest.mkdir(parents=True)
    (dest / _MARKER).write_text("{}")
    assert conversion_pending("embedded", tmp_path) is None
    merged = conversion_pending("judgekit-135m", tmp_path)
    assert merged is not None and merged.name.startswith("judgekit-135m-")
    assert conversion_pending(str(tmp_path), tmp_path) is None  # a directory needs no conversion


def test_progress_bar_appears_at_the_first_update(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from rich.console import Console

    from judgekit.cli import common

    sink = io.StringIO()
    monkeypatch.setattr(common, "console", Console(file=sink, width=100, force_terminal=False))
    with common.progress_bar("judging"):
        pass  # an input error before any work: no empty bar
    assert sink.getvalue() == ""
    with common.progress_bar("judging") as update:
        update(0, 4)
        update(4, 4)
    assert "judging" in sink.getvalue() and "4/4" in sink.getvalue()
