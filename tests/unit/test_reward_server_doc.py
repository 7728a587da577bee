"""Issue 29 item 14a/14d: docs/reward_server.md holds eval/bench_reward_server.py's output verbatim."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "eval"))

import bench_reward_server  # type: ignore[import-not-found]  # noqa: E402
import grpo_judge_reward  # type: ignore[import-not-found]  # noqa: E402

COMMAND = ("python eval/bench_reward_server.py --fake-latency-ms 50 --fake-per-item-ms 2 --requests-per-client 4 "
           "--items 2")


def doc_table() -> list[str]:
    lines = (ROOT / "docs" / "reward_server.md").read_text(encoding="utf-8").splitlines()
    start = lines.index(f"<!-- numbers: {COMMAND} -->")
    table = []
    for line in lines[start + 1 :]:
        if line.startswith("|"):
            table.append(line)
        elif table:
            break
    return table


def test_the_simulated_table_is_the_scripts_output() -> None:
    table = doc_table()
    assert tuple(table[:2]) == bench_reward_server.HEADER
    rows = []
    for line in table[2:]:
        m = re.fullmatch(r"\| (\d+) \| (on|off) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \| (\d+) / (\d+) requests \|", line)
        assert m, f"not a line the script prints: {line!r}"
        clients, batching, jps, p50, p95, batches, requests = m.groups()
        rows.append({"clients": int(clients), "batching": batching == "on", "judgments_per_s": float(jps),
                     "p50_s": float(p50), "p95_s": float(p95), "batches": int(batches), "requests": int(requests)})
    assert [(r["clients"], r["batching"]) for r in rows] == [(c, b) for c in (1, 4, 16) for b in (False, True)]
    assert all(r["requests"] == 4 * r["clients"] for r in rows)  # --requests-per-client 4
    assert bench_reward_server.table(rows) == table  # the cells are exactly what table() formats


def test_scripts_read_shared_data_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUDGEKIT_SHARED_DATA", str(tmp_path))
    assert grpo_judge_reward.shared_data() == tmp_path
    assert bench_reward_server.data_file().is_relative_to(tmp_path)
    rows = tmp_path / "gsm8k_verification" / "gsm8k_verification.jsonl"
    rows.parent.mkdir()
    rows.write_text('{"question": "1+1?", "candidate_solution": "2", "reference_answer": "2"}\n')
    assert bench_reward_server.payloads(1, 1)[0]["labels"] == ["2"]
