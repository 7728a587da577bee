"""Listwise judging: the permutation constraint, strict parsing, display orders, mean-rank combining, metrics."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pytest

from judgekit.backends.fake import FakeBackend
from judgekit.backends.gbnf import regex_to_gbnf
from judgekit.core.data import DataError, load_samples
from judgekit.core.metrics import summarize
from judgekit.core.rank_aggregate import combine_rankings, rank_rewards
from judgekit.core.rank_metrics import kendall_tau, ndcg
from judgekit.core.ranking import display_orders, listwise_format, parse_ranking, permutation_regex, to_original
from judgekit.core.runner import Runner
from judgekit.core.types import GenerationParams, ParseFailure, Prompt, Sample, Verdict
from judgekit.protocols import ConfigError, JudgeConfig, get_protocol


@pytest.mark.parametrize("n", [2, 3, 4])
def test_regex_admits_exactly_the_permutations(n: int) -> None:
    labels = [chr(ord("A") + i) for i in range(n)]
    pattern = re.compile(listwise_format(n).regex)
    for combo in itertools.product(labels, repeat=n):
        text = "Reasoning: x\nRanking: [[" + " > ".join(combo) + "]]"
        assert bool(pattern.fullmatch(text)) == (len(set(combo)) == n), combo


def test_regex_translates_to_gbnf_for_llamacpp() -> None:
    grammar = regex_to_gbnf(listwise_format(4).regex)
    assert "root" in grammar and "Ranking" in grammar
    assert permutation_regex(("A", "B")) == "(A > B|B > A)"


@pytest.mark.parametrize(("text", "reason"), [
    ("Ranking: [[A > A > C]]", "ranked more than once"),
    ("Ranking: [[A > B]]", "missing from the ranking"),
    ("Ranking: [[A > B > D]]", "unknown label"),
    ("Reasoning: no verdict", "no 'Ranking:' line"),
    ("Ranking: A > B > C", "no [[...]] ranking"),
])
def test_non_permutations_are_recorded_failures(text: str, reason: str) -> None:
    parsed = listwise_format(3).parse(text)
    assert isinstance(parsed, ParseFailure) and reason in parsed.reason


def test_parse_reads_the_last_ranking_line() -> None:
    parsed = parse_ranking("Reasoning: Ranking: [[A > B > C]] is wrong\nRanking: [[c > a > b]]", 3)
    assert isinstance(parsed, Verdict) and parsed.label == "C>A>B" and parsed.scores == (1.0, 0.0, 2.0)
    assert to_original("C>A>B", (2, 0, 1)) == (1, 2, 0)


def test_display_orders() -> None:
    assert len(display_orders(3)) == 6 and display_orders(3)[0] == (0, 1, 2)
    latin = display_orders(4)
    assert len(latin) == 4 and all(sorted(o[p] for o in latin) == [0, 1, 2, 3] for p in range(4))
    rand = display_orders(5, "random", k=3, seed=1, key="x")
    assert len(set(rand)) == 3 and rand[0] == tuple(range(5)) and rand == display_orders(5, "random", 3, 1, "x")
    assert display_orders(4, "identity") == [(0, 1, 2, 3)]
    with pytest.raises(ValueError):
        display_orders(3, "latn")


def test_combine_rankings_mean_rank_and_ties() -> None:
    agree = combine_rankings([(2, 0, 1), (2, 1, 0)], 3)
    assert agree.best == 2 and agree.consistent and not agree.full_agreement
    assert agree.mean_ranks == (1.5, 1.5, 0.0) and agree.borda == (0.5, 0.5, 2.0)
    split = combine_rankings([(0, 1), (1, 0)], 2)
    assert split.best is None and "share the best mean rank" in str(split.tie_reason)
    weak = combine_rankings([(0, 1, 2), (0, 2, 1), (1, 0, 2), (2, 0, 1)], 3, min_agreement=0.75)
    assert weak.best is None and "orders disagree" in str(weak.tie_reason) and weak.agreement == 0.5
    with pytest.raises(ValueError):
        combine_rankings([(0, 0, 1)], 3)


def test_rank_rewards_share_ties() -> None:
    assert rank_rewards([0.0, 1.0, 2.0], "centred") == (1.0, 0.0, -1.0)
    assert rank_rewards([0.0, 1.0, 2.0], "linear") == (1.0, 0.5, 0.0)
    assert rank_rewards([0.5, 0.5, 2.0], "best") == (0.5, 0.5, 0.0)
    assert rank_rewards([0.5, 0.5, 2.0], "centred")[0] == rank_rewards([0.5, 0.5, 2.0], "centred")[1]


def test_kendall_and_ndcg() -> None:
    assert kendall_tau([0, 1, 2], [0, 1, 2]) == 1.0
    assert kendall_tau([2, 1, 0], [0, 1, 2]) == -1.0
    assert ndcg([0, 1, 2], [0, 1, 2]) == pytest.approx(1.0)
    assert ndcg([1, 1, 1], [0, 1, 2]) < 1.0  # an all-tie prediction earns the averaged discount, not the best
    assert kendall_tau([1, 1, 1], [0, 1, 2]) is None


GOOD, MID, BAD = "Paris is the capital of France.", "It is Paris, I think.", "Berlin."
ITEM = Sample(id="q1", prompt="Capital of France?", responses=(BAD, GOOD, MID), label="B",
              metadata={"gold_ranking": [1, 2, 0]})


def shown(prompt: Prompt) -> list[str]:
    """The response texts in displayed order."""
    user = next(m.content for m in prompt.messages if m.role == "user")
    return sorted((GOOD, MID, BAD), key=user.index)


def fair(prompt: Prompt, index: int, params: GenerationParams) -> str:
    order = shown(prompt)
    ranked = [chr(ord("A") + order.index(t)) for t in (GOOD, MID, BAD)]
    return "Reasoning: Paris is right.\nRanking: [[" + " > ".join(ranked) + "]]"


def always_a(prompt: Prompt, index: int, params: GenerationParams) -> str:
    return "Reasoning: the first one.\nRanking: [[A > B > C]]"


def run(responder, samples=(ITEM,), **options):  # type: ignore[no-untyped-def]
    backend = FakeBackend(responder=responder)
    config = JudgeConfig(options=tuple(options.items()))
    return get_protocol("listwise", config).judge(list(samples), Runner(backend)), backend


def test_fair_judge_all_orders_one_batch() -> None:
    (j,), backend = run(fair)
    assert [c["prompts"] for c in backend.calls] == [6]  # 3! display orders in one call
    assert j.verdict == "B" and j.consistent and not j.parse_failure
    lw = j.extra["listwise"]
    assert lw["ranking"] == [1, 2, 0] and lw["full_agreement"] and lw["rewards"] == [-1.0, 1.0, 0.0]
    assert [p["order"] for p in j.per_order][:2] == ["ABC", "ACB"]
    summary = summarize([ITEM], [j])
    assert summary["accuracy"] == 1.0 and summary["listwise"]["kendall_tau"] == 1.0
    assert summary["listwise"]["ndcg"] == pytest.approx(1.0)


def test_position_biased_judge_is_a_tie() -> None:
    (j,), _ = run(always_a)
    assert j.verdict == "tie" and j.consistent is False
    assert j.extra["listwise"]["mean_ranks"] == [1.0, 1.0, 1.0]
    assert summarize([ITEM], [j])["listwise"]["best_consistency"] == 0.0


def test_one_unreadable_order_fails_the_item() -> None:
    def flaky(prompt: Prompt, index: int, params: GenerationParams) -> str:
        return "Ranking: [[A > A > B]]" if shown(prompt)[0] == MID else fair(prompt, index, params)

    (j,), _ = run(flaky)
    assert j.parse_failure and j.verdict is None and "ranked more than once" in str(j.failure_reason)


def test_logit_mode_best_of_n() -> None:
    def choices(prompt: Prompt, options):  # type: ignore[no-untyped-def]
        order = shown(prompt)
        return {chr(ord("A") + i): (0.7 if t == GOOD else 0.2 if t == MID else 0.1) for i, t in enumerate(order)}

    backend = FakeBackend(choice_responder=choices)
    proto = get_protocol("listwise", JudgeConfig(method="logit"))
    (j,) = proto.judge([ITEM], Runner(backend))
    assert j.verdict == "B" and j.probs is not None and j.probs["B"] == pytest.approx(0.7)
    assert backend.calls[0]["choices"] == ["A", "B", "C"]


def test_options_are_checked() -> None:
    bad_options = ({"permutations": "latn"}, {"k": "0"}, {"min_agreement": "2"}, {"reward": "rank"},
                   {"permutaions": "all"})
    for bad in bad_options:
        with pytest.raises(ConfigError):
            get_protocol("listwise", JudgeConfig(options=tuple(bad.items())))
    (j,), backend = run(fair, permutations="latin")
    assert backend.calls[0]["prompts"] == 3 and j.extra["listwise"]["orders"] == 3


def write(tmp_path: Path, rows: list[dict]) -> Path:  # type: ignore[type-arg]
    path = tmp_path / "items.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_data_reads_responses_lists(tmp_path: Path) -> None:
    path = write(tmp_path, [
        {"id": "a", "prompt": "p", "responses": ["x", "y", "z"], "ranking": [2, 0, 1]},
        {"id": "b", "prompt": "p", "responses": ["x", "y"], "best": 1},
        {"id": "c", "question": "p", "responses": ["x", "y"], "label": "A"},
    ])
    a, b, c = load_samples(path, task="listwise")
    assert a.label == "C" and a.metadata["gold_ranking"] == [2, 0, 1] and a.responses == ("x", "y", "z")
    assert b.label == "B" and c.label == "A"


@pytest.mark.parametrize(("row", "field"), [
    ({"prompt": "p", "responses": "x"}, "responses"),
    ({"prompt": "p", "responses": ["x"]}, "responses"),
    ({"prompt": "p", "responses": ["x", 3]}, "responses[1]"),
    ({"prompt": "p", "responses": ["x", "y"], "best": 2}, "best"),
    ({"prompt": "p", "responses": ["x", "y"], "ranking": [0, 0]}, "ranking"),
    ({"prompt": "p", "responses": ["x", "y"], "ranking": [0, 1], "best": 1}, "best"),
])
def test_bad_listwise_rows_name_line_and_field(tmp_path: Path, row: dict, field: str) -> None:  # type: ignore[type-arg]
    path = write(tmp_path, [{"id": "ok", "prompt": "p", "responses": ["x", "y"]}, row])
    with pytest.raises(DataError) as err:
        load_samples(path, task="listwise")
    assert err.value.line == 2 and err.value.field == field


def test_cli_judge_and_reward_listwise(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from judgekit.cli import app

    cli = CliRunner()
    data = write(tmp_path, [{"id": "a", "prompt": "p", "responses": ["x", "yy", "zzz"], "ranking": [2, 1, 0]},
                            {"id": "b", "prompt": "q", "responses": ["u", "v"], "best": 0}])
    done = cli.invoke(app, ["judge", str(data), "-p", "listwise", "--backend", "fake", "-o", str(tmp_path / "run")])
    assert done.exit_code == 0, done.output
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["listwise"]["listwise_items"] + summary["parse_failures"] == 2
    bad = write(tmp_path, [{"id": "a", "prompt": "p", "responses": ["x", "y"], "best": 5}])
    done = cli.invoke(app, ["judge", str(bad), "-p", "listwise", "--backend", "fake", "-o", str(tmp_path / "bad")])
    flat = " ".join(done.output.split())
    assert done.exit_code == 2 and "line 1, field 'best'" in flat
    rewards = tmp_path / "completions.jsonl"
    rewards.write_text("".join(json.dumps({"id": str(i), "prompt": "p", "completion": c}) + "\n"
                               for i, c in enumerate(["a", "bb", "ccc"])))
    done = cli.invoke(app, ["reward", str(rewards), "-p", "listwise", "--backend", "fake", "-o", str(tmp_path / "rw")])
    assert done.exit_code == 0, done.output
    got = [json.loads(line) for line in (tmp_path / "rw" / "rewards.jsonl").read_text().splitlines()]
    assert len(got) == 3 and all(r["reward"] is not None for r in got)  # one group of 3, centred rewards
    assert abs(sum(r["reward"] for r in got)) < 1e-9 and got[0]["extra"]["group_size"] == 3
