"""The arena end to end on the real embedded model: a few systems and prompts, logit mode."""

from __future__ import annotations

import json
from pathlib import Path

from judgekit.arena.data import load_arena, schedule
from judgekit.arena.run import ArenaSettings, PanelJudge, run_arena
from judgekit.core.cache import CallCache
from judgekit.core.runner import Runner
from judgekit.protocols.base import JudgeConfig, get_protocol

ROOT = Path(__file__).resolve().parents[2]


def test_arena_logit_and_jury_on_the_embedded_model(embedded_backend, tmp_path) -> None:  # type: ignore[no-untyped-def]
    pairs = schedule(load_arena(ROOT / "examples" / "arena.jsonl", limit=2))  # 3 systems x 2 prompts = 6 pairs
    cache = CallCache(tmp_path / "calls.sqlite")
    logit = get_protocol("pairwise", JudgeConfig(method="logit", inconsistency="average"))
    first = get_protocol("pairwise", JudgeConfig(method="logit", inconsistency="first"))
    judges = [PanelJudge("avg", logit, lambda: Runner(embedded_backend, cache)),
              PanelJudge("first", first, lambda: Runner(embedded_backend, cache))]
    summary = run_arena(pairs, judges, tmp_path / "run", ArenaSettings(jury="mean-prob", n_boot=100))
    assert summary["pairs"] == 6
    rows = [json.loads(x) for x in (tmp_path / "run" / "results.jsonl").read_text().splitlines()]
    for r in rows:  # every verdict is a real one from probabilities, or a recorded split/failure
        assert r["verdict"] in ("A", "B", "tie") or r["failure_reason"]
    for name in ("avg", "first"):
        lines = (tmp_path / "run" / "judges" / name / "results.jsonl").read_text().splitlines()
        judged = [json.loads(x) for x in lines]
        assert all(j["probs"] and abs(sum(j["probs"].values()) - 1) < 1e-6 for j in judged)
    board = summary["judge_leaderboard"]
    assert sorted(r["system"] for r in board["rows"]) == ["careful", "terse", "wrong"]
    for r in board["rows"]:
        assert r["ci"][0] <= r["rating"] <= r["ci"][1]
    assert (tmp_path / "run" / "arena_winrate.png").exists()
    # the second judge shares every forward pass with the first (same prompts, same cache)
    again = run_arena(pairs, judges, tmp_path / "again", ArenaSettings(jury="mean-prob", n_boot=100))
    assert again["judge_leaderboard"]["rows"] == board["rows"]
