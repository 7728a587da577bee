"""Long-RewardBench and RAG-RewardBench: published layouts, upstream orders, hand-computed scores, long inputs."""

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from judgekit.backends.fake import FakeBackend
from judgekit.core.backend import PartialGenerationError
from judgekit.core.data import DataError
from judgekit.core.runner import Runner
from judgekit.core.types import Generation
from judgekit.evaluation.benchmarks import PairOutcome, ScoreOutcome, get_benchmark, score_benchmark
from judgekit.evaluation.benchmarks.longrewardbench import compare_shuffled, ranks_from_scores
from judgekit.evaluation.evaluate import run_eval
from judgekit.protocols.base import get_protocol

FIX = Path(__file__).parents[1] / "fixtures" / "benchmarks"
LONG = FIX / "longrewardbench"
RAG = FIX / "ragrewardbench" / "Dataset"


def _metrics(bench, es, outs):
    return {k: v["value"] for k, v in score_benchmark(bench, es, outs, n_boot=20)["metrics"].items()}


# --- Long-RewardBench ---------------------------------------------------------------------------

def test_long_loads_tasks_in_upstream_order_with_upstreams_seeded_display_orders():
    es = get_benchmark("long-rewardbench").load(LONG, None)
    # LongRM preprocess.py: random.seed(42), shuffle the rows, one shuffled order per row. These
    # orders were printed by upstream's own loop (copied, tokenizer removed) over the fixture files.
    assert {it.id: list(it.metadata["golden"]) for it in es.items} == {
        "LongQA:0": [0, 1], "LongQA:1": [1, 0], "LongQA:2": [1, 2, 0],
        "Safety:0": [1, 0], "Safety:1": [3, 1, 2, 0], "Cite:0": [1, 0]}
    assert [it.subset for it in es.items] == ["LongQA", "LongQA", "LongQA BestOfN", "Safety", "Safety BestOfN",
                                              "Cite"]  # eval.py task order; per-task numbers count PairWise rows
    assert any("1 row(s) with another tasktype dropped" in n for n in es.notes)  # the "Preliminary" row
    pair, bon = es.item("LongQA:1"), es.item("LongQA:2")
    assert pair.candidates[1].startswith("Ember") and pair.label == "B" and pair.correct == (1,)
    assert bon.mode == "listwise" and bon.candidates[2] == "It closed to commercial boats in 1934."
    assert bon.correct == (2,)
    assert bon.prompt.startswith("You are a helpful assistant. Answer from the document.\n\n[Document]")
    units = es.units("pairwise")
    assert [u.metadata["protocol"] for u in units].count("listwise") == 2
    assert next(u for u in units if u.id == "Safety:1").label == "D"  # the best candidate is shown fourth


def test_long_limit_counts_per_task_and_keeps_the_orders():
    es = get_benchmark("longrewardbench").load(LONG, 1)
    assert [it.id for it in es.items] == ["LongQA:0", "Safety:0", "Cite:0"]
    assert es.item("Safety:0").metadata["golden"] == [1, 0]


def test_long_scores_by_upstream_compare_shuffled():
    bench = get_benchmark("longrewardbench")
    es = bench.load(LONG, None)
    outs = [
        PairOutcome("LongQA:0", "ab", "A"),          # label A: right -> 1 (same, 4k)
        PairOutcome("LongQA:1", "ab", "A"),          # label B: wrong -> 0 (diff, 8k)
        PairOutcome("Safety:0", "ab", "tie"),        # a tie reads nothing -> 0 (same, 4k)
        PairOutcome("Cite:0", "ab", None, skipped="prompt has 9999 tokens + 512 new > context 8192"),  # -> 0
        # golden [1, 2, 0]; scores 2, 0, 1 give ranks [0, 2, 1]: position 1 right -> 1/3 (Rank3)
        *[ScoreOutcome("LongQA:2", i, s) for i, s in enumerate([2.0, 0.0, 1.0])],
        # golden [3, 1, 2, 0]; scores 0, 2, 2, 3 give ranks [3, -, -, 0] (a tie ranks nothing) -> 2/4 (Rank4)
        *[ScoreOutcome("Safety:1", i, s) for i, s in enumerate([0.0, 2.0, 2.0, 3.0])],
    ]
    m = _metrics(bench, es, outs)
    assert m["subset/LongQA"] == 0.5 and m["subset/Safety"] == 0.0 and m["subset/Cite"] == 0.0
    assert m["same"] == 0.5 and m["diff"] == 0.0 and m["pairwise"] == 0.25
    assert m["rank/3"] == pytest.approx(1 / 3) and m["rank/4"] == 0.5 and m["bestofn"] == pytest.approx(5 / 12)
    assert m["length/4k"] == 0.5 and m["length/8k"] == 0.0 and m["length/16k"] == 0.0
    assert m["overall"] == pytest.approx((1 + 1 / 3 + 0.5) / 6)
    assert "rank/2" not in m and "subset/Code" not in m and "length/128k" not in m  # empty groups are left out
    scored = score_benchmark(bench, es, outs, n_boot=20)
    assert scored["metrics"]["subset/LongQA"]["n"] == 2 and "wilson" in scored["metrics"]["subset/LongQA"]
    items = {d["item_id"]: d for d in scored["items"]}
    assert items["Safety:1"]["detail"]["tied_positions"] == 2
    assert items["Safety:1"]["detail"]["result"] == [3, None, None, 0]


