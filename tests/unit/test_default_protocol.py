"""The dev-chosen default protocol (issue #27 item 7): who gets pmi, who keeps the model's own verdict.

Without ``-p`` a pairwise file is judged by ``pmi`` on the raw base; an explicit
``--model``/``--method`` (or a backend object in the API) keeps meaning that model's own
verdict (``pairwise``). Commands whose output is a verdict trace (distill, rationalize,
scale, meta-rm data) default to ``pairwise``; ``judgekit reward`` follows the defaults
(hybrid verifier with references, ``pmi-pointwise`` without).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from judgekit.cli import app
from judgekit.core.errors import ConfigError
from judgekit.options import (
    DEFAULT_PROTOCOL,
    JudgeOptions,
    backend_kwargs,
    build_protocol,
    default_protocol,
    protocol_of,
    resolved,
)
from judgekit.protocols.base import JudgeConfig, get_protocol

ROOT = Path(__file__).resolve().parents[2]
PAIRS = ROOT / "examples" / "pairs.jsonl"


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"}, catch_exceptions=False)


def test_the_rule() -> None:
    assert DEFAULT_PROTOCOL == "pmi" and JudgeOptions().protocol is None
    assert default_protocol(JudgeOptions()) == "pmi"
    assert default_protocol(JudgeOptions(model="org/judge")) == "pairwise"
    assert default_protocol(JudgeOptions(method="logit")) == "pairwise"
    assert protocol_of(JudgeOptions(protocol="verify", model=None)) == "verify"
    assert resolved(JudgeOptions(), "pairwise").protocol == "pairwise"
    assert resolved(JudgeOptions(protocol="flip"), "pairwise").protocol == "flip"
    # the default runs on the model it was measured with, with the normalisation chosen on dev
    assert backend_kwargs(JudgeOptions())["model"] == "smollm2"
    assert build_protocol(JudgeOptions()).norm == "none"  # type: ignore[attr-defined]
    assert backend_kwargs(JudgeOptions(protocol="pairwise"))["model"] == "judgekit-135m"


def test_a_flag_the_default_cannot_honour_says_how_to_get_the_generative_judge() -> None:
    with pytest.raises(ConfigError, match=r"--samples does not apply.*without -p the protocol is pmi.*-p pairwise"):
        build_protocol(JudgeOptions(samples=4, temperature=0.7))
    with pytest.raises(ConfigError) as given:  # an explicit -p pmi gets the plain message
        build_protocol(JudgeOptions(protocol="pmi", samples=4, temperature=0.7))
    assert "without -p" not in str(given.value)


def test_judge_model_or_method_without_p_is_that_models_verdict(tmp_path: Path) -> None:
    for flags, name in ((["--model", "some-judge"], "model"), (["--method", "logit"], "logit")):
        res = invoke("judge", str(PAIRS), "--backend", "fake", "--limit", "2", *flags, "-o", str(tmp_path / name))
        assert res.exit_code == 0, res.output
        manifest = json.loads((tmp_path / name / "manifest.json").read_text())
        assert manifest["protocol"] == "pairwise" and manifest["protocol_choice"] == "default"
        assert "order agreement" in res.output


def test_judge_samples_without_p_is_one_clear_error(tmp_path: Path) -> None:
    res = invoke("judge", str(PAIRS), "--backend", "fake", "--samples", "3", "-o", str(tmp_path / "o"))
    assert res.exit_code == 2 and "-p pairwise" in " ".join(res.output.split())
    assert not (tmp_path / "o").exists()


def test_default_run_dir_names_the_default_protocol(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    res = invoke("judge", str(PAIRS), "--backend", "fake", "--limit", "2")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "runs" / "pairs-pmi-generative" / "manifest.json").is_file()


def _rows(path: Path, reference: bool) -> Path:
    rows = [{"id": f"r{i}", "prompt": "What is 2+2?", "completion": f"The answer is {4 + i}.",
             **({"reference": "4"} if reference else {})} for i in range(2)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.mark.parametrize(("reference", "flags", "protocol"), [
    (True, [], "verify"),
    (False, [], "pmi-pointwise"),
    (False, ["--model", "some-judge"], "pointwise"),
    (False, ["-p", "likelihood-pointwise"], "likelihood-pointwise"),
])
def test_reward_follows_the_defaults(tmp_path: Path, reference: bool, flags: list[str], protocol: str) -> None:
    data = _rows(tmp_path / "rows.jsonl", reference)
    res = invoke("reward", str(data), "--backend", "fake", "--no-cache", *flags, "-o", str(tmp_path / "run"))
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "run" / "manifest.json").read_text())["judge"]["protocol"] == protocol
    rewards = [json.loads(x)["reward"] for x in (tmp_path / "run" / "rewards.jsonl").read_text().splitlines()]
    assert len(rewards) == 2 and all(r is not None for r in rewards)
    if protocol == "verify":
        assert rewards == [1.0, 0.0]  # the hybrid verifier's rules decide 4 vs 5


def test_verdict_trace_commands_default_to_pairwise(tmp_path: Path) -> None:
    res = invoke("train", "distill", str(PAIRS), "--backend", "fake", "--samples", "2", "--limit", "2",
                 "-o", str(tmp_path / "sft.jsonl"))
    assert res.exit_code == 0, res.output
    assert "2 sample(s) per item and order" in res.output
    res = invoke("meta-rm", "data", str(PAIRS), "--backend", "fake", "--samples", "2", "--limit", "2",
                 "-o", str(tmp_path / "d"))
    assert res.exit_code == 0, res.output
    assert len((tmp_path / "d" / "meta_rows.jsonl").read_text().splitlines()) == 2 * 2 * 2


def test_probe_pairwise_attacks_follow_the_default_and_p_pairwise_keeps_the_verdict_judge(tmp_path: Path) -> None:
    for flags, name, protocol in (([], "d", "pmi"), (["-p", "pairwise"], "p", "pairwise")):
        res = invoke("probe", str(PAIRS), "-a", "position", "--backend", "fake", "--limit", "3", *flags,
                     "-o", str(tmp_path / name))
        assert res.exit_code == 0, res.output
        report = json.loads((tmp_path / name / "probe.json").read_text())
        assert report["protocol"] == protocol and "baseline: longer" in res.output
    # pmi scores each response on its own: the two display orders always agree
    rates = json.loads((tmp_path / "d" / "probe.json").read_text())["attacks"]["position"]["settings"]["raw"]["rates"]
    consistency = [r for r in rates if r["metric"] == "consistency"]
    assert consistency and all(r["rate"] == 1.0 for r in consistency)


@pytest.mark.parametrize("name", ["scalar-rm", "activation-rm", "pmi", "combined"])
def test_protocols_without_a_verdict_prompt_list_no_method_and_refuse_one(name: str) -> None:
    listing = invoke("protocols").output
    line = next(x for x in listing.splitlines() if f" {name} " in x)
    assert "generative" not in line and "logit" not in line
    with pytest.raises(ConfigError, match="--method does not apply"):
        get_protocol(name, JudgeConfig(method="logit"))


def test_train_rm_says_what_is_wrong_with_the_data_dir(tmp_path: Path) -> None:
    res = invoke("train", "rm", "--data-dir", str(tmp_path / "missing"))
    assert res.exit_code == 2 and "the directory does not exist" in res.output and "llmbar" not in res.output
    (tmp_path / "empty").mkdir()
    res = invoke("train", "rm", "--data-dir", str(tmp_path / "empty"))
    assert res.exit_code == 2 and "not the shared data folder" in " ".join(res.output.split())
    res = invoke("train", "rm", "--data-dir", str(PAIRS))
    assert res.exit_code == 2 and "not a directory" in res.output


@pytest.mark.parametrize(("module", "args", "protocol"), [
    ("rubrics", ["rubrics", "generate", str(PAIRS)], "rubric"),
    ("esfp", ["esfp", "compare", str(PAIRS)], "pairwise"),
])
def test_generative_commands_build_their_runner_for_a_verdict_judge(
        monkeypatch: pytest.MonkeyPatch, module: str, args: list[str], protocol: str) -> None:
    """Rubric generation and ESFP explanations need a model that writes text: not the pmi default's base."""
    import importlib

    seen: list[JudgeOptions] = []

    def capture(opts: JudgeOptions, *_: object) -> None:
        seen.append(opts)
        raise ConfigError("stop here")

    monkeypatch.setattr(importlib.import_module(f"judgekit.cli.{module}"), "build_runner", capture)
    res = invoke(*args, "--backend", "fake")
    assert res.exit_code == 2 and "stop here" in res.output
    assert seen[0].protocol == protocol
    assert backend_kwargs(replace(seen[0], backend="transformers"))["model"] == "judgekit-135m"
