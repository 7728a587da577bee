"""Scalar RMs end to end on a tiny random LlamaForSequenceClassification (built in a tmp dir, seconds on CPU).

`judgekit judge -p scalar-rm` (pairwise, pointwise, cache, exact ties, too-long items), `judgekit train rm`
for 2 steps with every option, the trained directory judged again, and a scalar RM as a policy reward.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from judgekit.cli import app

runner = CliRunner()


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def tiny_rm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForSequenceClassification

    from judgekit.core.models import resolve_model

    out = tmp_path_factory.mktemp("tiny_rm")
    tok = AutoTokenizer.from_pretrained(str(resolve_model(None).path))  # the embedded model's tokenizer + template
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                      num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=512, num_labels=1,
                      pad_token_id=tok.pad_token_id)
    LlamaForSequenceClassification(cfg).save_pretrained(out)
    tok.save_pretrained(out)
    return out


def _pairs(path: Path) -> Path:
    rows = [
        {"id": "1", "prompt": "Name a colour.", "response_a": "Blue.", "response_b": "I like turtles.", "label": "A"},
        {"id": "2", "prompt": "Say hi.", "response_a": "hello", "response_b": "hello", "label": "A"},  # exact tie
        {"id": "3", "prompt": "Add 2 and 2.", "response_a": "5", "response_b": "4", "label": "B"},
        {"id": "4", "prompt": "Echo this. " * 200, "response_a": "ok", "response_b": "no", "label": "A"},  # too long
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_judge_scalar_rm_pairwise_cached_ties_and_too_long(tiny_rm: Path, tmp_path: Path) -> None:
    data = _pairs(tmp_path / "pairs.jsonl")
    result = invoke("judge", str(data), "-p", "scalar-rm", "--model", str(tiny_rm), "-o", str(tmp_path / "r1"))
    assert result.exit_code == 0, result.output
    rows = {r["sample_id"]: r for r in map(json.loads, (tmp_path / "r1" / "results.jsonl").read_text().splitlines())}
    assert rows["2"]["verdict"] == "tie" and rows["2"]["extra"]["tie"] == "exact" and rows["2"]["reward"] == 0.5
    for key in ("1", "3"):
        a, b = rows[key]["scores"]
        assert rows[key]["verdict"] == ("A" if a > b else "B") and rows[key]["consistent"] is True
    assert rows["4"]["verdict"] is None and "limit 512" in rows["4"]["extra"]["skipped"]  # never truncated
    manifest = json.loads((tmp_path / "r1" / "manifest.json").read_text())
    assert manifest["backend"]["backend"] == "scalar-rm" and manifest["backend"]["model_id"].startswith(tiny_rm.name)
    again = invoke("judge", str(data), "-p", "scalar-rm", "--model", str(tiny_rm), "-o", str(tmp_path / "r2"))
    assert again.exit_code == 0
    summary = json.loads((tmp_path / "r2" / "summary.json").read_text())
    assert summary["runner"]["cache_hits"] == 5 and summary["runner"]["cache_misses"] == 0, summary["runner"]
    swapped = tmp_path / "swapped.jsonl"
    swapped.write_text("".join(json.dumps({**r, "response_a": r["response_b"], "response_b": r["response_a"]}) + "\n"
                               for r in map(json.loads, data.read_text().splitlines())))
    flipped = invoke("judge", str(swapped), "-p", "scalar-rm", "--model", str(tiny_rm), "-o", str(tmp_path / "r3"))
    assert flipped.exit_code == 0
    rows3 = {r["sample_id"]: r for r in map(json.loads, (tmp_path / "r3" / "results.jsonl").read_text().splitlines())}
    assert rows3["1"]["scores"] == rows["1"]["scores"][::-1]  # order-free: same scores, swapped


def test_scalar_rm_refusals(tiny_rm: Path, tmp_path: Path) -> None:
    data = _pairs(tmp_path / "pairs.jsonl")
    result = invoke("judge", str(data), "-p", "scalar-rm", "-o", str(tmp_path / "x"))
    assert result.exit_code == 2 and "--model" in result.output
    result = invoke("judge", str(data), "-p", "scalar-rm", "--model", str(tmp_path), "-o", str(tmp_path / "y"))
    assert result.exit_code == 2 and "config.json" in result.output


def test_scalar_rm_pointwise_and_policy_reward(tiny_rm: Path) -> None:
    from judgekit.backends import get_backend
    from judgekit.core.runner import Runner
    from judgekit.protocols.base import JudgeConfig, get_protocol
    from judgekit.reward.policy import PolicyReward, RewardItem

    backend = get_backend("scalar-rm", model=str(tiny_rm))
    items = [RewardItem("a", "Name a colour.", "Blue."), RewardItem("b", "Name a colour.", "I like turtles.")]
    reward = PolicyReward(get_protocol("scalar-rm-pointwise", JudgeConfig()), Runner(backend=backend))
    got = reward.rewards(items)
    direct = backend.rewards([("Name a colour.", "Blue."), ("Name a colour.", "I like turtles.")])
    assert got == pytest.approx(direct) and got[0] != got[1]


def test_train_rm_two_steps_then_judge_with_it(tiny_rm: Path, tmp_path: Path, shared_data: Path) -> None:
    out = tmp_path / "rm"
    result = invoke("train", "rm", "--model", str(tiny_rm), "--data-dir", str(shared_data), "--sources", "hhh",
                    "--limit", "12", "--max-steps", "2", "--batch-size", "2", "--max-length", "256",
                    "--eval-limit", "6", "--noise", "0.25", "--label-smoothing", "0.1", "--margin", "0.5",
                    "--collaborative", "--drop", "0.25", "-o", str(out))
    assert result.exit_code == 0, result.output
    report = json.loads((out / "rm.json").read_text())
    assert report["data"]["flipped"] == 3 and report["fit"]["steps"] == 2
    col = report["collaborative"]
    assert col["kept"] + col["dropped"] == 12 and col["dropped"] == 4  # round(0.25 * 6) = 2 from each half
    ev = report["eval"]
    assert set(ev["rows"]) == {"rm", "always_first", "longer", "shorter"} and "length_controlled" in ev["rows"]["rm"]
    assert "beats the best baseline" in result.output or "does NOT beat" in result.output
    data = _pairs(tmp_path / "pairs.jsonl")
    judged = invoke("judge", str(data), "-p", "scalar-rm", "--model", str(out), "-o", str(tmp_path / "run"))
    assert judged.exit_code == 0, judged.output
    bad = invoke("train", "rm", "--model", str(tiny_rm), "--data-dir", str(shared_data), "--noise", "0.7",
                 "-o", str(tmp_path / "bad"))
    assert bad.exit_code == 2 and "--noise" in bad.output
