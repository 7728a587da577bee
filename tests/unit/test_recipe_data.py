"""The judge recipe's data: split, augmentations, traces, SFT rows (real shared data)."""

from __future__ import annotations

import json
import random
import re
import sys
from pathlib import Path

import pytest

from judgekit.core.data import load_samples
from judgekit.core.formats import PAIRWISE, VERIFY
from judgekit.probe.augment import TRAINING_OPENERS
from judgekit.probe.keys import bundled_keys
from judgekit.train.recipe.build import DataOptions, check_files, sft_records, write_source_files
from judgekit.train.recipe.crome import crome_pairwise, crome_verify, neutral_variant, truncated, wrong_number
from judgekit.train.recipe.split import SOURCES, assert_disjoint, base_id, make_split, read_split, split_rows
from judgekit.train.recipe.traces import final_answer, rule_reasoning, target, verify_reasoning
from tests.conftest import SHARED_DATA

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "training"))
SPLIT = ROOT / "training" / "split.json"
DEFENSE_HELDOUT_KEYS = ("Step 1:", "Sure!", "Okay", "Let me think.")


def test_split_groups_never_straddle():
    rows = [{"id": f"r{i}", "q": i // 4} for i in range(40)]
    held, groups = split_rows(rows, 10, seed=3, group=lambda r: str(r["q"]), item_id=lambda r: r["id"])
    assert len(held) == 12 and groups == 3  # whole groups of 4 until >= 10 rows
    held_q = {int(h[1:]) // 4 for h in held}
    assert all(r["id"] in held for r in rows if r["q"] in held_q)
    again, _ = split_rows(rows, 10, seed=3, group=lambda r: str(r["q"]), item_id=lambda r: r["id"])
    other, _ = split_rows(rows, 10, seed=4, group=lambda r: str(r["q"]), item_id=lambda r: r["id"])
    assert again == held and other != held


def test_committed_split_matches_the_data(shared_data):
    """training/split.json is what the seeded split of today's data gives, and groups hold."""
    recorded = json.loads(SPLIT.read_text(encoding="utf-8"))["sources"]
    fresh = make_split(shared_data, seed=0)
    for name, entry in recorded.items():
        assert entry["sha256"] == fresh[name].sha256, f"{name}: data file changed since the split was made"
        assert entry["heldout_ids"] == list(fresh[name].heldout_ids)
    gsm = [json.loads(line) for line in (shared_data / SOURCES["gsm8k"].relpath).open(encoding="utf-8")]
    held = set(recorded["gsm8k"]["heldout_ids"])
    held_questions = {r["question_index"] for r in gsm if r["id"] in held}
    assert all(r["id"] in held for r in gsm if r["question_index"] in held_questions)


def test_base_id_and_disjointness():
    assert base_id("gsm8k-test-3-6b::crome-polite") == "gsm8k-test-3-6b"
    assert base_id("gsm8k-test-3-6b-masterrm-7") == "gsm8k-test-3-6b"
    assert base_id("LLMBar/Natural#2:BA") == "LLMBar/Natural#2"
    assert assert_disjoint({"x": {"a"}}, ["b", "c::crome-lines"], "f") == 2
    with pytest.raises(ValueError, match="held-out id"):
        assert_disjoint({"x": {"a"}}, ["b", "a-masterrm-0"], "f")


def test_training_openers_are_not_probe_keys():
    probe = {k.key.strip().lower() for k in bundled_keys().keys} | {k.lower() for k in DEFENSE_HELDOUT_KEYS}
    openers = [k for k, _ in TRAINING_OPENERS]
    assert len(openers) == len(set(openers)) >= 20
    assert not {o.strip().lower() for o in openers} & probe
    assert {f for _, f in TRAINING_OPENERS} == set(bundled_keys().families())


@pytest.fixture(scope="module")
def recipe_files(tmp_path_factory):
    shared_data = SHARED_DATA
    out = tmp_path_factory.mktemp("recipe")
    heldout = read_split(SPLIT)
    opts = DataOptions(max_items={"gsm8k": 40, "llmbar": 6, "hhh": 6, "pandalm": 10}, crome=True, seed=0)
    report = write_source_files(shared_data, heldout, out, opts)
    return out, report


def test_training_files_exclude_heldout_and_probe_keys(recipe_files):
    out, report = recipe_files
    heldout = read_split(SPLIT)
    files = sorted(out.glob("train_*.jsonl"))
    assert len(files) == 4
    assert check_files(SPLIT, files) == sum(v["train"] for v in report.values())
    keys = {k.key for k in bundled_keys().keys}
    gsm = [json.loads(line) for line in (out / "train_gsm8k.jsonl").open(encoding="utf-8")]
    masters = [r for r in gsm if r["augment"]["kind"].startswith("master-rm")]
    assert masters and all(r["label"] is False for r in masters)
    assert not [r for r in gsm if r["response"] in keys], "a bundled probe key reached a training file"
    assert {r["augment"]["kind"] for r in gsm} >= {"original", "master-rm:opener", "crome-causal:wrong-number"}
    for name in SOURCES:
        held_rows = [json.loads(line) for line in (out / f"heldout_{name}.jsonl").open(encoding="utf-8")]
        assert {SOURCES[name].item_id(r) for r in held_rows} == heldout[name]


def test_a_leaked_id_is_caught(recipe_files, tmp_path):
    out, _ = recipe_files
    leaked = tmp_path / "train_leak.jsonl"
    first_held = sorted(read_split(SPLIT)["llmbar"])[0]
    leaked.write_text(json.dumps({"id": first_held + ":AB"}) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="held-out id"):
        check_files(SPLIT, [leaked])


def test_sft_rows_balance_orders_and_match_the_formats(recipe_files):
    out, _ = recipe_files
    files = [(name, out / f"train_{name}.jsonl") for name in SOURCES]
    records = sft_records(files, seed=0)
    pairwise = [r for r in records if r["source"] != "gsm8k"]
    by_item: dict[str, set[str]] = {}
    for r in pairwise:
        by_item.setdefault(r["item_id"], set()).add(r["order"])
    assert all(v == {"AB", "BA"} for v in by_item.values())
    verdicts = [re.search(r"\[\[(\w+)\]\]", r["completion"][0]["content"]).group(1) for r in pairwise]
    assert verdicts.count("A") == verdicts.count("B") > 0
    modes = {r["mode"] for r in records}
    assert modes == {"logit", "generative"}
    for r in records:
        text = r["completion"][0]["content"]
        fmt = VERIFY if r["source"] == "gsm8k" else PAIRWISE
        if r["mode"] == "generative":
            assert re.fullmatch(fmt.regex, text), text
        else:
            assert text.startswith(fmt.logit_prefix)
            assert any(text == fmt.logit_prefix + c + ("]]" if fmt is PAIRWISE else "")
                       for c in fmt.logit_choices.values()), text
        assert fmt.parse(text).label is not None


@pytest.mark.parametrize(("text", "answer"), [
    ("She makes 9 * 2 = $<<9*2=18>>18 every day.\n#### 18", "18"),
    ("so 13 * 2 = $26\nA: 26", "26"),
    ("The answer is $1,250.", "1250"),
    ("we get \\boxed{42}.", "42"),
    ("Total: 3.50 dollars, then 7.0", "7"),
    ("no numbers here", None),
])
def test_final_answer(text, answer):
    assert final_answer(text) == answer


def test_rule_traces_on_real_gsm8k_rows(shared_data):
    samples = load_samples(shared_data / SOURCES["gsm8k"].relpath, "verify", limit=8)
    for s in samples:
        reasoning = verify_reasoning(s, s.label)
        assert str(s.metadata["candidate_answer"]).replace(",", "") in reasoning
        assert ("does not match" in reasoning) == (s.label == "incorrect")
        assert VERIFY.parse(target(VERIFY, s.label, reasoning)).label == s.label
        compare = rule_reasoning(VERIFY, s, s.label, "rule-compare")
        answer, reference = str(s.metadata["candidate_answer"]).replace(",", ""), str(s.reference).replace(",", "")
        relation = "the same" if s.label == "correct" else "different"
        assert compare.endswith(f"; {answer} and {reference} are {relation}."), compare
        assert compare.index(reference) < compare.index(relation)  # both answers named before the comparison
        assert VERIFY.parse(target(VERIFY, s.label, compare)).label == s.label
    with pytest.raises(ValueError, match="trace kind"):
        rule_reasoning(VERIFY, samples[0], "correct", "rule-comparison")


def test_crome_rules_table():
    rng = random.Random(0)
    assert wrong_number("so 6 + 12 = 18\n#### 18", "18", rng) not in (None, "so 6 + 12 = 18\n#### 18")
    assert "18" not in (wrong_number("x = 18. #### 18", "18", random.Random(1)) or "18")
    assert wrong_number("no answer", "18", rng) is None
    assert truncated("One. Two. Three. Four.") == "One. Two."
    assert truncated("Only one sentence") is None
    for kind in ("polite", "padding", "lines"):
        assert "#### 18" in neutral_variant("We add. #### 18", kind, random.Random(0))
    with pytest.raises(ValueError, match="unknown neutral kind"):
        neutral_variant("x", "shouting", rng)


def test_crome_on_real_rows(shared_data):
    gsm = load_samples(shared_data / SOURCES["gsm8k"].relpath, "verify", limit=12)
    out = crome_verify(gsm, seed=0)
    causal = [s for s in out if s.metadata["augment"]["kind"] == "crome-causal:wrong-number"]
    assert causal and all(s.label == "incorrect" for s in causal)
    assert len(causal) <= sum(s.label == "correct" for s in gsm)
    neutral = [s for s in out if s.metadata["augment"]["kind"].startswith("crome-neutral")]
    by_id = {s.id: s for s in gsm}
    assert all(s.label == by_id[s.metadata["augment"]["source_id"]].label for s in neutral)
    pairs = load_samples(shared_data / SOURCES["llmbar"].relpath, "pairwise", limit=10)
    for s in crome_pairwise(pairs, seed=0):
        kind = s.metadata["augment"]["kind"]
        src = next(p for p in pairs if p.id == s.metadata["augment"]["source_id"])
        winner = src.responses[0] if src.label == "A" else src.responses[1]
        if kind == "crome-causal:truncated":
            assert s.responses[0 if s.label == "A" else 1] == winner
        else:
            assert s.label == "tie" and s.responses[0] == winner


def test_rationalization_keeps_only_traces_that_parse_to_the_gold_label():
    from judgekit.backends.fake import FakeBackend
    from judgekit.core.runner import Runner
    from judgekit.core.types import Sample
    from judgekit.train.recipe.traces import rationalized_traces

    seen = []

    def writer(prompt, index, params):
        seen.append(params.constraint.pattern)
        hint = prompt.messages[-1].content
        assert "The correct final line is" in hint
        if "p2" in prompt.messages[1].content:  # a writer that ignores the hint: dropped by the parser
            return "Reasoning: both fine\nVerdict: [[tie]]"
        verdict = hint.split('"')[1]
        return f"Reasoning: the better one is clear\n{verdict}"

    samples = [Sample(id="p1", prompt="p1 question", responses=("good", "bad"), label="A"),
               Sample(id="p2", prompt="p2 question", responses=("bad", "good"), label="B")]
    rows, counts = rationalized_traces(samples, "pairwise", Runner(FakeBackend(responder=writer)))
    assert counts == {"prompts": 4, "kept": 2, "dropped": 2}
    assert {(r["id"], r["order"]) for r in rows} == {("p1", "AB"), ("p1", "BA")}
    assert {r["trace"].splitlines()[-1] for r in rows} == {"Verdict: [[A]]", "Verdict: [[B]]"}
    assert all(p.endswith(r"Verdict:\ \[\[A\]\]") or p.endswith(r"Verdict:\ \[\[B\]\]") for p in seen)


def test_focus_set_keeps_every_verification_logit_row_and_samples_the_rest(recipe_files):
    import recipe_data

    out, _ = recipe_files
    records = sft_records([(name, out / f"train_{name}.jsonl") for name in SOURCES], seed=0)
    verify_logit = [r["id"] for r in records if r["source"] == "gsm8k" and r["mode"] == "logit"]
    chosen = recipe_data.focus_records(records, generative=5, pairwise=4, seed=0)
    ids = [r["id"] for r in chosen]
    assert len(ids) == len(set(ids)) == len(verify_logit) + 5 + 4
    assert set(verify_logit) <= set(ids)
    assert sum(r["source"] == "gsm8k" and r["mode"] == "generative" for r in chosen) == 5
    pair = [r for r in chosen if r["source"] != "gsm8k"]
    assert len(pair) == 4 and all(r["mode"] == "logit" for r in pair)
    assert [r["id"] for r in recipe_data.focus_records(records, 5, 4, seed=0)] == ids
    assert [r["id"] for r in recipe_data.focus_records(records, 5, 4, seed=1)] != ids
    huge = recipe_data.focus_records(records, generative=10**6, pairwise=10**6, seed=0)
    assert len(huge) == len(records) - sum(r["source"] != "gsm8k" and r["mode"] == "generative" for r in records)


def test_curve_finds_checkpoints_in_step_order(tmp_path):
    import recipe_curve

    for step in (135, 45, 90):
        ckpt = tmp_path / "sft2" / "trainer" / f"checkpoint-{step}"
        ckpt.mkdir(parents=True)
        (ckpt / "adapter_config.json").write_text("{}")
        (ckpt / "adapter_model.safetensors").write_bytes(b"")
    (tmp_path / "sft2" / "trainer" / "checkpoint-180").mkdir()  # no adapter (a full fine-tune): not a point
    (tmp_path / "sft2" / "trainer" / "runs").mkdir()
    assert [s for s, _ in recipe_curve.checkpoints(tmp_path / "sft2")] == [45, 90, 135]


def test_shipped_adapter_sums_every_stage(tmp_path):
    import ship_judge
    import torch
    from safetensors.torch import save_file

    stem = "base_model.model.model.layers.0.self_attn.q_proj"
    torch.manual_seed(0)
    dirs, expected = [], torch.zeros(6, 5)
    for i, (r, alpha) in enumerate(((2, 4), (3, 3), (1, 2))):
        a, b = torch.randn(r, 5), torch.randn(6, r)
        d = tmp_path / f"stage{i}"
        d.mkdir()
        save_file({f"{stem}.lora_A.weight": a, f"{stem}.lora_B.weight": b}, str(d / "adapter_model.safetensors"))
        (d / "adapter_config.json").write_text(json.dumps({"r": r, "lora_alpha": alpha}))
        dirs.append(d)
        expected += (alpha / r) * b @ a
    tensors, config = ship_judge.combine(dirs)
    assert config["r"] == config["lora_alpha"] == 6
    delta = tensors[f"{stem}.lora_B.weight"].float() @ tensors[f"{stem}.lora_A.weight"].float()
    torch.testing.assert_close(delta, expected, atol=2e-2, rtol=2e-2)


def test_position_diagnosis_separates_position_pull_from_content(tmp_path):
    import recipe_table

    held = tmp_path / "heldout.jsonl"
    items = [("x1", "A"), ("x2", "B"), ("x3", "A"), ("x4", "tie")]
    held.write_text("".join(json.dumps({"id": i, "prompt": "q", "response_a": "a", "response_b": "b", "label": lab})
                            + "\n" for i, lab in items), encoding="utf-8")

    def probs(d: float) -> dict:  # log-odds d of the original A over the original B
        import math

        pa = 1 / (1 + math.exp(-d))
        return {"A": pa, "B": 1 - pa, "tie": 0.0}

    # pull +1 towards the first-shown response everywhere; content +0.5 for x1, -0.5 for x2, +0.5 for x3 (wrong) ...
    content = {"x1": 0.5, "x2": -0.5, "x3": -0.5, "x4": 0.5}
    rows = [{"sample_id": i, "per_order": [{"order": "AB", "probs": probs(1 + content[i])},
                                           {"order": "BA", "probs": probs(-1 + content[i])}]} for i, _ in items]
    rows.append({"sample_id": "x1", "per_order": [{"order": "AB", "probs": None}]})  # a failed order: skipped
    res = tmp_path / "results.jsonl"
    res.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    diag = recipe_table.position_diagnosis(res, held)
    assert diag["n"] == 4
    assert diag["position_pull"] == pytest.approx(1.0)
    assert diag["order_averaged_accuracy"] == pytest.approx(0.5)  # x1, x2 right; x3 wrong; the tie label is wrong


def test_focus_stage_rechecks_its_output_against_the_held_out_split(tmp_path, capsys):
    """Issue 29 item 14c: the focus stage re-reads sft_focus.jsonl against the split (not `checked = 0`)."""
    import recipe_data

    held = sorted(read_split(SPLIT)["gsm8k"])[0]
    row = {"source": "gsm8k", "mode": "logit", "messages": [], "target": "x"}
    clean = [dict(row, id=f"train-{i}") for i in range(3)]
    (tmp_path / "sft.jsonl").write_text("".join(json.dumps(r) + "\n" for r in clean), encoding="utf-8")
    recipe_data.main(["focus", "--data", str(tmp_path), "--split", str(SPLIT), "--generative", "0", "--pairwise", "0"])
    assert "3 ids checked against the split" in capsys.readouterr().out
    leaked = [*clean, dict(row, id=f"{held}-masterrm-1")]  # a row derived from a held-out item
    (tmp_path / "sft.jsonl").write_text("".join(json.dumps(r) + "\n" for r in leaked), encoding="utf-8")
    with pytest.raises(ValueError, match="held-out id"):
        recipe_data.main(["focus", "--data", str(tmp_path), "--split", str(SPLIT), "--generative", "0",
                          "--pairwise", "0"])
