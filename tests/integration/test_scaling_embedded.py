"""k-sample judging, meta-RM training and the scaling curve on the real embedded model."""

from __future__ import annotations

import json
import re
from pathlib import Path

from judgekit.core.cache import CallCache
from judgekit.core.data import load_samples
from judgekit.core.formats import PAIRWISE
from judgekit.core.runner import Runner
from judgekit.judge import judge_samples
from judgekit.protocols.base import JudgeConfig, get_protocol
from judgekit.scaling.curve import run_scale
from judgekit.scaling.meta_rm import MetaRM, TrainConfig, rows_from_judgments, train_meta_rm


def llmbar(shared_data: Path, n: int):  # type: ignore[no-untyped-def]
    rows = load_samples(shared_data / "llmbar" / "llmbar.jsonl", "pairwise")
    return sorted(rows, key=lambda s: (len(s.prompt) + sum(map(len, s.responses)), s.id))[:n]


def test_k_samples_share_one_call_and_resume(embedded_backend, shared_data, tmp_path) -> None:  # type: ignore[no-untyped-def]
    samples = llmbar(shared_data, 2)
    cache = CallCache(tmp_path / "calls.sqlite")
    proto = get_protocol("pairwise", JudgeConfig(samples=3, temperature=0.9, max_new_tokens=40, seed=7))
    runner = Runner(embedded_backend, cache)
    judgments = judge_samples(samples, proto, runner)
    assert runner.stats.generate_calls == 1 and runner.stats.prompts_generated == 4  # 2 items x 2 orders
    texts = [t for j in judgments for turn in j.trace for t in turn.parsed["raw"]]
    assert len(texts) == 12
    for text in texts:
        assert re.fullmatch(PAIRWISE.regex, text), text
    again = Runner(embedded_backend, cache)
    assert [j.to_dict() for j in judge_samples(samples, proto, again)] == [j.to_dict() for j in judgments]
    assert again.stats.generate_calls == 0


def test_meta_rm_and_scaling_curve(embedded_backend, shared_data, tmp_path) -> None:  # type: ignore[no-untyped-def]
    samples = llmbar(shared_data, 3)
    runner = Runner(embedded_backend, CallCache(tmp_path / "calls.sqlite"))
    config = JudgeConfig(samples=2, temperature=0.7, max_new_tokens=40, seed=1)
    judged = judge_samples(samples, get_protocol("pairwise", config), runner)
    rows = rows_from_judgments(samples, judged)
    assert len(rows) == 3 * 2 * 2
    meta_dir = tmp_path / "meta"
    metrics = train_meta_rm(rows, meta_dir, TrainConfig(steps=2, batch_size=2, max_length=128, eval_fraction=0.3))
    assert metrics["eval_rows"] == 4 and (meta_dir / "model.safetensors").is_file()
    rm = MetaRM(meta_dir)
    pairs = [(r.prompt, r.judgment) for r in rows[:3]]
    assert MetaRM(meta_dir).score(pairs) == rm.score(pairs)

    result = run_scale(samples, get_protocol("pairwise", config), runner, [1, 2], tmp_path / "curve", scorer=rm.score)
    data = json.loads(result.json_path.read_text())
    assert [(p["method"], p["k"]) for p in data["points"]] == [
        ("greedy", 1), ("majority@k", 1), ("meta@k", 1), ("majority@k", 2), ("meta@k", 2),
    ]
    for p in data["points"]:
        assert p["n"] == 3 and p["ci"][0] <= p["accuracy"] <= p["ci"][1]
        assert round(p["accuracy"] * 3, 9) in (0, 1, 2, 3)  # a share of the 3 items, not any number in [0, 1]
    assert result.png_path.stat().st_size > 10_000
