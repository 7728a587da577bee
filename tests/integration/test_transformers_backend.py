"""The transformers backend on the real embedded model (SmolLM2-135M-Instruct, CPU).

One model load per module; every generation is a few tokens so the file stays around
a minute on two cores.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("outlines_core")

from judgekit.backends.constrain import relax_repeats  # noqa: E402
from judgekit.backends.transformers import TransformersBackend  # noqa: E402
from judgekit.core.backend import Backend, PromptTooLongError  # noqa: E402
from judgekit.core.models import convert_gguf  # noqa: E402
from judgekit.core.types import Constraint, GenerationParams, Message, Prompt  # noqa: E402

pytestmark = pytest.mark.integration

VERDICT_RX = r"Reasoning: [^\n\[\]]{0,200}\nVerdict: \[\[(A|B|tie)\]\]"
SHORT_RX = r"Reasoning: [a-z ]{1,12}\nVerdict: \[\[(A|B|tie)\]\]"


def _prompt(question: str, prefix: str = "") -> Prompt:
    return Prompt((Message("user", question),), template="t", template_hash="h", assistant_prefix=prefix)


PROMPTS = [
    _prompt("What is 2+2?"),
    _prompt("Name a color."),
    _prompt("Which answer is right? A: Paris is in France. B: Paris is in Spain. Reply with [[A]] or [[B]]."),
    _prompt("Say hi."),
]


@pytest.fixture(scope="module")
def backend() -> TransformersBackend:
    return TransformersBackend(batch_size=4)


def test_is_a_backend_with_info(backend: TransformersBackend) -> None:
    assert isinstance(backend, Backend)
    info = backend.info()
    assert info["model_id"] == backend.model_id and backend.model_id.startswith("SmolLM2-135M-Instruct")
    assert info["max_context"] == 8192
    assert info["versions"]["torch"] and info["versions"]["outlines"]


def test_greedy_batched_equals_one_by_one(backend: TransformersBackend) -> None:
    params = GenerationParams(max_new_tokens=8)
    batched = backend.generate(PROMPTS[:3], params)
    single = [backend.generate([p], params)[0] for p in PROMPTS[:3]]
    assert [g[0].text for g in batched] == [g[0].text for g in single]
    assert all(len(g) == 1 and 0 < g[0].num_tokens <= 8 for g in batched)
    assert all(g[0].finish_reason in {"stop", "length"} for g in batched)


def test_sampling_n3_is_reproducible_per_seed(backend: TransformersBackend) -> None:
    params = GenerationParams(max_new_tokens=8, temperature=1.0, n=3, seed=7)
    first = backend.generate(PROMPTS[:2], params)
    again = backend.generate(PROMPTS[:2], params)
    other = backend.generate(PROMPTS[:2], GenerationParams(max_new_tokens=8, temperature=1.0, n=3, seed=8))
    texts = [[g.text for g in gens] for gens in first]
    assert all(len(gens) == 3 for gens in first)
    assert texts == [[g.text for g in gens] for gens in again]
    assert texts != [[g.text for g in gens] for gens in other]
    assert any(len(set(t)) > 1 for t in texts)  # three samples, not one copied


def test_a_sample_is_the_same_whatever_batch_or_first_index(backend: TransformersBackend) -> None:
    """Each sample draws from its own seeded generator: batch mates and n do not change it."""
    params = GenerationParams(max_new_tokens=8, temperature=1.0, n=3, seed=7)
    alone = [g.text for g in backend.generate([PROMPTS[1]], params)[0]]
    in_batch = [g.text for g in backend.generate([PROMPTS[3], PROMPTS[1]], params)[1]]
    assert in_batch == alone
    tail = backend.generate([PROMPTS[1]], GenerationParams(max_new_tokens=8, temperature=1.0, seed=7, first_index=2))
    assert tail[0][0].text == alone[2]
    assert len(set(alone)) > 1


def test_shared_prefill_n_copies_match_one_sample(backend: TransformersBackend) -> None:
    """n continuations come from one prefill: greedy n=3 repeats the n=1 text, left padding included."""
    params = GenerationParams(max_new_tokens=8)
    single = backend.generate(PROMPTS[:3], params)  # three lengths: rows are left-padded
    shared = backend.generate(PROMPTS[:3], GenerationParams(max_new_tokens=8, n=3))
    assert [[g.text for g in gens] for gens in shared] == [[g[0].text] * 3 for g in single]


def test_stop_strings_cut_the_text(backend: TransformersBackend) -> None:
    [[gen]] = backend.generate([PROMPTS[0]], GenerationParams(max_new_tokens=12, stop=(" ",)))
    assert " " not in gen.text and gen.finish_reason == "stop"


def test_constrained_regex_fullmatches_within_budget(backend: TransformersBackend) -> None:
    params = GenerationParams(max_new_tokens=20, constraint=Constraint("regex", VERDICT_RX), temperature=0.8, n=2)
    gens = backend.generate(PROMPTS, params)
    relaxed = relax_repeats(VERDICT_RX)
    assert relaxed == r"Reasoning: [^\n\[\]]{0,}\nVerdict: \[\[(A|B|tie)\]\]"
    assert [len(g) for g in gens] == [2, 2, 2, 2]
    for g in (g for per in gens for g in per):
        assert re.fullmatch(relaxed, g.text), g.text
        assert g.num_tokens <= 20


def test_constrained_regex_exact_bound_is_kept(backend: TransformersBackend) -> None:
    gens = backend.generate(PROMPTS, GenerationParams(max_new_tokens=24, constraint=Constraint("regex", SHORT_RX)))
    for [g] in gens:
        assert re.fullmatch(SHORT_RX, g.text), g.text


def test_json_schema_constraint_gives_valid_json(backend: TransformersBackend) -> None:
    schema = {
        "type": "object",
        "properties": {"verdict": {"type": "string", "enum": ["A", "B", "tie"]}, "score": {"type": "integer"}},
        "required": ["verdict", "score"],
    }
    params = GenerationParams(max_new_tokens=24, constraint=Constraint("json_schema", json.dumps(schema)))
    for [g] in backend.generate(PROMPTS[2:4], params):
        data = json.loads(g.text)
        assert set(data) == {"verdict", "score"}
        assert data["verdict"] in {"A", "B", "tie"} and isinstance(data["score"], int)


def test_score_choices_normalised(backend: TransformersBackend) -> None:
    prompts = [_prompt("Pick A or B.", "Verdict: [["), Prompt(PROMPTS[2].messages, "t", "h", "[[")]
    probs = backend.score_choices(prompts, ["A", "B", "tie"])
    assert len(probs) == 2
    for p in probs:
        assert set(p) == {"A", "B", "tie"}
        assert sum(p.values()) == pytest.approx(1.0)
    # batched scoring equals scoring alone (left padding handled with position ids)
    alone = backend.score_choices(prompts[1:], ["A", "B", "tie"])[0]
    assert alone == pytest.approx(probs[1], abs=1e-4)


def test_choices_sharing_a_first_token_are_refused(backend: TransformersBackend) -> None:
    with pytest.raises(ValueError, match="share a first token"):
        backend.score_choices([PROMPTS[0]], ["tie", "tie"])


def test_context_limit(backend: TransformersBackend) -> None:
    counts = backend.count_tokens(PROMPTS)
    assert all(c > 10 for c in counts) and counts[2] > counts[3]
    saved = backend.max_context
    backend.max_context = counts[2] + 4
    try:
        with pytest.raises(PromptTooLongError) as err:
            backend.generate(PROMPTS, GenerationParams(max_new_tokens=8))
        assert err.value.index == 2 and err.value.n_tokens == counts[2]
    finally:
        backend.max_context = saved


def test_failed_conversion_leaves_no_cache(tmp_path: Path) -> None:
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF-not-really")
    dest = tmp_path / "models" / "broken-123"
    with pytest.raises(Exception):  # noqa: B017 - any loader error will do
        convert_gguf(bad, dest)
    assert not dest.exists()
    assert list((tmp_path / "models").iterdir()) == []
