"""``judgekit arena`` end to end on the fake backend: files, ranking, juries, resume, errors."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from typer.testing import CliRunner

from judgekit.arena.data import load_arena, schedule
from judgekit.arena.run import ArenaSettings, PanelJudge, run_arena
from judgekit.backends.fake import FakeBackend
from judgekit.cli import app
from judgekit.core.runner import Runner
from judgekit.core.types import Prompt
from judgekit.protocols.base import JudgeConfig, get_protocol

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "arena.jsonl"
cli = CliRunner()


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return cli.invoke(app, list(args), catch_exceptions=False)


def quality_choices(prompt: Prompt, choices: Sequence[str]) -> Mapping[str, float]:
    """Prefer the response with the higher 'quality N' marker (A is the first in the prompt)."""
    a, b = (int(x) for x in re.findall(r"quality (\d)", prompt.messages[-1].content)[:2])
    if a == b:
        return {"A": 0.2, "B": 0.2, "tie": 0.6}
    return {"A": 0.8, "B": 0.1, "tie": 0.1} if a > b else {"A": 0.1, "B": 0.8, "tie": 0.1}


def test_arena_recovers_the_quality_order(tmp_path: Path) -> None:
    rows = [json.dumps({"prompt_id": f"q{q}", "prompt": f"Question {q}?", "system": f"sys{s}",
                        "response": f"answer {q} quality {s}"}) for q in range(6) for s in range(4)]
    path = tmp_path / "long.jsonl"
    path.write_text("\n".join(rows))
    pairs = schedule(load_arena(path))
    proto = get_protocol("pairwise", JudgeConfig(method="logit"))
    judge = PanelJudge("fake", proto, lambda: Runner(FakeBackend(choice_responder=quality_choices)))
    summary = run_arena(pairs, [judge], tmp_path / "run", ArenaSettings(n_boot=100), input_path=path)
    board = summary["judge_leaderboard"]
    assert [r["system"] for r in board["rows"]] == ["sys3", "sys2", "sys1", "sys0"]
    assert summary["decided"] == summary["pairs"] == 6 * 6
    assert board["rows"][0]["wins"] == 18 and board["rows"][-1]["losses"] == 18
    assert (tmp_path / "run" / "arena_ratings.png").stat().st_size > 1000
    assert "human_leaderboard" not in summary  # no labels in the file: no human board invented


def test_cli_arena_outputs_report_and_resume(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = invoke("arena", str(EXAMPLE), "--backend", "fake", "-o", str(out), "--n-boot", "50")
    assert result.exit_code == 0, result.output
    assert "judge leaderboard" in result.output
    arena = json.loads((out / "arena.json").read_text())
    assert arena["pairs"] == 4 * 3 and arena["judge_leaderboard"]["systems"] == ["careful", "terse", "wrong"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["arena"]["layout"] == "long" and manifest["arena"]["systems"] == ["careful", "terse", "wrong"]
    html = (out / "report.html").read_text()
    assert "<h2>Arena</h2>" in html and "Judge leaderboard" in html and "<svg" in html
    for png in ("arena_ratings.png", "arena_winrate.png"):
        assert (out / png).exists()
    first = (out / "results.jsonl").read_text()
    again = invoke("arena", str(EXAMPLE), "--backend", "fake", "-o", str(out), "--n-boot", "50", "--no-report")
    assert again.exit_code == 0, again.output
    assert (out / "results.jsonl").read_text() == first
    assert json.loads((out / "summary.json").read_text())["resumed_items"] == 0  # finished run: cache, not partial
    assert json.loads((out / "summary.json").read_text())["runner"]["cache_misses"] == 0


def test_cli_jury_writes_each_judge_and_the_panel(tmp_path: Path) -> None:
    out = tmp_path / "jury"
    result = invoke("arena", str(EXAMPLE), "--backend", "fake", "-o", str(out), "--n-boot", "20", "--no-report",
                    "--judge", "name=gen,protocol=pairwise", "--judge", "name=logit,method=logit",
                    "--judge", "name=g2,seed=3,protocol=pairwise", "--judge", "name=pmi",
                    "--jury", "majority", "--split", "tie")
    assert result.exit_code == 0, result.output
    for name in ("gen", "logit", "g2", "pmi"):
        assert len((out / "judges" / name / "results.jsonl").read_text().splitlines()) == 12
        protocol = json.loads((out / "judges" / name / "manifest.json").read_text())["protocol"]
        assert protocol == ("pmi" if name == "pmi" else "pairwise")  # a juror without protocol/model: the default
    rows = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert all(set(r["extra"]["votes"]) == {"gen", "logit", "g2", "pmi"} for r in rows)
    assert all(r["verdict"] in ("A", "B", "tie") for r in rows)  # --split tie: a split is a tie
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["panel"]["method"] == "majority"
    assert set(manifest["panel"]["judges"]) == {"gen", "logit", "g2", "pmi"}
    arena = json.loads((out / "arena.json").read_text())
    kappas = set(arena["jury_stats"]["cohen_kappa_between_judges"])
    assert {"gen vs logit", "gen vs g2", "logit vs g2", "gen vs pmi"} <= kappas


def test_a_judge_that_cannot_parse_abstains(tmp_path: Path) -> None:
    pairs = schedule(load_arena(EXAMPLE))
    proto = get_protocol("pairwise", JudgeConfig())
    good = PanelJudge("good", proto, lambda: Runner(FakeBackend(script={"": "Verdict: [[A]]"}, model_id="good")))
    bad = PanelJudge("bad", proto, lambda: Runner(FakeBackend(script={"": "no idea"}, model_id="bad")))
    for judges in ([good, bad], [bad, good]):
        summary = run_arena(pairs, judges, tmp_path / judges[0].name, ArenaSettings(n_boot=10), plots=False)
        run_dir = tmp_path / judges[0].name
        rows = [json.loads(x) for x in (run_dir / "results.jsonl").read_text().splitlines()]
        alone = [json.loads(x) for x in (run_dir / "judges" / "good" / "results.jsonl").read_text().splitlines()]
        assert [r["verdict"] for r in rows] == [r["verdict"] for r in alone]
        assert all(r["verdict"] is not None and r["extra"]["abstained"] == ["bad"] for r in rows)
        assert summary["jury_stats"]["judges"]["bad"]["n"] == 0


def test_cli_errors_exit_2(tmp_path: Path) -> None:
    base = ("arena", str(EXAMPLE), "--backend", "fake", "-o", str(tmp_path / "x"))
    result = invoke(*base, "--judge", "modle=typo")
    assert result.exit_code == 2 and "unknown judge key" in result.output
    result = invoke(*base, "--jury", "loudest")
    assert result.exit_code == 2 and "--jury" in result.output
    result = invoke(*base, "--budget", "0")
    assert result.exit_code == 2 and "budget" in result.output
    result = invoke(*base, "--protocol", "verify")
    assert result.exit_code == 2 and "not pairwise" in result.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "Q", "system": "a", "response": "x"}\n{"prompt": "Q", "system": "a", "response": "y"}\n')
    result = invoke("arena", str(bad), "--backend", "fake")
    assert result.exit_code == 2 and "line 2" in result.output and "bad.jsonl" in result.output
