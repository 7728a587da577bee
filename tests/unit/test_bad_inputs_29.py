"""Issue 29 item 11: every listed bad input is one clear line and exit 2, never a traceback or a misparse."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from judgekit.backends.http_util import RetryPolicy
from judgekit.backends.openai import OpenAIBackend
from judgekit.cli.app import app
from judgekit.core.cache import CacheError, CallCache
from judgekit.core.data import DataError, load_samples
from judgekit.core.errors import ConfigError
from judgekit.core.types import Message, Prompt

HEAD = '{"prompt": "q", "response_a": "a", "response_b": "b", "label": "A"'
BAD_FILES = {
    "surrogate.jsonl": '{"prompt": "q\\ud800", "response_a": "a", "response_b": "b", "label": "A"}\n',
    "deep.jsonl": '{"prompt": ' + "[" * 100_000 + "]" * 100_000 + ', "response_a": "a", "response_b": "b"}\n',
    "deep.json": "[" * 100_000 + "]" * 100_000,
    "bigint.jsonl": HEAD + ', "score": ' + "9" * 5000 + "}\n",
    "unterminated.csv": 'prompt,response_a,response_b,label\nq,a,"b,A\nq2,a2,b2,B\n',
}
REASONS = {"surrogate.jsonl": "lone surrogate", "deep.jsonl": "nested too deeply", "deep.json": "nested too deeply",
           "bigint.jsonl": "4300 digits", "unterminated.csv": "unterminated quoted field"}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_file_is_one_line_and_exit_2(tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUDGEKIT_FAKE_BACKEND", "1")
    path = tmp_path / name
    path.write_text(BAD_FILES[name], encoding="utf-8", errors="surrogatepass")
    with pytest.raises(DataError, match=REASONS[name]):
        load_samples(path, "pairwise")
    result = CliRunner().invoke(app, ["judge", str(path), "--backend", "fake", "-o", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and name in result.output


def test_unterminated_quote_in_the_last_column_is_not_misparsed(tmp_path: Path) -> None:
    path = tmp_path / "last.csv"
    path.write_text('prompt,response_a,response_b,label\nq,a,b,"A\nq2,a2,b2,B\n', encoding="utf-8")
    with pytest.raises(DataError, match="line 2.*unterminated"):
        load_samples(path, "pairwise")


def test_a_long_csv_field_is_read(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    path.write_text("prompt,response_a,response_b,label\nq," + "x" * 140_000 + ",b,A\n", encoding="utf-8")
    assert len(load_samples(path, "pairwise")[0].responses[0]) == 140_000


def test_a_full_disk_under_the_call_cache_is_a_cache_error(tmp_path: Path) -> None:
    cache = CallCache(tmp_path / "calls.sqlite")
    cache._conn.execute("PRAGMA max_page_count = 8")  # what a full disk looks like to SQLite
    with pytest.raises(CacheError, match="calls.sqlite.*full"):
        cache.put_many({f"k{i}": "x" * 4000 for i in range(50)})
    assert issubclass(CacheError, ConfigError)  # the CLI's user_errors: one line, exit 2
    with pytest.raises(CacheError):
        (tmp_path / "bad.sqlite").write_bytes(b"not a database" * 100)
        CallCache(tmp_path / "bad.sqlite")


def test_constraint_style_none_cannot_continue_a_prefix_in_chat_mode() -> None:
    backend = OpenAIBackend("http://127.0.0.1:9/v1", "m", api_key_env="", constraint_style="none",
                            retry_policy=RetryPolicy(max_retries=0),
                            transport=httpx.MockTransport(lambda r: httpx.Response(500)))
    prompt = Prompt((Message("user", "q"),), template="t", template_hash="h", assistant_prefix="Verdict: [[")
    with pytest.raises(ConfigError, match="--api-mode completions"):
        backend.score_choices([prompt], ["A", "B"])


def test_a_full_disk_under_the_cache_ends_a_judge_run_with_one_line(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    opened = CallCache._open

    class FullDisk:  # the connection as SQLite behaves once the disk is full: reads work, writes fail
        def __init__(self, conn: sqlite3.Connection) -> None:
            self.conn = conn

        def executemany(self, *args: object) -> None:
            raise sqlite3.OperationalError("database or disk is full")

        def __getattr__(self, name: str) -> object:
            return getattr(self.conn, name)

    def full_after_open(self: CallCache) -> None:
        opened(self)
        self._conn = FullDisk(self._conn)  # type: ignore[assignment]

    monkeypatch.setattr(CallCache, "_open", full_after_open)
    monkeypatch.setenv("JUDGEKIT_FAKE_BACKEND", "1")
    pairs = Path(__file__).resolve().parents[2] / "examples" / "pairs.jsonl"
    result = CliRunner().invoke(app, ["judge", str(pairs), "--backend", "fake", "--cache-dir", str(tmp_path / "c"),
                                      "-o", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert "call cache failed" in result.output and "Traceback" not in result.output
