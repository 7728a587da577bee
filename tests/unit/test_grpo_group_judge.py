"""Issue 30 item 2: the policy experiment's group judges (eval/grpo_judge_reward.py) on the fake backend.

The group judge is the listwise protocol in logit mode behind the real TRL adapter
(``trl_reward``); each step's record says what the ranking paid for.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "eval"))

import grpo_judge_reward as exp  # type: ignore[import-not-found]  # noqa: E402

from judgekit.backends.fake import FakeBackend  # noqa: E402
from judgekit.core.models import EMBEDDED_ALIASES  # noqa: E402
from judgekit.core.runner import Runner  # noqa: E402
from judgekit.core.types import Prompt  # noqa: E402
from judgekit.options import backend_kwargs  # noqa: E402
from judgekit.reward.policy_adapters import trl_reward  # noqa: E402

QUESTIONS = ["q1"] * 4 + ["q2"] * 4
REFERENCES = ["5"] * 4 + ["3"] * 4
COMPLETIONS = ["Let me think", "So 2 + 3 = 5.\n#### 5", "It is 4.\n#### 4", "Step by step",
               "Hmm", "#### 3", "I am not sure", "Let's break it down"]


def shown(prompt: Prompt) -> dict[str, str]:
    """The displayed responses of a listwise prompt, by label."""
    user = next(m.content for m in prompt.messages if m.role == "user")
    return {p[0]: p.split("\n", 1)[1].split("\n\n## ")[0].strip() for p in user.split("\n## Response ")[1:]}


def prefers_answers(prompt: Prompt, choices: Sequence[str]) -> Mapping[str, float]:
    """Label probabilities: a response with a '####' final answer 0.4, others 0.1; the longer text a little more."""
    texts = shown(prompt)
    return {c: (0.4 if "####" in texts.get(c, "") else 0.1) + 0.001 * len(texts.get(c, "")) for c in choices}


def first_label(prompt: Prompt, choices: Sequence[str]) -> Mapping[str, float]:
    """A purely positional judge: whatever is shown first wins, then second, ..."""
    return {c: 1.0 / (i + 1) for i, c in enumerate(choices)}


def group_judge(tmp_path: Path, responder: object) -> tuple[object, Path]:
    reward = exp.make_reward("group-listwise", backend="fake")
    reward.runner = Runner(FakeBackend(choice_responder=responder))
    log = tmp_path / "steps.jsonl"
    fn = exp.logged_reward(trl_reward(reward), log, {"let's think step by step"}, lambda: reward.last)
    return fn, log


def test_the_group_judge_is_listwise_logit_with_centred_rewards() -> None:
    described = exp.make_reward("group-listwise", backend="fake").describe()
    assert (described["protocol"], described["task"]) == ("listwise", "listwise")
    assert described["config"]["method"] == "logit"
    assert described["config"]["options"] == {"reward": "centred"}
    raw, trained = (backend_kwargs(exp.group_options(j))["model"] for j in ("group-listwise", "group-listwise-trained"))
    assert raw in EMBEDDED_ALIASES and trained == "judgekit-135m"  # not the default judge (judgekit-135m) twice
    with pytest.raises(SystemExit, match="unknown judge 'group-pmi'"):
        exp.make_reward("group-pmi", backend="fake")


def test_a_group_judge_ranks_each_questions_completions_and_logs_what_it_paid_for(tmp_path: Path) -> None:
    fn, log = group_judge(tmp_path, prefers_answers)
    rewards = fn(QUESTIONS, COMPLETIONS, question=QUESTIONS, reference=REFERENCES)
    assert len(rewards) == 8 and all(r is not None for r in rewards)
    for group in (rewards[:4], rewards[4:]):
        assert sum(group) == pytest.approx(0.0)  # centred: mean 0 within each group
    assert rewards[1] > rewards[2] > max(rewards[0], rewards[3])  # answered first, longer first
    assert rewards[5] > max(rewards[4], rewards[6], rewards[7])
    record = json.loads(log.read_text())
    assert record["groups"] == 2 and record["flat_groups"] == 0.0
    assert record["tied_best_groups"] == 0.0 and record["consistent_groups"] == 1.0
    assert record["reward_answered"] > 0 > record["reward_content_free"]
    assert record["reward_correct"] == pytest.approx((rewards[1] + rewards[5]) / 2)
    assert record["true_accuracy"] == 0.25 and record["content_free"] == 0.625
    assert len(record["reward_by_slot"]) == 4
    assert record["rewards"] == rewards


def test_a_positional_judge_gives_flat_groups_nothing_to_learn_from(tmp_path: Path) -> None:
    fn, log = group_judge(tmp_path, first_label)
    rewards = fn(QUESTIONS, COMPLETIONS, question=QUESTIONS, reference=REFERENCES)
    assert rewards == [0.0] * 8  # the Latin square shows each completion once in each position: equal mean ranks
    record = json.loads(log.read_text())
    assert record["flat_groups"] == 1.0 and record["tied_best_groups"] == 1.0
    assert record["consistent_groups"] == 0.0  # no two display orders picked the same best
    assert record["length_corr"] is None


def test_group_record_on_verifier_rewards() -> None:
    record = exp.group_record(["#### 5", "no", "#### 3", "maybe"], ["5", "5", "4", "4"], ["a", "a", "b", "b"],
                              [0.9, 0.2, None, 0.4])
    assert record["flat_groups"] == 0.0 and record["tied_best_groups"] == 0.0
    assert record["consistent_groups"] is None  # a verifier has no display orders
    assert record["reward_answered"] == 0.9 and record["reward_content_free"] == pytest.approx(0.3)
    assert record["reward_correct"] == 0.9
    assert record["reward_by_slot"] == [0.9, pytest.approx(0.3)]  # slot 0 of group b failed: left out
    assert record["length_corr"] == pytest.approx(0.9608, abs=1e-4)  # words 2, 1, 1 against rewards 0.9, 0.2, 0.4
    flat = exp.group_record(["a", "b"], ["1", "1"], ["g", "g"], [0.5, 0.5])
    assert flat["flat_groups"] == 1.0 and flat["tied_best_groups"] == 1.0


def test_the_report_adds_the_group_table_only_for_runs_that_logged_it(tmp_path: Path) -> None:
    old = {"mean_reward": 0.1, "content_free": 0.5, "key_like": 0.0, "true_accuracy": 0.0, "mean_words": 20.0}
    (tmp_path / "old" / "raw").mkdir(parents=True)
    (tmp_path / "old" / "raw" / "steps.jsonl").write_text(json.dumps(old) + "\n")
    alone = exp.report([tmp_path / "old"]).split("\n\n")
    assert len(alone) == 2 and "flat groups" not in alone[0]  # the step table and the block means
    assert alone[1].splitlines()[2] == "| raw | 1-1 | 0.500 | 0.000 | 20.0 | - | - | - | - |"
    new = {**old, **exp.group_record(["#### 5", "x"], ["5", "5"], ["g", "g"], [1.0, -1.0])}
    (tmp_path / "new" / "group-listwise").mkdir(parents=True)
    (tmp_path / "new" / "group-listwise" / "steps.jsonl").write_text(json.dumps(new) + "\n")
    lines = exp.report([tmp_path / "old", tmp_path / "new"]).splitlines()
    assert lines[2].startswith("| raw | 1 | 0.100 |") and lines[3].startswith("| group-listwise | 1 |")
    assert tuple(lines[5:7]) == exp.GROUP_HEADER
    assert lines[7] == ("| group-listwise | 1 | 0.00 | 0.00 | - | 1.000 | -1.000 | 1.000 | 1.00 / -1.00 | "
                        "1.00 |")
    assert tuple(lines[9:11]) == exp.BLOCK_HEADER


def test_block_means_cover_the_logged_steps_only() -> None:
    records = [{"content_free": v, "flat_groups": None if v > 0.5 else 1.0} for v in (0.0, 1.0, 0.5, 0.5, 1.0)]
    first = exp.block_means(records, 1, 4)
    assert first["content_free"] == 0.5 and first["flat_groups"] == 1.0  # step 2's missing value left out
    assert exp.block_means(records, 5, 12)["content_free"] == 1.0  # steps 6-12 were not logged
    assert exp.block_means(records, 5, 12)["true_accuracy"] is None


def test_the_block_table_ends_with_all_steps_once_there_are_two_blocks(tmp_path: Path) -> None:
    (tmp_path / "run" / "raw").mkdir(parents=True)
    rows = [{"mean_reward": 0.1, "content_free": float(i >= 4), "key_like": 0.0, "true_accuracy": 0.0,
             "mean_words": 10.0} for i in range(6)]
    (tmp_path / "run" / "raw" / "steps.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    blocks = exp.report([tmp_path / "run"]).split("\n\n")[-1].splitlines()[2:]
    assert [b.split(" | ")[1:3] for b in blocks] == [["1-4", "0.000"], ["5-6", "1.000"], ["1-6", "0.333"]]


def test_the_docs_tables_are_the_reports_output_of_the_kept_records() -> None:
    runs = [ROOT / "eval" / "results" / "grpo-policy-group", ROOT / "eval" / "results" / "grpo-policy-group-trained"]
    command = "python eval/grpo_judge_reward.py --report " + " ".join(str(r.relative_to(ROOT)) for r in runs)
    lines = (ROOT / "docs" / "policy_reward.md").read_text(encoding="utf-8").splitlines()
    tables, i = [], 0
    while i < len(lines):
        if lines[i] == f"<!-- numbers: {command} -->":
            j = i + 1
            while j < len(lines) and not lines[j].startswith("|"):
                j += 1
            table = []
            while j < len(lines) and lines[j].startswith("|"):
                table.append(lines[j])
                j += 1
            tables.append("\n".join(table))
            i = j
        else:
            i += 1
    assert tables == exp.report(runs).split("\n\n")
    for run in runs:  # 24 steps each, the settings of the verifier rows
        (log,) = run.glob("*/steps.jsonl")
        assert len(log.read_text().splitlines()) == 24
        settings = json.loads((run / "summary.json").read_text())["settings"]
        assert (settings["steps"], settings["max_completion"], settings["learning_rate"]) == ("24", "48", "5e-05")