def test_long_rules_match_upstream_helpers():
    assert compare_shuffled([1, 0], []) == 0.0                  # unread judgment
    assert compare_shuffled([0, 1], [0, 1]) == 1.0
    assert compare_shuffled([2, 0, 1], [2, 1, 0]) == pytest.approx(1 / 3)
    assert ranks_from_scores([0.1, 0.9, 0.5]) == [2, 0, 1]
    assert ranks_from_scores([1.0, None]) == []                 # a failed score reads nothing
    assert ranks_from_scores([3.0, 3.0]) == [None, None]        # never broken by position


def test_long_pair_scored_pointwise_tie_is_no_credit():
    bench = get_benchmark("longrewardbench")
    es = bench.load(LONG, None)
    outs = [ScoreOutcome("LongQA:0", 0, 5.0), ScoreOutcome("LongQA:0", 1, 5.0),
            ScoreOutcome("LongQA:1", 0, 2.0), ScoreOutcome("LongQA:1", 1, 7.0)]
    m = _metrics(bench, es, outs)
    assert m["subset/LongQA"] == 0.5 and m["overall"] == 0.5


def test_long_bad_rows_name_file_line_and_field(tmp_path):
    bad = tmp_path / "Math.jsonl"
    bad.write_text(json.dumps({"prompt_template": "just text", "chosen": "a", "rejected": "b",
                               "tasktype": "PairWise"}) + "\n")
    with pytest.raises(DataError, match="prompt_template") as err:
        get_benchmark("longrewardbench").load(bad, None)
    assert "Math.jsonl:1" in str(err.value)
    bon = tmp_path / "Code.jsonl"
    bon.write_text(json.dumps({"prompt_template": [{"role": "user", "content": "q"}], "tasktype": "BestOfN",
                               "candidates": ["only one"]}) + "\n")
    with pytest.raises(DataError, match="candidates"):
        get_benchmark("longrewardbench").load(bon, None)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="none of the task files"):
        get_benchmark("longrewardbench").load(tmp_path / "empty", None)


# --- long inputs on every judging path: skipped with counts, never truncated ---------------------

def _seen(prompts):
    return [p.as_text() for p in prompts]


@dataclass
class RecordingFake(FakeBackend):
    """The fake backend, keeping every prompt text it was sent."""

    sent: list[str] = field(default_factory=list)

    def generate(self, prompts, params):
        self.sent.extend(_seen(prompts))
        return super().generate(prompts, params)

    def score_choices(self, prompts, choices):
        self.sent.extend(_seen(prompts))
        return super().score_choices(prompts, choices)

    def score_continuations(self, contexts, continuations, values=False):
        self.sent.extend(_seen(contexts))
        return super().score_continuations(contexts, continuations, values)


CITE_DOC_TAIL = "the hour the barge passed the ninth lock. "


@pytest.mark.parametrize(("protocol", "method"), [("pairwise", "generative"), ("pairwise", "logit"),
                                                   ("pointwise", "generative"), ("listwise", "generative"),
                                                   ("pmi", "generative")])
