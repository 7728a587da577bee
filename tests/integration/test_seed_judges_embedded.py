"""rlbff and activation-rm end to end on the embedded SmolLM2-135M (a few forward passes each)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from judgekit.cli import app

runner = CliRunner()

PAIRS = [
    {"id": "p1", "prompt": "What is the capital of France?", "chosen": "Paris.", "rejected": "Bananas are yellow."},
    {"id": "p2", "prompt": "Give a synonym of happy.", "chosen": "Joyful.", "rejected": "The weather is cold."},
]
SHOTS = [
    {"id": "s1", "prompt": "What is 2 + 2?", "chosen": "4.", "rejected": "I like trains."},
    {"id": "s2", "prompt": "Name a fruit.", "chosen": "An apple.", "rejected": "Seven."},
]


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_rlbff_logit_on_the_embedded_model(tmp_path: Path) -> None:
    data = _write(tmp_path / "pairs.jsonl", PAIRS[:1])
    result = runner.invoke(app, ["judge", str(data), "-p", "rlbff", "--method", "logit", "--model", "smollm2",
                                 "--principle", "The response answers the question.",
                                 "--principle", "The response is correct. (weight 2)",
                                 "-o", str(tmp_path / "run")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    row = json.loads((tmp_path / "run" / "results.jsonl").read_text().splitlines()[0])
    records = row["extra"]["rlbff"]
    assert len(records) == 2 and all(len(r["principles"]) == 2 for r in records)
    assert [p["weight"] for p in records[0]["principles"]] == [1.0, 2.0]
    for rec, score in zip(records, row["scores"], strict=True):
        ps = [p["p_yes"] for p in rec["principles"]]
        assert all(0.0 <= p <= 1.0 for p in ps) and abs(score - (ps[0] + 2 * ps[1]) / 3) < 1e-9
    assert row["verdict"] in ("A", "B", "tie")


def test_activation_rm_on_the_embedded_model(tmp_path: Path) -> None:
    data = _write(tmp_path / "pairs.jsonl", PAIRS)
    shots = _write(tmp_path / "shots.jsonl", SHOTS)
    args = ["judge", str(data), "-p", "activation-rm", "--model", "smollm2", "--option", f"fewshot={shots}",
            "--option", "layer=-2", "-o", str(tmp_path / "run")]
    result = runner.invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (tmp_path / "run" / "results.jsonl").read_text().splitlines()]
    assert all(r["verdict"] in ("A", "B", "tie") and len(r["scores"]) == 2 for r in rows)
    assert rows[0]["extra"]["activation"]["k"] == 2 and rows[0]["extra"]["activation"]["layer"] == 29
    clash = runner.invoke(app, ["judge", str(shots), "-p", "activation-rm", "--model", "smollm2",
                                "--option", f"fewshot={shots}", "-o", str(tmp_path / "clash")])
    assert clash.exit_code == 2 and "few-shot" in clash.output
