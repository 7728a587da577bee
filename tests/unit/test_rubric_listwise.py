"""The rubric judge's listwise mode (``-p rubric --option listwise=true``) on the fake backend."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from judgekit.backends.fake import FakeBackend
from judgekit.core.ranking import listwise_format
from judgekit.core.runner import Runner
from judgekit.core.types import GenerationParams, Prompt, Sample
from judgekit.protocols import ConfigError, JudgeConfig, get_protocol
from judgekit.protocols.listwise import ListwiseProtocol
from judgekit.protocols.rubric.generate import rubric_filename
from judgekit.protocols.rubric.listwise import RubricListwiseProtocol
from judgekit.protocols.rubric.protocol import RubricProtocol
from judgekit.protocols.rubric.schema import Rubric, RubricItem, save_rubric

GOOD, MID, BAD = "Paris is the capital of France.", "It is Paris, I think.", "Berlin."
ITEM = Sample(id="q1", prompt="Capital of France?", responses=(BAD, GOOD, MID), label="B")
RUBRIC = ("Hard rules (a response that breaks one loses):\n- Names the right city.\n"
          "Principles:\n- Is confident. (weight 2)")


def _shown(prompt: Prompt) -> list[str]:
    user = next(m.content for m in prompt.messages if m.role == "user")
    return sorted((GOOD, MID, BAD), key=user.index)


def fair(prompt: Prompt, index: int, params: GenerationParams) -> str:
    order = _shown(prompt)
    return "Reasoning: Paris is right.\nRanking: [[" + " > ".join(chr(65 + order.index(t)) for t in (GOOD, MID, BAD)) \
        + "]]"


def config(run_rubric: str | None = RUBRIC, **options: str) -> JudgeConfig:
    return JudgeConfig(rubric=run_rubric, options=tuple({"listwise": "true", **options}.items()))


def test_listwise_option_switches_the_rubric_judge_to_the_listwise_machinery() -> None:
    proto = get_protocol("rubric", config())
    assert isinstance(proto, RubricListwiseProtocol) and isinstance(proto, ListwiseProtocol)
    assert proto.task == "listwise" and proto.decoding()["rubric_mode"] == "listwise"
    assert type(get_protocol("rubric", config(listwise="false"))) is RubricProtocol
    assert get_protocol("rubric", JudgeConfig(rubric=RUBRIC)).task == "pairwise"


def test_rubric_ranks_all_orders_in_one_batch_under_the_permutation_constraint() -> None:
    backend = FakeBackend(responder=fair)
    (j,) = get_protocol("rubric", config()).judge([ITEM], Runner(backend))
    assert [c["prompts"] for c in backend.calls] == [6]  # 3! display orders, one call
    params = backend.calls[0]["params"]
    assert params.constraint is not None and params.constraint.pattern == listwise_format(3).regex
    assert j.verdict == "B" and j.consistent and not j.parse_failure
    assert j.extra["listwise"]["ranking"] == [1, 2, 0] and j.extra["rubric"]["hard_rules"]


def test_rubric_text_is_in_every_prompt_and_position_bias_is_a_tie() -> None:
    seen: list[str] = []

    def always_a(prompt: Prompt, index: int, params: GenerationParams) -> str:
        seen.append(prompt.as_text())
        return "Reasoning: the first.\nRanking: [[A > B > C]]"

    (j,) = get_protocol("rubric", config()).judge([ITEM], Runner(FakeBackend(responder=always_a)))
    assert len(seen) == 6 and all("Names the right city" in s and "## Rubric" in s for s in seen)
    assert j.verdict == "tie" and j.consistent is False


def test_unreadable_ranking_is_a_recorded_failure() -> None:
    def repeat(prompt: Prompt, index: int, params: GenerationParams) -> str:
        return "Reasoning: x\nRanking: [[A > A > B]]"

    (j,) = get_protocol("rubric", config()).judge([ITEM], Runner(FakeBackend(responder=repeat)))
    assert j.parse_failure and j.verdict is None and "ranked more than once" in str(j.failure_reason)


def test_per_item_rubrics_from_a_folder_and_a_missing_one_is_skipped(tmp_path: Path) -> None:
    save_rubric(Rubric(name="r", principles=(RubricItem("Mentions Paris.", 2.0),)), tmp_path / rubric_filename("q1"))
    other = Sample(id="q2", prompt="2+2?", responses=("4", "5"), label="A")
    seen: list[str] = []

    def record(prompt: Prompt, index: int, params: GenerationParams) -> str:
        seen.append(prompt.as_text())
        return fair(prompt, index, params)

    judged = get_protocol("rubric", config(None, rubric_dir=str(tmp_path))).judge(
        [ITEM, other], Runner(FakeBackend(responder=record)))
    assert judged[0].verdict == "B" and judged[0].extra["rubric"]["principles"]
    assert judged[1].verdict is None and not judged[1].parse_failure and "no rubric file" in str(judged[1].extra)
    assert len(seen) == 6 and all("Mentions Paris." in s for s in seen)


def test_options_are_checked() -> None:
    with pytest.raises(ConfigError, match="listwise='maybe'"):
        get_protocol("rubric", config(listwise="maybe"))
    with pytest.raises(ConfigError, match="rubric generation writes a rubric from a pair"):
        get_protocol("rubric", config(rubric="generate"))
    with pytest.raises(ConfigError, match="needs --rubric FILE"):
        get_protocol("rubric", config(None))
    with pytest.raises(ConfigError, match="unknown --option permutation"):
        get_protocol("rubric", config(permutation="latin"))
    proto = get_protocol("rubric", config(permutations="latin", min_agreement="0.6", reward="best"))
    assert proto.scheme == "latin" and proto.min_agreement == 0.6  # type: ignore[attr-defined]


def test_cli_judges_lists_with_a_rubric(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from judgekit.cli import app

    data = tmp_path / "lists.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in [
        {"id": "a", "prompt": "p", "responses": ["x", "yy", "zzz"], "ranking": [2, 1, 0]},
        {"id": "b", "prompt": "q", "responses": ["u", "v"], "best": 0}]))
    done = CliRunner().invoke(app, ["judge", str(data), "-p", "rubric", "--option", "listwise=true",
                                    "--rubric", "Be correct.", "--backend", "fake", "-o", str(tmp_path / "run")])
    assert done.exit_code == 0, done.output
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["listwise"]["listwise_items"] + summary["parse_failures"] == 2
    rows = [json.loads(line) for line in (tmp_path / "run" / "results.jsonl").read_text().splitlines()]
    assert all(r["extra"]["rubric"]["text"] == "Be correct." for r in rows if not r["parse_failure"])


def test_python_api_rank_uses_the_rubric_listwise_judge() -> None:
    from judgekit.api import Judge

    seen: list[str] = []

    def record(prompt: Prompt, index: int, params: GenerationParams) -> str:
        seen.append(prompt.as_text())
        return fair(prompt, index, params)

    judge = Judge(protocol="rubric", backend=FakeBackend(responder=record), rubric=RUBRIC,
                  option=("listwise=true",))
    j = judge.rank(ITEM.prompt, ITEM.responses)
    assert j.verdict == "B" and j.extra["rubric"]["hard_rules"] and all("Names the right city" in s for s in seen)
    plain = Judge(protocol="rubric", backend=FakeBackend(responder=fair), rubric=RUBRIC)
    assert plain.rank(ITEM.prompt, ITEM.responses).verdict == "B"  # pairwise rubric judge: rank() uses -p listwise
