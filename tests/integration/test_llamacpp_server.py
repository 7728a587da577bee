"""The HTTP backend against real llama.cpp servers on 127.0.0.1, one module run per server kind.

``llama-cpp-python``: the fixture serves the embedded SmolLM2-135M GGUF with
``python -m llama_cpp.server`` on a free port and stops it afterwards. Without
``llama-cpp-python[server]`` these tests skip, except when ``CI`` is set: CI builds the
package once per run (``scripts/build_llamacpp.sh``) and a missing server there is a failure.

``llama-server``: llama.cpp's C++ server (parallel slots, continuous batching, prompt
cache), built by ``scripts/build_llama_server.sh`` (pinned source, portable flags) and
found at ``$JUDGEKIT_LLAMA_SERVER`` or ``.ci/llama-server/bin/llama-server``; served with
4 slots. Without the binary these tests skip and say how to build it, except when ``CI``
is set: CI builds it (see docs/engines.md, "llama-server") and a missing binary there is a
failure.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from judgekit.backends.http_util import chat_template_from_gguf
from judgekit.backends.llamacpp_server import ServerStartError, llama_build_info, missing_server_modules, serve_gguf
from judgekit.backends.openai import OpenAIBackend
from judgekit.core.formats import FORMATS
from judgekit.core.models import default_model_path
from judgekit.core.runner import Runner
from judgekit.core.types import Constraint, GenerationParams, Message, ParseFailure, Prompt
from tests.unit.test_gbnf import every_regex

pytestmark = [pytest.mark.integration, pytest.mark.server]

STARTUP_TIMEOUT_S = 180
# One thread by default (see judgekit.backends.llamacpp_server.serve_gguf).
THREADS = int(os.environ.get("JUDGEKIT_LLAMACPP_THREADS", "1"))
ROOT = Path(__file__).resolve().parents[2]
SLOTS = 4  # llama-server's parallel slots
STYLES = {"llama-cpp-python": "llamacpp", "llama-server": "llama-server"}


@dataclass(frozen=True)
class Served:
    """A running server: its ``/v1`` URL, its kind and the constraint style judgekit should detect."""

    url: str
    kind: str

    @property
    def style(self) -> str:
        return STYLES[self.kind]


def llama_server_binary() -> Path | None:
    """The llama-server binary to test, if one was built."""
    given = os.environ.get("JUDGEKIT_LLAMA_SERVER")
    path = Path(given) if given else ROOT / ".ci" / "llama-server" / "bin" / "llama-server"
    return path if path.is_file() and os.access(path, os.X_OK) else None


def _missing(why: str, build: str) -> None:
    """Skip outside CI; under ``CI`` a missing tool is a failure (CI builds it)."""
    if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
        pytest.fail(f"{why}, but CI is set: build it first with {build}")
    pytest.skip(f"{why}; build it with {build} (required when CI is set)")


def _require_server_package() -> None:
    missing = missing_server_modules()
    if missing:
        _missing(f"llama-cpp-python[server] is not installed (missing: {', '.join(missing)})",
                 "scripts/build_llamacpp.sh")


@pytest.fixture(scope="module", params=list(STYLES))
def server(request: pytest.FixtureRequest) -> Iterator[Served]:
    """Start a llama.cpp server of each kind, yield it, stop it."""
    kind = request.param
    options: dict = {}
    if kind == "llama-server":
        binary = llama_server_binary()
        if binary is None:
            _missing("no llama-server binary ($JUDGEKIT_LLAMA_SERVER or .ci/llama-server/bin/llama-server)",
                     "scripts/build_llama_server.sh")
        options = {"server_bin": binary, "parallel": SLOTS}
    else:
        _require_server_package()
    try:
        with serve_gguf(default_model_path(), threads=THREADS, startup_timeout_s=STARTUP_TIMEOUT_S, **options) as url:
            yield Served(url, kind)
    except ServerStartError as err:
        pytest.fail(str(err))


def ask(text: str, prefix: str = "") -> Prompt:
    return Prompt(messages=(Message("user", text),), template="t", template_hash="h", assistant_prefix=prefix)


def test_chat_generation_in_order_and_deterministic(server: Served) -> None:
    backend = OpenAIBackend(server.url, "smollm2", api_key_env="", concurrency=2)
    prompts = [ask("What is 2+2? Answer briefly."), ask("Name a colour."), ask("What is 2+2? Answer briefly.")]
    out = backend.generate(prompts, GenerationParams(max_new_tokens=12))
    assert len(out) == 3 and all(len(g) == 1 for g in out)
    assert all(g[0].text.strip() and g[0].finish_reason in ("stop", "length") and g[0].num_tokens > 0 for g in out)
    assert out[0][0].text == out[2][0].text  # greedy: the same prompt gives the same text
    info = backend.info()
    assert info["constraint_style"] == server.style and "detected" in info["constraint_style_source"]


def test_n_samples(server: Served) -> None:
    backend = OpenAIBackend(server.url, "smollm2", api_key_env="")
    params = GenerationParams(n=3, temperature=1.0, max_new_tokens=8, seed=1)
    (gens,) = backend.generate([ask("Write one word.")], params)
    assert len(gens) == 3 and all(g.num_tokens > 0 for g in gens)
    assert backend.info()["n_native"] is False  # one request per sample, each with its own seed


def test_score_choices_via_logprobs_in_completions_mode(server: Served) -> None:
    template = chat_template_from_gguf(str(default_model_path()))
    assert template and "<|im_start|>" in template
    backend = OpenAIBackend(server.url, "smollm2", api_key_env="", mode="completions", chat_template=template)
    prompts = [ask("Which letter comes first in the alphabet, A or B? Reply with one letter.", "The answer is "),
               ask("Is the sky green? Reply yes or no.", "Reply: ")]
    probs = Runner(backend).score_choices(prompts[:1], ["A", "B"]) + backend.score_choices(prompts[1:], ["yes", "no"])
    assert set(probs[0]) == {"A", "B"} and set(probs[1]) == {"yes", "no"}
    for p in probs:
        assert sum(p.values()) == pytest.approx(1.0)
    assert backend.info()["choices_not_in_top_logprobs"] == 0  # real logprobs, not the uniform fallback
    assert probs[0]["A"] != 0.5


def test_json_schema_constraint_is_enforced(server: Served) -> None:
    schema = {"type": "object", "properties": {"verdict": {"type": "string", "enum": ["A", "B"]}},
              "required": ["verdict"]}
    backend = OpenAIBackend(server.url, "smollm2", api_key_env="")
    params = GenerationParams(max_new_tokens=48, constraint=Constraint("json_schema", json.dumps(schema)))
    out = backend.generate([ask("Which is better, response A or response B? Answer in JSON.")], params)
    assert json.loads(out[0][0].text)["verdict"] in ("A", "B")
    assert backend.info()["constraint_fallback"] is False


def test_the_build_is_portable() -> None:
    """The installed llama.cpp has no AMX kernels (they crash on virtualized AMX CPUs)."""
    _require_server_package()
    info = llama_build_info()
    assert info is not None and "AVX2 = 1" in info, info
    assert "AMX" not in info, (
        f"llama-cpp-python was built natively ({info}); rebuild it portably: see docs/engines.md, "
        "'llama.cpp on AMX CPUs'")


def test_every_regex_is_enforced_as_a_grammar(server: Served) -> None:
    """Each format's and protocol's regex goes as GBNF; llama.cpp accepts it and decodes within it."""
    import regex  # supports partial matches: the output so far can still complete to a match

    for mode in ("chat", "completions"):
        template = chat_template_from_gguf(str(default_model_path())) if mode == "completions" else None
        backend = OpenAIBackend(server.url, "smollm2", api_key_env="", mode=mode, chat_template=template)
        assert backend.supports_constraints and backend.constraint_style == server.style
        table = every_regex() if mode == "chat" else {"format:pairwise": FORMATS["pairwise"].regex}
        prompts = [ask("Judge the two answers to 'What is 2+2?': A says 4, B says 5.")] * len(table)
        outs = [backend.generate([p], GenerationParams(max_new_tokens=16, constraint=Constraint("regex", rx)))
                for p, rx in zip(prompts, table.values(), strict=True)]
        for (name, rx), out in zip(table.items(), outs, strict=True):
            text = out[0][0].text
            assert text and regex.fullmatch(rx, text, partial=True), (name, text)
        assert backend.info()["constraint_fallback"] is False


@pytest.mark.parametrize("name", ["pairwise", "pointwise", "verify"])
def test_constrained_verdicts_always_parse(server: Served, name: str) -> None:
    """With the grammar capped to the token budget, the verdict is always written and parses."""
    fmt = FORMATS[name]
    backend = OpenAIBackend(server.url, "smollm2", api_key_env="")
    params = GenerationParams(max_new_tokens=48, constraint=fmt.constraint())
    question = f"{fmt.instructions}\n\nQuestion: Is 17 a prime number?\nResponse A: Yes.\nResponse B: No, 17 = 3 x 6."
    (gens,) = backend.generate([ask(question)], params)
    assert re.fullmatch(fmt.regex, gens[0].text), gens[0].text
    assert not isinstance(fmt.parse(gens[0].text), ParseFailure)


def run_cli_judge(server: Served, tmp_path: Path, *flags: str) -> tuple[list[dict], dict]:
    """``judgekit judge`` (a subprocess) on two bundled pairs against the server; (results, manifest backend)."""
    repo = Path(__file__).resolve().parents[2]
    rows = [json.loads(line) for line in (repo / "examples" / "pairs.jsonl").read_text().splitlines()[:2]]
    for row in rows:  # keep prompts well inside the server's 2048-token context
        row["response_a"], row["response_b"] = row["response_a"][:300], row["response_b"][:300]
    data = tmp_path / "pairs.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    run_dir = tmp_path / "run"
    cmd = [
        sys.executable, "-c", "from judgekit.cli import main; main()", "judge", str(data),
        "--backend", "openai", "--base-url", server.url, "--model", "smollm2", *flags,
        "--cache-dir", str(tmp_path / "cache"), "--output", str(run_dir),
    ]
    env = {**os.environ, "PYTHONPATH": str(repo) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    results = [json.loads(line) for line in (run_dir / "results.jsonl").read_text().splitlines()]
    return results, json.loads((run_dir / "manifest.json").read_text())["backend"]


def test_cli_judge_against_the_server(server: Served, tmp_path: Path) -> None:
    """``judgekit judge FILE --backend openai --base-url URL --model NAME`` end to end, both orders.

    Generative mode: the verdict regex goes to llama.cpp as a GBNF grammar, so every
    verdict of the embedded model parses (free decoding parses almost none).
    """
    results, backend = run_cli_judge(server, tmp_path, "--max-new-tokens", "48")
    assert len(results) == 2
    assert backend["backend"] == "openai" and backend["constraint_style"] == server.style
    assert backend["constraint_fallback"] is False
    for result in results:  # both orders parsed: no failure, a verdict, and a consistency flag
        assert result["parse_failure"] is False and result["failure_reason"] is None, result
        assert result["verdict"] in ("A", "B", "tie") and result["consistent"] in (True, False)


def test_cli_logit_mode_in_completions_mode(server: Served, tmp_path: Path) -> None:
    """``--method logit`` from the CLI: completions mode with the GGUF's chat template, real logprobs."""
    results, backend = run_cli_judge(
        server, tmp_path, "--api-key-env", "", "--api-mode", "completions", "--chat-template", "embedded",
        "--method", "logit", "--concurrency", "2", "--timeout", "120",
    )
    assert len(results) == 2
    for result in results:
        assert not result["parse_failure"] and result["probs"]
        probs = result["probs"]
        assert sum(probs.values()) == pytest.approx(1.0)
        if result["consistent"] is False:  # orders disagree: a tie with reward 0.5, the rule recorded
            assert result["verdict"] == "tie" and result["reward"] == 0.5 and "reward_rule" in result["extra"]
        else:
            assert result["reward"] == pytest.approx(probs["A"] + probs["tie"] / 2)
    assert backend["mode"] == "completions" and backend["concurrency"] == 2
    assert backend["choices_not_in_top_logprobs"] == 0


