"""Meta-RM: rows, split, metrics, training on CPU, save/reload, and a subset it must change."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from judgekit.backends.fake import FakeBackend
from judgekit.core.data import DataError
from judgekit.core.runner import Runner
from judgekit.core.types import Generation, ParseFailure, Prompt, Sample, Verdict
from judgekit.protocols.base import JudgeConfig, get_protocol
from judgekit.protocols.single import run_turn
from judgekit.scaling.meta_rm import (
    MetaRM,
    MetaRow,
    TrainConfig,
    binary_metrics,
    read_rows,
    rows_from_judgments,
    split_rows,
    train_meta_rm,
    write_rows,
)
from judgekit.scaling.reducers import get_reducer, meta_keep

WORDS = ["[PAD]", "[UNK]", "[system]", "[user]", "[sampled", "judgment]", "reasoning:", "verdict:", "[[a]]",
         "[[b]]", "[[tie]]", "good", "bad", "solid", "sloppy", "careful", "compare", "the", "responses"]


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny, randomly initialised Llama with a word-level tokenizer, saved as an HF dir."""
    import torch  # only training needs torch; the row, split and metric tests above it do not
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    path = tmp_path_factory.mktemp("tiny-base")
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="[UNK]"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]")
    fast.save_pretrained(str(path))
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(WORDS), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=128,
                         pad_token_id=0)
    LlamaForCausalLM(config).save_pretrained(str(path))
    return path


def _rows(n_items: int) -> list[MetaRow]:
    """Separable rows: a judgment that says 'careful solid' is right, 'sloppy bad' is wrong."""
    rows = []
    for i in range(n_items):
        for s in range(4):
            good = (s + i) % 2 == 0
            words, letter = ("careful solid", "a") if good else ("sloppy bad", "b")
            text = f"reasoning: {words} compare\nverdict: [[{letter}]]"
            rows.append(MetaRow(item_id=f"item-{i}", order="AB", sample_index=s, prompt="[user] compare the responses",
                                judgment=text, verdict="A" if good else "B", expected="A", correct=good))
    return rows


def test_rows_roundtrip_and_errors(tmp_path: Path) -> None:
    rows = _rows(3)
    write_rows(tmp_path / "rows.jsonl", rows)
    assert read_rows(tmp_path / "rows.jsonl") == rows
    (tmp_path / "bad.jsonl").write_text('{"item_id": "x"}\n')
    with pytest.raises(DataError, match="line 1"):
        read_rows(tmp_path / "bad.jsonl")
    (tmp_path / "torn.jsonl").write_text(json.dumps(rows[0].to_dict()) + "\n{not json\n")
    with pytest.raises(DataError, match="line 2"):
        read_rows(tmp_path / "torn.jsonl")


def test_split_is_by_item_and_seeded() -> None:
    rows = _rows(10)
    train, held = split_rows(rows, 0.2, seed=3)
    assert {r.item_id for r in train}.isdisjoint({r.item_id for r in held})
    assert len({r.item_id for r in held}) == 2 and len(train) + len(held) == len(rows)
    assert split_rows(rows, 0.2, seed=3) == (train, held)
    assert split_rows(rows, 0.0, seed=3) == (rows, [])


def test_binary_metrics_table() -> None:
    m = binary_metrics([2.0, 1.0, -1.0, -3.0], [True, False, True, False])
    assert m["accuracy"] == 0.5 and m["auc"] == 0.75 and m["positive_rate"] == 0.5
    assert binary_metrics([0.0], [True])["bce"] == pytest.approx(math.log(2))
    assert binary_metrics([], [])["auc"] is None


def test_rows_from_pairwise_judgments_label_each_order() -> None:
    # Always answers [[A]]: right in the A/B order when the label is A, wrong in B/A.
    backend = FakeBackend(responder=lambda p, i, params: "Reasoning: x.\nVerdict: [[A]]" if i else "garbage")
    proto = get_protocol("pairwise", JudgeConfig(samples=3, temperature=0.7))
    sample = Sample(id="s1", prompt="q", responses=("r1", "r2"), label="A")
    judgments = proto.judge([sample], Runner(backend))
    rows = rows_from_judgments([sample], judgments)
    assert [(r.order, r.sample_index, r.verdict, r.expected, r.correct) for r in rows] == [
        ("AB", 0, None, "A", False), ("AB", 1, "A", "A", True), ("AB", 2, "A", "A", True),
        ("BA", 0, None, "B", False), ("BA", 1, "A", "B", False), ("BA", 2, "A", "B", False),
    ]
    assert "Response A" in rows[0].prompt and rows[1].judgment.endswith("[[A]]")


