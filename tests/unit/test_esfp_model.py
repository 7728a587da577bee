"""ESFP stage 2: label-word probabilities, symmetrisation, training, save/reload, reward fn.

A tiny BERT (32 hidden units, a 40-word vocabulary) built in a temp dir stands in for
the encoder, so these tests run in seconds and need no download.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from judgekit.core.errors import ConfigError
from judgekit.core.types import Sample
from judgekit.esfp.model import ESFPMeta, ESFPModel, esfp_reward_fn, pair_verdict, softmax_over, symmetrise
from judgekit.esfp.slots import Layout, Verbalizer
from judgekit.esfp.train import TrainConfig, split, train_split

WORDS = (
    "first", "second", "good", "bad", "question", "response", "about", "the", "of", "two", "responses", "one", "is",
    "better", "overall", "answer", "correct", "wrong", "helpful", "useless", "paris", "london", "capital", "france",
    "yes", "no", "it", "a", "and", "what",
)
GOOD = ("the answer is correct and helpful", "correct helpful answer paris", "paris is the correct answer")
BAD = ("the answer is wrong and useless", "wrong useless answer london", "london is the wrong answer")
LAYOUT = Layout(max_length=48, explanation_max=8)


def build_tiny(path: Path, seed: int = 0) -> Path:
    """A tiny randomly initialised BertForMaskedLM + word-level tokenizer saved at ``path``."""
    import torch
    from transformers import BertConfig, BertForMaskedLM, BertTokenizer

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ",", ".", ":", "?", *WORDS]
    tok = BertTokenizer(vocab={w: i for i, w in enumerate(vocab)})
    torch.manual_seed(seed)
    cfg = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=64)
    path.mkdir(parents=True, exist_ok=True)
    BertForMaskedLM(cfg).save_pretrained(str(path))
    tok.save_pretrained(str(path))
    return path


def separable(n: int, seed: int = 0) -> list[Sample]:
    """Pairs where the better response always says correct/helpful, half with A better."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        g, b = rng.choice(GOOD), rng.choice(BAD)
        a_first = i % 2 == 0
        out.append(Sample(id=f"s{i:03d}", prompt="what is the capital of france ?",
                          responses=(g, b) if a_first else (b, g), label="A" if a_first else "B"))
    return out


def explanations_for(samples: list[Sample]) -> dict[str, list[str]]:
    return {s.id: ["yes it is correct" if "correct" in r else "no it is wrong" for r in s.responses] for s in samples}


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch

    torch.set_num_threads(1)
    return build_tiny(tmp_path_factory.mktemp("tiny") / "mlm")


@pytest.fixture(scope="module")
def trained(tiny_dir: Path) -> tuple[ESFPModel, list[Sample], dict[str, list[str]]]:
    samples = separable(24)
    ex = explanations_for(samples)
    cfg = TrainConfig(epochs=8, lr=1e-2, batch_size=8, layout=LAYOUT)
    model, _ = train_split(samples, samples[:6], ex, cfg, encoder=tiny_dir)
    return model, samples, ex


# ---- pure functions -------------------------------------------------------------------

@pytest.mark.parametrize("logits", [[0.0, 0.0], [3.0, -2.0], [1000.0, -1000.0], [-5.0, -5.5, 7.0]])
def test_softmax_over_label_words_normalises(logits: list[float]) -> None:
    labels = [f"l{i}" for i in range(len(logits))]
    probs = softmax_over(logits, labels)
    assert sum(probs.values()) == pytest.approx(1.0, abs=1e-12)
    assert max(probs, key=lambda k: probs[k]) == labels[logits.index(max(logits))]


@pytest.mark.parametrize("p_ab,p_ba", [
    ({"A": 0.9, "B": 0.1}, {"A": 0.3, "B": 0.7}),
    ({"A": 0.123456789, "B": 0.876543211}, {"A": 0.5, "B": 0.5}),
    ({"A": 1e-12, "B": 1 - 1e-12}, {"A": 0.4, "B": 0.6}),
])
def test_symmetrisation_is_exact(p_ab: dict[str, float], p_ba: dict[str, float]) -> None:
    forward = symmetrise(p_ab, p_ba)
    # judging (b, a) sees the same two inputs in the other roles: results swap exactly
    backward = symmetrise(p_ba, p_ab)
    assert forward["A"] == backward["B"] and forward["B"] == backward["A"]
    assert forward["A"] == (p_ab["A"] + p_ba["B"]) / 2


def test_pair_verdict_tie_only_when_equal() -> None:
    assert pair_verdict({"A": 0.5, "B": 0.5}) == "tie"
    assert pair_verdict({"A": 0.5000001, "B": 0.4999999}) == "A"
    assert pair_verdict({"A": 0.2, "B": 0.8}) == "B"


def test_meta_round_trips_through_json() -> None:
    meta = ESFPMeta(trained=True, use_explanation=False, layout=Layout(100, 20, "head_tail"),
                    pairwise=Verbalizer(("A", "B"), ("left", "right")), metrics={"x": 1})
    again = ESFPMeta.from_dict(json.loads(json.dumps(meta.to_dict())))
    assert again == meta