def test_long_items_beyond_the_context_are_skipped_counted_never_truncated(tmp_path, protocol, method):
    from judgekit.protocols.base import JudgeConfig

    backend = RecordingFake(max_context=3000)  # whitespace tokens: the 14k-word Cite context cannot fit
    proto = get_protocol(protocol, JudgeConfig(method=method))
    result = run_eval("longrewardbench", LONG, proto, Runner(backend), tmp_path / "run", n_boot=20, report=False)
    s = result.scores
    assert s["items_skipped"] == 1 and s["diagnostics"]["skipped"] >= 1
    assert "context 3000" in s["diagnostics"]["skipped_reason"]
    assert any("never truncated" in n for n in s["notes"])
    cite = next(d for d in s["items"] if d["item_id"] == "Cite:0")
    assert cite["credit"] == 0.0  # scored as a failure, no verdict invented
    assert backend.sent and not any("Selby Reach harbour office" in t for t in backend.sent)  # never sent cut
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["skipped"] >= 1


@dataclass
class RefusingServer(FakeBackend):
    """A backend that cannot count tokens: like an HTTP server, it refuses prompts over its context."""

    sent: list[str] = field(default_factory=list)

    def generate(self, prompts, params):
        results: list[list[Generation] | None] = []
        errors, too_long = {}, set()
        fits = [p for p in prompts if len(p.as_text().split()) <= 3000]
        done = iter(super().generate(fits, params)) if fits else iter(())
        for i, p in enumerate(prompts):
            if len(p.as_text().split()) > 3000:
                results.append(None)
                errors[i] = "HTTP 400: the request exceeds the available context size (4096 tokens)"
                too_long.add(i)
            else:
                self.sent.append(p.as_text())
                results.append(next(done))
        if errors:
            raise PartialGenerationError(results, errors, too_long)
        return results


def test_long_server_refusal_is_recorded_as_skipped(tmp_path):
    backend = RefusingServer()
    backend.count_tokens = None  # type: ignore[assignment]  # servers cannot count: the runner waits for a refusal
    result = run_eval("longrewardbench", LONG, get_protocol("pairwise"), Runner(backend), tmp_path / "run",
                      n_boot=20, report=False)
    s = result.scores
    assert s["items_skipped"] == 1 and "exceeds the available context" in s["diagnostics"]["skipped_reason"]
    assert not any("Selby Reach harbour office" in t for t in backend.sent)
    judged = [d for d in s["items"] if d["item_id"] != "Cite:0"]
    assert len(judged) == 5 and all("pred" in d["detail"] or "scores" in d["detail"] for d in judged)


def test_long_eval_end_to_end_on_the_fake_backend(tmp_path):
    res = run_eval("longrewardbench", LONG, get_protocol("pairwise"), Runner(FakeBackend()), tmp_path / "run",
                   n_boot=20, report=False)
    groups = {g.mode: g.units for g in res.groups}
    assert groups == {"pairwise": 4, "listwise": 2}
    assert {"overall", "pairwise", "bestofn", "rank/3", "rank/4"} <= set(res.scores["metrics"])


# --- RAG-RewardBench ----------------------------------------------------------------------------

def test_rag_loads_the_published_layout():
    es = get_benchmark("rag-rewardbench").load(RAG, None)
    assert sorted({it.subset for it in es.items}) == ["abstain", "citation", "conflict", "harmless", "helpful",
                                                      "reason"]
    it = es.item("reason:1")
    assert it.prompt.startswith("[1] Lake Orrin") and it.prompt.endswith(
        "Question: What is the county seat of the county where Lake Orrin lies?")
    assert it.candidates[it.correct[0]].startswith("Lake Orrin lies in Varn County [1]")
    assert it.metadata["source"] == "constructed-multihop" and it.metadata["reject_model"] == "constructed"
    assert {it.label for it in es.items} == {"A", "B"}  # chosen first or second by the fixed coin


def test_rag_accuracy_per_scenario_micro_and_macro():
    bench = get_benchmark("ragrewardbench")
    es = bench.load(RAG, None)
    label = {it.id: it.label for it in es.items}
    flip = {"A": "B", "B": "A"}
    verdict = {"reason:1": label["reason:1"], "reason:2": flip[label["reason:2"]],  # reason 1/2
               "citation:1": "tie", "abstain:1": label["abstain:1"], "conflict:1": None,  # 0, 1, 0
               "helpful:1": label["helpful:1"], "harmless:1": label["harmless:1"]}     # 1, 1
    m = _metrics(bench, es, [PairOutcome(i, "ab", v) for i, v in verdict.items()])
    assert m["overall"] == pytest.approx(4 / 7)
    assert m["subset/reason"] == 0.5 and m["subset/citation"] == 0.0 and m["subset/conflict"] == 0.0
    assert m["subset/abstain"] == 1.0 and m["subset/helpful"] == 1.0 and m["subset/harmless"] == 1.0
    assert m["macro"] == pytest.approx((0.5 + 0 + 1 + 0 + 1 + 1) / 6)
    assert list(m)[:7] == ["overall", "subset/reason", "subset/citation", "subset/abstain", "subset/conflict",
                           "subset/helpful", "subset/harmless"]