def test_prompt_too_long_for_the_server_context_is_skipped(server: Served, tmp_path: Path) -> None:
    """The server's 400 "maximum context length" marks the item skipped, with its token counts."""
    from judgekit.core.cache import CallCache
    from judgekit.core.types import Sample
    from judgekit.judge import run_judge
    from judgekit.protocols.base import JudgeConfig, get_protocol

    samples = [Sample("short", "What is 2+2?", ("4", "5"), label="A"),
               Sample("long", "Summarise this. " + "word " * 3000, ("a", "b"), label="A")]
    backend = OpenAIBackend(server.url, "smollm2", api_key_env="", max_retries=0)
    proto = get_protocol("pairwise", JudgeConfig(max_new_tokens=8, both_orders=False))
    result = run_judge(samples, proto, Runner(backend, CallCache(tmp_path / "c.sqlite")), tmp_path / "run")
    short, long = result.judgments
    assert "skipped" not in short.extra and short.trace
    assert long.verdict is None and not long.parse_failure
    assert "context" in long.extra["skipped"] and re.search(r"\d{4}", long.extra["skipped"])
    assert result.summary["skipped"] == 1


# ---------------------------------------------------------------- llama-server only
def _only_llama_server(server: Served) -> None:
    if server.kind != "llama-server":
        pytest.skip("llama-server only (parallel slots, chat prefill, prompt-cache timings)")