# ---- the model ------------------------------------------------------------------------

def test_probabilities_normalise_and_orders_symmetrise(trained: tuple) -> None:
    model, samples, ex = trained
    s = samples[0]
    fwd = model.score_pairs([(s.prompt, s.responses[0], s.responses[1])], [ex[s.id]])[0]
    bwd = model.score_pairs([(s.prompt, s.responses[1], s.responses[0])], [ex[s.id][::-1]])[0]
    for probs in (fwd.probs, *fwd.per_order):
        assert sum(probs.values()) == pytest.approx(1.0, abs=1e-9)
    assert fwd.probs["A"] == pytest.approx(bwd.probs["B"], abs=1e-6)
    points = model.score_points([(s.prompt, r) for r in s.responses], ex[s.id])
    assert all(sum(p.values()) == pytest.approx(1.0, abs=1e-9) for p, _ in points)


def test_training_moves_predictions_the_right_way(tiny_dir: Path, trained: tuple) -> None:
    from judgekit.esfp.encoder import load_encoder

    model, samples, ex = trained
    before = ESFPModel(encoder=load_encoder(tiny_dir), meta=ESFPMeta(layout=LAYOUT))

    def gold_prob(m: ESFPModel) -> float:
        scores = m.score_pairs([(s.prompt, *s.responses) for s in samples], [ex[s.id] for s in samples])
        return sum(sc.probs[s.label] for s, sc in zip(samples, scores, strict=True)) / len(samples)

    stats = model.meta.metrics["train"]
    assert stats["loss_last"] < stats["loss_first"]
    assert gold_prob(model) > gold_prob(before) + 0.05


def test_pointwise_and_pairwise_agree_in_sign_on_constructed_cases(trained: tuple) -> None:
    model, _, _ = trained
    cases = [(g, b) for g in GOOD for b in BAD]
    q = "what is the capital of france ?"
    for good, bad in cases:
        for a, b in ((good, bad), (bad, good)):
            ea, eb = ("yes it is correct" if x is good else "no it is wrong" for x in (a, b))
            pair = model.score_pairs([(q, a, b)], [[ea, eb]])[0].probs
            (pa, _), (pb, _) = model.score_points([(q, a), (q, b)], [ea, eb])
            assert (pair["A"] > pair["B"]) == (pa["good"] > pb["good"]), (a, b, pair, pa, pb)
            assert (pair["A"] > pair["B"]) == (a is good)


def test_save_reload_gives_identical_scores(trained: tuple, tmp_path: Path) -> None:
    model, samples, ex = trained
    model.save(tmp_path / "m")
    assert json.loads((tmp_path / "m" / "esfp.json").read_text())["trained"] is True
    again = ESFPModel.load(tmp_path / "m", batch_size=model.batch_size)
    items = [(s.prompt, *s.responses) for s in samples[:5]]
    exs = [ex[s.id] for s in samples[:5]]
    assert [x.probs for x in model.score_pairs(items, exs)] == [x.probs for x in again.score_pairs(items, exs)]


def test_load_refuses_untrained_or_foreign_dirs(tiny_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a trained ESFP model"):
        ESFPModel.load(tiny_dir)
    fake = tmp_path / "untrained"
    fake.mkdir()
    (fake / "esfp.json").write_text(json.dumps(ESFPMeta(trained=False).to_dict()))
    with pytest.raises(ConfigError, match="untrained"):
        ESFPModel.load(fake)


def test_reward_fn_follows_the_trl_contract(trained: tuple, tmp_path: Path) -> None:
    from judgekit.backends.fake import FakeBackend
    from judgekit.core.runner import Runner

    model, _, _ = trained
    model.save(tmp_path / "m")
    runner = Runner(FakeBackend(responder=lambda p, i, params: "yes it is correct"
                                if "correct" in p.messages[-1].content else "no it is wrong"))
    reward = esfp_reward_fn(tmp_path / "m", runner=runner)
    q = "what is the capital of france ?"
    conv = [[{"role": "assistant", "content": GOOD[0]}], [{"role": "assistant", "content": BAD[0]}]]
    out = reward(conv, prompts=[[{"role": "user", "content": q}]] * 2)
    assert all(isinstance(x, float) and 0 <= x <= 1 for x in out)
    assert out[0] > out[1]
    assert reward([GOOD[1], 42], prompts=[q, q])[1] is None
    with pytest.raises(ConfigError, match="needs a runner"):
        esfp_reward_fn(tmp_path / "m")


def test_split_is_fixed_by_seed_and_disjoint() -> None:
    samples = separable(30)
    tr, ev = split(samples, 0.2, seed=7)
    tr2, ev2 = split(list(reversed(samples)), 0.2, seed=7)
    assert {s.id for s in ev} == {s.id for s in ev2} and len(ev) == 6
    assert not {s.id for s in tr} & {s.id for s in ev}
    assert {s.id for s in split(samples, 0.2, seed=8)[1]} != {s.id for s in ev}