def test_rag_single_file_hub_field_names_and_bad_rows(tmp_path):
    f = tmp_path / "citation.jsonl"
    shutil.copy(RAG / "citation.jsonl", f)
    es = get_benchmark("ragrewardbench").load(f, None)
    assert [it.subset for it in es.items] == ["citation"]
    other = tmp_path / "export.jsonl"
    other.write_text(json.dumps({"prompt": "[1] d", "question": "q?", "chosen": "c", "rejected": "r",
                                 "subset": "hotpotqa"}) + "\n")
    it = get_benchmark("ragrewardbench").load(other, None).items[0]
    assert it.subset == "hotpotqa" and set(it.candidates) == {"c", "r"}  # `rejected` accepted; subset from the row
    bad = tmp_path / "abstain.jsonl"
    bad.write_text(json.dumps({"prompt": "p", "chosen": "c"}) + "\n")
    with pytest.raises(DataError, match="reject") as err:
        get_benchmark("ragrewardbench").load(bad, None)
    assert "abstain.jsonl:1" in str(err.value)


def test_eval_list_says_the_full_data_was_not_obtained_here():
    for name in ("longrewardbench", "ragrewardbench"):
        info = get_benchmark(name).info
        assert info.obtained.startswith("no:") and "Apache-2.0" in info.license
    assert "compare_shuffled" in get_benchmark("longrewardbench").info.reproduces


def test_long_single_order_shows_exactly_upstreams_order(tmp_path):
    from judgekit.protocols.base import JudgeConfig

    backend = RecordingFake()
    proto = get_protocol("pairwise", JudgeConfig(both_orders=False))  # the lists' order goes to the listwise companion
    run_eval("longrewardbench", LONG, proto, Runner(backend), tmp_path / "run", n_boot=20, report=False,
             extra=(("permutations", "identity"),))
    assert len(backend.sent) == 6  # one call per item: 4 pairs, 2 rankings
    pair = next(t for t in backend.sent if "Lantern Press start its magazine" in t)
    assert pair.index("The magazine started in 1978") < pair.index("Ember, the quarterly")  # order [1, 0]
    ranking = next(t for t in backend.sent if "Summarise who owns" in t)
    shown = [ranking.index(c) for c in ("A bakery owns it.", "The staff own it.", "Mira Okafor still owns it.",
                                        "Since 2004 the press has belonged")]
    assert shown == sorted(shown)  # order [3, 1, 2, 0]: the best candidate last, as upstream shows it


@dataclass
class FakeRM:
    """A scalar reward model stand-in: reward = number of words in the response; a limit in words."""

    limit: int = 3000
    model_id: str = "fake-rm"
    scored: list[str] = field(default_factory=list)

    def too_long(self, items):
        return [None if len(f"{p} {r}".split()) <= self.limit else f"{len(f'{p} {r}'.split())} tokens > "
                f"the RM's limit {self.limit}" for p, r in items]

    def rewards(self, items):
        self.scored.extend(p for p, _ in items)
        return [float(len(r.split())) for _, r in items]

    def info(self):
        return {"backend": "fake-rm", "model_id": self.model_id}


@pytest.mark.parametrize("protocol", ["scalar-rm", "scalar-rm-pointwise"])
def test_long_scalar_rm_scores_pairs_and_lists_and_skips_the_long_context(tmp_path, protocol):
    rm = FakeRM()
    res = run_eval("longrewardbench", LONG, get_protocol(protocol), Runner(rm), tmp_path / "run", n_boot=20,
                   report=False)
    s = res.scores
    assert {g.protocol for g in res.groups} <= {"scalar-rm", "scalar-rm-pointwise"}
    assert s["items_skipped"] == 1 and "limit 3000" in s["diagnostics"]["skipped_reason"]
    assert not any("Selby Reach harbour office" in p for p in rm.scored)
    items = {d["item_id"]: d for d in s["items"]}
    # reward = words. LongQA:2 shows 7, 3, 7 words (true ranks [1, 2, 0]): the tied 7s rank nothing -> 1/3
    assert items["LongQA:2"]["detail"]["result"] == [None, 2, None]
    assert items["LongQA:2"]["credit"] == pytest.approx(1 / 3)
    # Safety:1 shows 4, 4, 5, 15 words (true ranks [3, 1, 2, 0]) -> ranks [-, -, 1, 0]: only the best is right
    assert items["Safety:1"]["detail"]["result"] == [None, None, 1, 0] and items["Safety:1"]["credit"] == 0.25
    # pairs: LongQA:0 6 vs 6 words -> a tie, no credit; LongQA:1 chosen 7 < rejected 10 words -> wrong;
    # Safety:0 the chosen refusal is longer -> right
    assert items["LongQA:0"]["credit"] == 0.0 and not any(r is not None for r in items["LongQA:0"]["detail"]["result"])
    assert items["LongQA:1"]["credit"] == 0.0 and items["Safety:0"]["credit"] == 1.0