QUESTIONS = [
    "Question: Is 17 a prime number?\nResponse A: Yes.\nResponse B: No, 17 = 3 x 6.",
    "Question: What is the capital of France?\nResponse A: Paris.\nResponse B: Lyon.",
    "Question: Name a mammal.\nResponse A: A trout.\nResponse B: A dolphin.",
    "Question: 2 + 2?\nResponse A: 5\nResponse B: 4",
]


def test_constrained_verdicts_parse_on_parallel_slots(server: Served) -> None:
    """The verdict regex goes as GBNF; four requests in flight at once on four slots."""
    _only_llama_server(server)
    fmt = FORMATS["pairwise"]
    backend = OpenAIBackend(server.url, "smollm2", api_key_env="", concurrency=SLOTS)
    params = GenerationParams(max_new_tokens=64, constraint=fmt.constraint())
    outs = backend.generate([ask(f"{fmt.instructions}\n\n{q}") for q in QUESTIONS], params)
    for (gen,) in outs:
        assert not isinstance(fmt.parse(gen.text), ParseFailure), gen.text
    assert backend.info()["constraint_fallback"] is False


def test_chat_prefill_is_continued(server: Served) -> None:
    """llama-server continues a trailing assistant message: logit mode works in chat mode."""
    _only_llama_server(server)
    fmt = FORMATS["pairwise"]
    backend = OpenAIBackend(server.url, "smollm2", api_key_env="")
    prompts = [ask(f"{fmt.logit_instructions}\n\n{q}", fmt.logit_prefix) for q in QUESTIONS[:2]]
    probs = backend.score_choices(prompts, list(fmt.logit_choices.values()))
    for p in probs:
        assert sum(p.values()) == pytest.approx(1.0) and set(p) == set(fmt.logit_choices)
    assert backend.info()["choices_not_in_top_logprobs"] == 0  # real logprobs after the prefix, not uniform


