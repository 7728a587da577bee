"""k-sample judging: reducer tables, one prefill per prompt, cache reuse, the curve."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from judgekit.backends.fake import FakeBackend
from judgekit.core.cache import CallCache
from judgekit.core.errors import ConfigError
from judgekit.core.formats import PAIRWISE, POINTWISE
from judgekit.core.runner import Runner
from judgekit.core.types import Parsed, ParseFailure, Prompt, Sample, Verdict, parsed_to_dict
from judgekit.protocols.base import JudgeConfig, get_protocol
from judgekit.protocols.single import run_turn
from judgekit.scaling.curve import compute_curve, run_scale, subsample
from judgekit.scaling.reducers import canonical_reducer, get_reducer, majority, mean_prob, meta, meta_keep, score_sum
from judgekit.scaling.samples import OrderSamples, order_samples, parsed_from_dict

A, B, T = Verdict("A"), Verdict("B"), Verdict("tie")
F = ParseFailure("no pairwise verdict found", "blah")


def S(a: float, b: float, label: str = "A") -> Verdict:  # noqa: N802 - table shorthand
    return Verdict(label=label, scores=(a, b))


MAJORITY = [
    # samples -> label (None = recorded failure)
    ([A], "A"),
    ([A, A, B], "A"),
    ([B, A, B, A, B], "B"),
    ([A, B], "tie"),  # tie for first is explicit
    ([A, B, T], "tie"),
    ([T, T, A], "tie"),  # "tie" can also win outright
    ([F, F, B], "B"),  # failures abstain, never vote
    ([F, A, B, F], "tie"),
    ([F, F], None),  # every sample failed: a failure
    ([F, F, F, A, A, B], "A"),
]


@pytest.mark.parametrize(("samples", "label"), MAJORITY)
def test_majority(samples: list[Parsed], label: str | None) -> None:
    got = majority(samples)
    if label is None:
        assert isinstance(got, ParseFailure) and "all 2 samples failed" in got.reason
    else:
        assert isinstance(got, Verdict) and got.label == label


SCORE_SUM = [
    # samples -> label, mean scores
    ([S(8, 3), S(2, 4), S(7, 6)], "A", (17 / 3, 13 / 3)),  # sums 17 vs 13
    ([S(8, 3, "A"), S(1, 9, "B"), S(1, 9, "B")], "B", (10 / 3, 7.0)),  # sum wins, not the vote count
    ([S(9, 1, "A"), S(1, 9, "B"), S(2, 2, "tie")], "tie", (4.0, 4.0)),  # equal sums: explicit tie
    ([S(6, 5), F, F], "A", (6.0, 5.0)),  # failures abstain
    ([Verdict("7", scores=(7.0,)), Verdict("8", scores=(8.0,))], "7.5", (7.5,)),  # one response: mean score
    ([Verdict("A"), S(2, 6, "B")], "B", (2.0, 6.0)),  # a sample without scores abstains
    ([F, F], None, None),
    ([A, B], None, None),  # nothing to sum: a failure, not a guess
]


@pytest.mark.parametrize(("samples", "label", "scores"), SCORE_SUM)
def test_score_sum(samples: list[Parsed], label: str | None, scores: tuple[float, ...] | None) -> None:
    got = score_sum(samples)
    if label is None:
        assert isinstance(got, ParseFailure)
        return
    assert isinstance(got, Verdict) and got.label == label
    assert got.scores == pytest.approx(scores)


MEAN_PROB = [
    ([Verdict("A", probs={"A": 0.6, "B": 0.4}), Verdict("B", probs={"A": 0.3, "B": 0.7})], "B", {"A": 0.45, "B": 0.55}),
    ([A, A, B], "A", {"A": 2 / 3, "B": 1 / 3}),  # no probs: one-hot, i.e. the vote share
    ([Verdict("A", probs={"A": 0.5, "B": 0.5}), F], "tie", {"A": 0.5, "B": 0.5}),
    ([F], None, None),
]


@pytest.mark.parametrize(("samples", "label", "probs"), MEAN_PROB)
def test_mean_prob(samples: list[Parsed], label: str | None, probs: dict[str, float] | None) -> None:
    got = mean_prob(samples)
    if label is None:
        assert isinstance(got, ParseFailure)
        return
    assert isinstance(got, Verdict) and got.label == label and got.probs == pytest.approx(probs)


META = [
    # samples, meta scores, k_meta -> kept indices, label
    ([B, A, B, A, B], [0.1, 0.9, 0.2, 0.8, 0.3], 2, [1, 3], "A"),  # meta overrides the majority
    ([B, A, B, A, B], [0.1, 0.9, 0.2, 0.8, 0.3], 3, [1, 3, 4], "A"),
    ([B, A, B, A, B], [0.1, 0.9, 0.2, 0.8, 0.3], 5, [0, 1, 2, 3, 4], "B"),  # k_meta = k: plain majority
    ([B, A, B, A, B], [0.1, 0.9, 0.2, 0.8, 0.3], 50, [0, 1, 2, 3, 4], "B"),  # k_meta > k keeps all
    ([F, A, B], [9.0, 0.5, 0.4], 1, [1], "A"),  # a failure is never kept, whatever its score
    ([A, B, T], [1.0, 1.0, 1.0], 2, [0, 1], "tie"),  # equal scores keep the earlier samples
    ([F, F], [1.0, 2.0], 1, [], None),
]


@pytest.mark.parametrize(("samples", "scores", "k_meta", "kept", "label"), META)
def test_meta(samples: list[Parsed], scores: list[float], k_meta: int, kept: list[int], label: str | None) -> None:
    assert meta_keep(samples, scores, k_meta) == kept
    got = meta(samples, scores, k_meta)
    assert (got.label if isinstance(got, Verdict) else None) == label


def test_meta_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="one score per sample"):
        meta_keep([A, B], [1.0], 1)
    with pytest.raises(ValueError, match="at least 1"):
        meta_keep([A], [1.0], 0)


def test_get_reducer_names_and_config() -> None:
    assert canonical_reducer("score_sum") == "score-sum"
    assert get_reducer("mean_prob").name == "mean-prob"
    with pytest.raises(ConfigError, match="unknown reducer"):
        get_reducer("median")
    with pytest.raises(ConfigError, match="--meta-rm"):
        get_reducer("meta", JudgeConfig(samples=4, temperature=0.7, reduce="meta"))
    with pytest.raises(ConfigError, match="integer"):
        get_reducer("meta", JudgeConfig(options=(("k_meta", "two"),)), scorer=lambda p: [0.0] * len(p))
    reducer = get_reducer("meta", JudgeConfig(samples=8, temperature=0.7), scorer=lambda p: [0.0] * len(p))
    assert reducer.k_meta == 4  # type: ignore[attr-defined]  # default: half of k
    with pytest.raises(ValueError, match="sample's text"):
        reducer([A, B])  # meta cannot work without the texts


PROMPTS = [Prompt(messages=(), template="pairwise", template_hash="h", assistant_prefix=f"p{i}") for i in range(3)]


def _cycling(p: Prompt, i: int, params: object) -> str:
    return ["Reasoning: r.\nVerdict: [[A]]", "Reasoning: r.\nVerdict: [[B]]", "no verdict here"][i % 3]


def test_k_samples_come_from_one_call_and_resume_from_cache(tmp_path: Path) -> None:
    cache = CallCache(tmp_path / "calls.sqlite")
    backend = FakeBackend(responder=_cycling)
    config = JudgeConfig(samples=5, temperature=0.7, seed=3)
    results = run_turn(PROMPTS, Runner(backend, cache), PAIRWISE, config, name="verdict")
    assert backend.calls == [{"kind": "generate", "prompts": 3, "n": 5, "params": config.params(PAIRWISE.constraint())}]
    first = results[0]
    assert [parsed_to_dict(s).get("label") for s in first.samples] == ["A", "B", None, "A", "B"]
    assert isinstance(first.parsed, Verdict) and first.parsed.label == "tie"  # 2 A, 2 B, 1 abstains
    assert first.turn.parsed["raw"][2] == "no verdict here"  # type: ignore[index]
    # A resumed run (new runner, same cache) draws nothing new and gets the same samples.
    again = FakeBackend(responder=lambda *a: pytest.fail("the cache should answer"))
    resumed = run_turn(PROMPTS, Runner(again, cache), PAIRWISE, config, name="verdict")
    assert again.calls == []
    assert [r.samples for r in resumed] == [r.samples for r in results]
    # Another seed is a new draw.
    other = FakeBackend(responder=_cycling)
    run_turn(PROMPTS[:1], Runner(other, cache), PAIRWISE, JudgeConfig(samples=5, temperature=0.7, seed=4), "v")
    assert [c["n"] for c in other.calls] == [5]


def test_reducer_choice_reaches_protocols() -> None:
    def scores(p: Prompt, i: int, params: object) -> str:
        return f"Reasoning: r.\nScore: {[9, 2, 2][i]}"

    config = JudgeConfig(samples=3, temperature=0.7, reduce="score-sum")
    [r] = run_turn(PROMPTS[:1], Runner(FakeBackend(responder=scores)), POINTWISE, config, name="score")
    assert isinstance(r.parsed, Verdict) and r.parsed.scores == pytest.approx((13 / 3,))
    assert r.turn.parsed["reducer"] == "score-sum"  # type: ignore[index]


def test_order_samples_from_pairwise_trace() -> None:
    proto = get_protocol("pairwise", JudgeConfig(samples=3, temperature=0.7))
    sample = Sample(id="s", prompt="q", responses=("x", "y"), label="B")
    [j] = proto.judge([sample], Runner(FakeBackend(responder=_cycling)))
    groups = order_samples(j, "B")
    assert [(g.order, g.expected, len(g.texts)) for g in groups] == [("AB", "B", 3), ("BA", "A", 3)]
    assert [parsed_to_dict(p) for p in groups[0].parsed] == [
        {"ok": True, "label": "A"}, {"ok": True, "label": "B"}, {"ok": False, "reason": "no pairwise verdict found"},
    ]
    assert parsed_from_dict({"ok": True, "label": "A", "scores": [1, 2]}) == Verdict("A", scores=(1.0, 2.0))


def test_subsample_is_nested_and_seeded() -> None:
    subsets = [subsample("item", "AB", 8, k, seed=0) for k in (1, 2, 4, 8)]
    for small, big in zip(subsets, subsets[1:], strict=False):
        assert set(small) <= set(big)
    assert subsets[-1] == list(range(8))
    assert subsample("item", "AB", 8, 4, seed=0) == subsets[2]
    assert len({tuple(subsample(f"i{n}", "AB", 8, 2, seed=0)) for n in range(20)}) > 1
    with pytest.raises(ValueError):
        subsample("item", "AB", 4, 8, seed=0)


def _group(item: str, order: str, labels: list[str | None], expected: str) -> OrderSamples:
    parsed = tuple(Verdict(lab) if lab else ParseFailure("x", "") for lab in labels)
    return OrderSamples(item, order, "prompt", tuple(str(lab) for lab in labels), parsed, expected)


def test_compute_curve_vote_and_meta() -> None:
    # One order per item; the 4 samples are the same label-multiset in any subsample order.
    items = {
        "all-right": [_group("all-right", "single", ["A", "A", "A", "A"], "A")],
        "all-wrong": [_group("all-wrong", "single", ["B", "B", "B", "B"], "A")],
        "minority": [_group("minority", "single", ["A", "B", "B", "B"], "A")],
    }
    labels = {"all-right": "A", "all-wrong": "A", "minority": "A"}
    # The meta-RM rates the lone right sample of "minority" highest.
    scores = {("all-right", "single"): [0, 0, 0, 0], ("all-wrong", "single"): [0, 0, 0, 0],
              ("minority", "single"): [5, 0, 0, 0]}
    points = compute_curve(items, labels, [4], meta_scores=scores, k_meta=1)
    by = {(p.method, p.k): p for p in points}
    assert by[("majority@k", 4)].accuracy == pytest.approx(1 / 3)
    assert by[("meta@k", 4)].accuracy == pytest.approx(2 / 3) and by[("meta@k", 4)].k_meta == 1
    assert by[("meta@k", 4)].wilson[0] < 2 / 3 < by[("meta@k", 4)].wilson[1]
    with pytest.raises(ConfigError, match="more samples"):
        compute_curve(items, labels, [8])


def test_run_scale_and_cli_with_fake_backend(tmp_path: Path) -> None:
    samples = [Sample(id=f"s{i}", prompt=f"q{i}", responses=("x", "y"), label="AB"[i % 2]) for i in range(6)]
    backend = FakeBackend()
    runner = Runner(backend, CallCache(tmp_path / "calls.sqlite"))
    proto = get_protocol("pairwise", JudgeConfig(seed=2))
    result = run_scale(samples, proto, runner, [1, 2, 4], tmp_path / "curve",
                       scorer=lambda pairs: [float(len(t) % 5) for _, t in pairs])
    # greedy: one call with n=1; sampled: one call with n=max k for both orders of every item.
    assert [(c["prompts"], c["n"]) for c in backend.calls] == [(12, 1), (12, 4)]
    data = json.loads(result.json_path.read_text())
    methods = [(p["method"], p["k"]) for p in data["points"]]
    assert methods == [("greedy", 1), ("majority@k", 1), ("meta@k", 1), ("majority@k", 2), ("meta@k", 2),
                       ("majority@k", 4), ("meta@k", 4)]
    assert result.png_path.read_bytes()[:4] == b"\x89PNG"
    # Re-running the curve draws nothing new and gives the same points.
    again = FakeBackend(responder=lambda *a: pytest.fail("the cache should answer"))
    rerun = run_scale(samples, proto, Runner(again, runner.cache), [1, 2, 4], tmp_path / "again",
                      scorer=lambda pairs: [float(len(t) % 5) for _, t in pairs])
    assert again.calls == [] and rerun.points == result.points


def test_cli_scale_and_meta_rm_data(tmp_path: Path) -> None:
    from judgekit.cli import app

    rows = [{"id": f"p{i}", "prompt": f"q{i}", "response_a": "a", "response_b": "b", "label": "A"} for i in range(4)]
    data = tmp_path / "pairs.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    cli = CliRunner()
    res = cli.invoke(app, ["scale", str(data), "--backend", "fake", "--k", "1,2", "-o", str(tmp_path / "s")])
    assert res.exit_code == 0, res.output
    assert "majority@k" in res.output and (tmp_path / "s" / "curve.png").is_file()
    res = cli.invoke(app, ["scale", str(data), "--backend", "fake", "--k", "1,x"])
    assert res.exit_code == 2 and "comma-separated" in res.output
    res = cli.invoke(app, ["meta-rm", "data", str(data), "--backend", "fake", "--samples", "3",
                           "-o", str(tmp_path / "d")])
    assert res.exit_code == 0, res.output
    lines = (tmp_path / "d" / "meta_rows.jsonl").read_text().splitlines()
    assert len(lines) == 4 * 2 * 3  # items x orders x samples
    res = cli.invoke(app, ["judge", str(data), "-p", "pairwise", "--backend", "fake", "--samples", "3",
                           "--reduce", "meta", "-o", str(tmp_path / "j")])
    assert res.exit_code == 2 and "--meta-rm" in res.output


def test_meta_reducer_scores_a_turn_in_one_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    def scorer(pairs: list[tuple[str, str]]) -> list[float]:
        calls.append(len(pairs))
        return [1.0 if "[[B]]" in text else 0.0 for _, text in pairs]

    config = JudgeConfig(samples=5, temperature=0.7, reduce="meta", options=(("k_meta", "1"),))
    reduce = get_reducer("meta", config, scorer=scorer)
    import judgekit.protocols.single as single

    monkeypatch.setattr(single, "reducer_for", lambda cfg: reduce)
    results = run_turn(PROMPTS, Runner(FakeBackend(responder=_cycling)), PAIRWISE, config, name="v")
    assert calls == [9]  # one batch: 3 prompts x 3 distinct sample texts
    # majority would be a tie (2 A, 2 B); the meta scorer prefers B and keeps one sample
    assert [r.parsed.label for r in results] == ["B", "B", "B"]  # type: ignore[union-attr]
