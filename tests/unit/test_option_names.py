"""A misspelt or inapplicable ``--option`` is an error on every protocol, never silently ignored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from judgekit.cli import app
from judgekit.core.errors import ConfigError
from judgekit.protocols.base import FLAG_OPTIONS, JudgeConfig, get_protocol, protocol_class, protocol_names


@pytest.mark.parametrize("name", protocol_names())
def test_every_protocol_refuses_an_unknown_option(name: str) -> None:
    methods = protocol_class(name).methods
    config = JudgeConfig(method=methods[0] if methods else "generative", options=(("bogus_option", "1"),))
    with pytest.raises(ConfigError, match="bogus_option"):
        get_protocol(name, config).check()


@pytest.mark.parametrize("name", protocol_names())
def test_declared_options_do_not_shadow_the_shared_flags(name: str) -> None:
    assert not set(protocol_class(name).option_names) & set(FLAG_OPTIONS)


@pytest.mark.parametrize("name", [n for n in protocol_names() if not protocol_class(n).flag_options])
def test_one_pass_scorers_refuse_the_shared_flags_options(name: str) -> None:
    methods = protocol_class(name).methods
    config = JudgeConfig(method=methods[0] if methods else "generative", options=(("k_meta", "2"),))
    with pytest.raises(ConfigError, match="k_meta"):
        get_protocol(name, config).check()


def test_a_near_miss_names_the_option_it_resembles() -> None:
    config = JudgeConfig(options=(("verify_mod", "rule"),))
    with pytest.raises(ConfigError, match="did you mean 'verify_mode'"):
        get_protocol("verify", config).check()


def test_pairwise_cli_exits_2_on_an_unknown_option(tmp_path: Path) -> None:
    data = tmp_path / "pairs.jsonl"
    data.write_text(json.dumps({"id": "1", "prompt": "hi", "response_a": "a", "response_b": "b", "label": "A"}) + "\n")
    res = CliRunner().invoke(app, ["judge", str(data), "-p", "pairwise", "--backend", "fake",
                                   "--option", "nonsense=1", "-o", str(tmp_path / "out")])
    assert res.exit_code == 2, res.output
    assert "nonsense" in res.output
    assert not (tmp_path / "out" / "summary.json").exists()


FIX = Path(__file__).parents[1] / "fixtures" / "benchmarks"


def test_eval_passes_a_companions_option_to_the_companion_only(tmp_path: Path) -> None:
    run = tmp_path / "long"
    res = CliRunner().invoke(app, ["eval", "longrewardbench", str(FIX / "longrewardbench"), "-p", "pairwise",
                                   "--backend", "fake", "--single-order", "--option", "permutations=identity",
                                   "-o", str(run), "--no-report"])
    assert res.exit_code == 0, res.output
    assert json.loads((run / "manifest.json").read_text())["config"]["options"] == {}
    assert json.loads((run / "listwise" / "manifest.json").read_text())["config"]["options"] == {
        "permutations": "identity"}


def test_eval_refuses_an_option_no_protocol_of_the_run_takes(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["eval", "llmbar", str(FIX / "llmbar_Dataset"), "-p", "pairwise",
                                   "--backend", "fake", "--option", "permutations=identity",
                                   "-o", str(tmp_path / "o"), "--no-report"])
    assert res.exit_code == 2, res.output
    assert "permutations" in res.output