def test_both_orders_share_their_prefix_in_the_prompt_cache(server: Served) -> None:
    """The second order of each item reuses the first order's prefix from the slot that served it."""
    _only_llama_server(server)
    from judgekit.core.types import Sample
    from judgekit.protocols.base import JudgeConfig, get_protocol

    # A question much longer than the template, so sharing it (not just the template) is what the bound needs.
    question = "Explain, step by step and with one example, why the sum of two even numbers is even. " * 30
    samples = [Sample(f"s{i}", f"[{i}] {question}", (f"Answer one of item {i}.", f"Answer two of item {i}."))
               for i in range(4)]
    proto = get_protocol("pairwise", JudgeConfig(method="logit"))
    prompts = [proto.prompt(s, swapped) for s in samples for swapped in (False, True)]
    backend = OpenAIBackend(server.url, "smollm2", api_key_env="", concurrency=SLOTS)
    backend.score_choices(prompts, list(FORMATS["pairwise"].logit_choices.values()))
    info = backend.info()
    assert info["prefix_chains"] is True and info["prompt_tokens_total"] > 0
    # Each item's second order finds at least its first order's question in the cache (about 4 characters
    # a token; 8 leaves a margin). Sent concurrently without chaining, the orders share only the template.
    question_tokens = len(question) // 8
    assert info["prompt_tokens_cached"] >= len(samples) * question_tokens, info