def test_meta_vote_without_a_model() -> None:
    """The meta reducer's keep-and-vote logic with a scripted scorer (no torch needed)."""
    good = "Reasoning: careful\nVerdict: [[A]]"
    bad = "Reasoning: sloppy\nVerdict: [[B]]"
    texts = [bad, good, bad, good, bad, "no verdict"]
    parsed = [Verdict(label="B"), Verdict(label="A"), Verdict(label="B"), Verdict(label="A"), Verdict(label="B"),
              ParseFailure(reason="no pairwise verdict found", raw="no verdict")]
    seen: list[list[str]] = []

    def scorer(pairs):  # type: ignore[no-untyped-def]
        seen.append([t for _, t in pairs])
        return [0.99 if t == "no verdict" else 0.9 if "careful" in t else 0.1 for _, t in pairs]

    assert meta_keep(parsed, scorer([("p", t) for t in texts]), 2) == [1, 3]  # the failure is never kept
    config = JudgeConfig(samples=6, temperature=0.7, reduce="meta", options=(("k_meta", 2),))
    prompt = Prompt(messages=(), template="pairwise", template_hash="h")
    assert get_reducer("majority")(parsed).label == "B"
    assert get_reducer("meta", config, scorer=scorer)(parsed, texts=texts, prompt=prompt).label == "A"
    three = JudgeConfig(samples=6, temperature=0.7, reduce="meta", options=(("k_meta", 3),))
    assert get_reducer("meta", three, scorer=scorer)(parsed, texts=texts, prompt=prompt).label == "A"
    five = JudgeConfig(samples=6, temperature=0.7, reduce="meta", options=(("k_meta", 5),))
    assert get_reducer("meta", five, scorer=scorer)(parsed, texts=texts, prompt=prompt).label == "B"


def test_train_save_reload_and_the_kept_subset_changes(tiny_base: Path, tmp_path: Path) -> None:
    out = tmp_path / "meta"
    cfg = TrainConfig(base=str(tiny_base), steps=40, lr=3e-3, batch_size=8, max_length=32, eval_fraction=0.25)
    metrics = train_meta_rm(_rows(8), out, cfg)
    for name in ("config.json", "metrics.json", "meta_rm.json", "tokenizer.json"):
        assert (out / name).is_file(), name
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["eval_rows"] == 8 and saved["train_rows"] == 24
    # the trained item ids are recorded, so judging them later is warned about
    from judgekit.scaling.meta_rm import overlap_warning, training_overlap

    ids = sorted({r.item_id for r in _rows(8)})
    assert json.loads((out / "meta_rm.json").read_text())["item_ids"] == ids
    assert training_overlap(out, [ids[0], "unseen"]) == [ids[0]] and overlap_warning(out, ["unseen"]) is None
    assert metrics["eval"]["auc"] == 1.0 and metrics["eval"]["accuracy"] == 1.0
    assert metrics["eval"]["bce"] < metrics["eval_before"]["bce"]

    rm = MetaRM(out)
    pairs = [("[user] compare the responses", r.judgment) for r in _rows(1)]
    scores = rm.score(pairs)
    assert MetaRM(out).score(pairs) == scores  # reload gives identical scores

    # Three sloppy samples say B, two careful ones say A: majority says B; the meta-RM
    # keeps the two careful ones and the vote flips to A.
    good = "Reasoning: careful solid compare\nVerdict: [[A]]"
    bad = "Reasoning: sloppy bad compare\nVerdict: [[B]]"
    texts = [bad, good, bad, good, bad]
    parsed = [Verdict(label="B"), Verdict(label="A"), Verdict(label="B"), Verdict(label="A"), Verdict(label="B")]
    prompt = Prompt(messages=(), template="pairwise", template_hash="h")
    meta_scores = rm.score([(prompt.as_text(), t) for t in texts])
    assert meta_keep(parsed, meta_scores, 2) == [1, 3]
    config = JudgeConfig(samples=5, temperature=0.7, reduce="meta", options=(("meta_rm", str(out)), ("k_meta", 2)))
    reduce = get_reducer("meta", config)
    assert get_reducer("majority")(parsed).label == "B"
    assert reduce(parsed, texts=texts, prompt=prompt).label == "A"

    # The same through a protocol turn: k=5 continuations from one prompt call.
    def responder(p: Prompt, i: int, params: object) -> str:
        return texts[i]

    backend = FakeBackend(responder=responder)
    from judgekit.core.formats import PAIRWISE

    [result] = run_turn([prompt], Runner(backend), PAIRWISE, config, name="verdict")
    assert result.parsed.label == "A"  # type: ignore[union-attr]
    assert [c["n"] for c in backend.calls] == [5]
    assert [Generation(t).text for t in result.turn.parsed["raw"]] == texts  # type: ignore[index]
