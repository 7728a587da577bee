"""A CI-sized TRL GRPO run: the embedded model as policy, the embedded verifier as its reward.

Two steps, four short completions each: it proves the judge reward plugs into
GRPOTrainer end to end (one judge call per step, rewards logged by TRL), not that
the policy learns anything.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "eval"))

pytestmark = pytest.mark.integration


def test_two_grpo_steps_with_the_judge_reward(tmp_path: Path, shared_data: Path) -> None:
    import grpo_judge_reward as exp  # type: ignore[import-not-found]

    trainer = exp.build_trainer("answer-check", tmp_path, steps=2, questions=2, generations=2, prompts_per_step=2,
                                max_completion=12, learning_rate=1e-5, data=shared_data)
    trainer.train()
    steps = [json.loads(line) for line in (tmp_path / "steps.jsonl").read_text().splitlines()]
    assert len(steps) == 2  # one judge call per training step
    assert all(s["completions"] == 4 for s in steps)
    assert all(s["mean_reward"] is None or 0.0 <= s["mean_reward"] <= 1.0 for s in steps)
    logged = [h for h in trainer.state.log_history if "rewards/judge/mean" in h]
    assert len(logged) == 2
    for record, history in zip(steps, logged, strict=True):
        if record["reward_failures"] == 0:
            assert history["rewards/judge/mean"] == pytest.approx(record["mean_reward"], abs=1e-5)


def test_two_grpo_steps_with_a_group_reward(tmp_path: Path, shared_data: Path) -> None:
    """The listwise group judge (raw embedded model, logit mode) through TRL's group path, end to end."""
    import grpo_judge_reward as exp  # type: ignore[import-not-found]

    trainer = exp.build_trainer("group-listwise", tmp_path, steps=2, questions=2, generations=2, prompts_per_step=2,
                                max_completion=12, learning_rate=1e-5, data=shared_data)
    trainer.train()
    steps = [json.loads(line) for line in (tmp_path / "steps.jsonl").read_text().splitlines()]
    assert len(steps) == 2 and all(s["completions"] == 4 and s["groups"] == 2 for s in steps)
    for s in steps:
        rewards = s["rewards"]
        assert s["reward_failures"] == 0  # logit mode: every group of 2 gets a ranking
        for pair in (rewards[:2], rewards[2:]):  # one group per question, centred: the pair sums to 0
            assert sum(pair) == pytest.approx(0.0) and all(-1.0 <= r <= 1.0 for r in pair)
        assert s["consistent_groups"] is None or 0.0 <= s["consistent_groups"] <= 1.0
    logged = [h for h in trainer.state.log_history if "rewards/judge/mean" in h]
    assert len(logged) == 2