def test_the_llama_server_binary_is_portable() -> None:
    """The built llama-server has no AMX tile instructions (they crash on virtualized AMX CPUs)."""
    import shutil

    binary = llama_server_binary()
    if binary is None:
        _missing("no llama-server binary", "scripts/build_llama_server.sh")
    if shutil.which("objdump") is None:
        _missing("objdump (binutils) is not installed", "apt-get install binutils")
    dump = subprocess.run(["objdump", "-d", str(binary)], capture_output=True, text=True, timeout=600, check=True)
    tiles = re.findall(r"\b(ldtilecfg|tileloadd|tdpb[su][su]d|tilezero)\b", dump.stdout)
    assert not tiles, f"{binary} has {len(tiles)} AMX tile instructions: rebuild with scripts/build_llama_server.sh"


def test_listwise_and_prm_over_http_never_fail_to_parse(server: Served, tmp_path: Path) -> None:
    """``-p listwise`` and ``-p rubric --option listwise=true`` (permutation grammar) and ``-p prm`` (first-error
    grammar) via the CLI: 0 parse failures."""
    repo = Path(__file__).resolve().parents[2]
    lists = tmp_path / "lists.jsonl"
    lists.write_text("".join(json.dumps(r) + "\n" for r in [
        {"id": "l1", "prompt": "What is 7 * 6?", "responses": ["42", "7 * 6 = 36", "It is 48."], "best": 0},
        {"id": "l2", "prompt": "Capital of France?", "responses": ["Lyon.", "Paris.", "Berlin.", "Nice."],
         "ranking": [1, 0, 3, 2]},
    ]))
    steps = json.loads((repo / "tests" / "fixtures" / "benchmarks" / "processbench" / "gsm8k.json").read_text())[:2]
    solutions = tmp_path / "steps.jsonl"
    solutions.write_text("".join(json.dumps(r) + "\n" for r in steps))
    env = {**os.environ, "PYTHONPATH": str(repo) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    rubric = ["--option", "listwise=true", "--rubric", "Principles:\n- Gives the right answer."]
    for name, protocol, data, extra in (("listwise", "listwise", lists, []), ("prm", "prm", solutions, []),
                                        ("rubric-listwise", "rubric", lists, rubric)):
        run_dir = tmp_path / name
        cmd = [sys.executable, "-c", "from judgekit.cli import main; main()", "judge", str(data), "-p", protocol,
               *extra, "--backend", "openai", "--base-url", server.url, "--model", "smollm2", "--max-new-tokens",
               "48", "--cache-dir", str(tmp_path / "cache"), "--output", str(run_dir)]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        rows = [json.loads(line) for line in (run_dir / "results.jsonl").read_text().splitlines()]
        assert len(rows) == 2 and not any(r["parse_failure"] for r in rows), rows
        assert json.loads((run_dir / "manifest.json").read_text())["backend"]["constraint_fallback"] is False