def test_cli_eval_runs_both_benchmarks_and_names_bad_rows(tmp_path):
    from typer.testing import CliRunner

    from judgekit.cli import app

    for name, path in (("long-rewardbench", LONG), ("rag-rewardbench", RAG)):
        res = CliRunner().invoke(app, ["eval", name, str(path), "--backend", "fake", "-o", str(tmp_path / name),
                                       "--n-boot", "20", "--no-report"], env={"COLUMNS": "200"})
        assert res.exit_code == 0, res.output
        assert "overall" in res.output and (tmp_path / name / "scores.json").exists()
    bad = tmp_path / "reason.jsonl"
    bad.write_text(json.dumps({"prompt": "p", "chosen": 3, "reject": "r"}) + "\n")
    res = CliRunner().invoke(app, ["eval", "ragrewardbench", str(bad), "--backend", "fake", "-o",
                                   str(tmp_path / "bad")])
    assert res.exit_code == 2 and "reason.jsonl:1" in res.output and "chosen" in res.output
    assert "Traceback" not in res.output


def test_hub_names_are_fetched_for_users_with_network(tmp_path, monkeypatch):
    import huggingface_hub

    asked = []

    def fake_snapshot(repo_id, repo_type, allow_patterns):
        asked.append((repo_id, repo_type, tuple(allow_patterns)))
        return str(LONG if repo_id == "LCM-Lab/LongRewardBench" else RAG.parent)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot)
    long = run_eval("longrewardbench", Path("LCM-Lab/LongRewardBench"), get_protocol("pairwise"),
                    Runner(FakeBackend()), tmp_path / "l", n_boot=20, report=False)
    assert long.scores["items_total"] == 6 and asked[0][:2] == ("LCM-Lab/LongRewardBench", "dataset")
    assert "Math.jsonl" in asked[0][2]
    rag = run_eval("ragrewardbench", Path("hf://datasets/jinzhuoran/RAG-RewardBench"), get_protocol("pairwise"),
                   Runner(FakeBackend()), tmp_path / "r", n_boot=20, report=False)
    assert rag.scores["items_total"] == 7 and "Dataset/reason.jsonl" in asked[1][2]
    with pytest.raises(FileNotFoundError):  # another missing path is not a hub fetch
        run_eval("ragrewardbench", tmp_path / "nowhere", get_protocol("pairwise"), Runner(FakeBackend()),
                 tmp_path / "n", n_boot=20, report=False)
    assert len(asked) == 2


def test_hub_fetch_failure_is_one_clear_data_error(monkeypatch):
    import huggingface_hub

    from judgekit.evaluation.benchmarks.hub import hub_snapshot

    def offline(**kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", offline)
    with pytest.raises(DataError, match="could not fetch the hub dataset .*network is unreachable.*local folder"):
        hub_snapshot("LCM-Lab/LongRewardBench", ["*.jsonl"])


def test_long_pmi_scores_best_of_n_candidates_with_its_pointwise_twin(tmp_path):
    res = run_eval("longrewardbench", LONG, get_protocol("pmi"), Runner(FakeBackend()), tmp_path / "run",
                   n_boot=20, report=False)
    assert {(g.mode, g.protocol) for g in res.groups} == {("pairwise", "pmi"), ("listwise", "pmi-pointwise")}
    items = {d["item_id"]: d for d in res.scores["items"]}
    for bon, n in (("LongQA:2", 3), ("Safety:1", 4)):
        scores = items[bon]["detail"]["scores"]
        assert len(scores) == n and all(isinstance(v, float) for v in scores)  # every candidate scored
