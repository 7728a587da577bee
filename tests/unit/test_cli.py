"""The CLI end to end on the fake backend: outputs, errors, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from judgekit.cli import app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_judge_bundled_example(tmp_path: Path) -> None:
    """Without -p a pairwise file is judged by the dev-chosen default (pmi), beside the baselines."""
    result = runner.invoke(app, ["judge", str(ROOT / "examples" / "pairs.jsonl"), "--backend", "fake",
                                 "-o", str(tmp_path)], env={"COLUMNS": "200"}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "accuracy" in result.output and "what it means" in result.output
    for row in ("length-controlled accuracy", "preferred longer / shorter", "baseline: position-first",
                "baseline: longer", "baseline: shorter", "baseline: random",
                "pmi on fake-model (the default for pairs"):
        assert row in result.output, row
    assert "order agreement" not in result.output  # pmi scores each response once: no orders to agree
    rows = (tmp_path / "results.jsonl").read_text().splitlines()
    assert len(rows) == len((ROOT / "examples" / "pairs.jsonl").read_text().splitlines())
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["protocol"] == "pmi" and manifest["protocol_choice"] == "default"
    assert manifest["config"]["options"] == {} and json.loads(rows[0])["extra"]["norm"] == "none"


def test_judge_bundled_example_pairwise_keeps_the_generative_judge(tmp_path: Path) -> None:
    result = invoke("judge", str(ROOT / "examples" / "pairs.jsonl"), "-p", "pairwise", "--backend", "fake",
                    "-o", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "order agreement" in result.output and "baseline: longer" in result.output
    assert "the default for pairs" not in result.output
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["protocol"] == "pairwise" and manifest["protocol_choice"] == "given"


def test_bad_input_exits_2_with_location(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "p", "chosen": "c", "rejected": "r"}\n{"prompt": "p", "chosen": "c"}\n')
    result = invoke("judge", str(bad), "--backend", "fake", "-o", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert "line 2" in result.output and "'rejected'" in result.output and "bad.jsonl" in result.output
    assert not (tmp_path / "out" / "results.jsonl").exists()


def test_bad_config_exits_2(tmp_path: Path) -> None:
    example = str(ROOT / "examples" / "pairs.jsonl")
    result = invoke("judge", example, "--backend", "fake", "--protocol", "pointwise", "--method", "logit")
    assert result.exit_code == 2 and "logit" in result.output
    result = invoke("judge", example, "--backend", "fake", "--protocol", "nope")
    assert result.exit_code == 2 and "unknown protocol" in result.output
    result = invoke("judge", example, "--backend", "fake", "--option", "novalue")
    assert result.exit_code == 2 and "key=value" in result.output


def test_verify_mode_and_column_flags(tmp_path: Path) -> None:
    data = tmp_path / "v.csv"
    data.write_text("q,gold,answer,ok\nWhat is 2+2?,4,It is 4,true\n")
    result = invoke("judge", str(data), "--backend", "fake", "--protocol", "verify", "--prompt-col", "q",
                    "--response-cols", "answer", "--reference-col", "gold", "--label-col", "ok",
                    "-o", str(tmp_path / "o"))
    assert result.exit_code == 0, result.output
    row = json.loads((tmp_path / "o" / "results.jsonl").read_text())
    assert row["verdict"] in ("correct", "incorrect") and row["reward"] in (0.0, 1.0)


def test_protocols_lists_the_spine() -> None:
    result = invoke("protocols")
    assert result.exit_code == 0
    for name in ("pairwise", "pointwise", "verify"):
        assert name in result.output


def test_shared_options_keep_a_commands_own_options() -> None:
    """Commands in modules using postponed annotations keep their own flags intact."""
    import typer

    from judgekit.cli.options import with_judge_options
    from judgekit.options import JudgeOptions

    sub = typer.Typer()
    seen: dict[str, object] = {}

    @sub.command()
    @with_judge_options
    def cmd(file: Path, opts: JudgeOptions, tries: int = 1) -> None:
        seen.update(file=file, tries=tries, out=opts.output, protocol=opts.protocol, samples=opts.samples)

    @sub.command()
    def other() -> None:
        """Second command so typer keeps subcommand names."""

    result = runner.invoke(sub, ["cmd", "f.jsonl", "--tries", "2", "--out", "y", "-p", "verify", "--samples", "3"])
    assert result.exit_code == 0, result.output
    assert seen == {"file": Path("f.jsonl"), "tries": 2, "out": Path("y"), "protocol": "verify", "samples": 3}
