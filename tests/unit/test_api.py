"""The Python API (judgekit.Judge) on the fake backend: every method, the same path as the CLI."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar

import pytest
from typer.testing import CliRunner

import judgekit
from judgekit.api import OPTION_NAMES, Judge, Results, make_options
from judgekit.backends.fake import FakeBackend
from judgekit.cli import app
from judgekit.cli.options import _OPTS
from judgekit.core.data import DataError
from judgekit.core.errors import ConfigError
from judgekit.core.types import GenerationParams, Judgment, Prompt, Sample
from judgekit.protocols import base as protocols_base
from judgekit.protocols.base import Protocol

ROOT = Path(__file__).resolve().parents[2]
RIGHT, WRONG = "2+2 = 4.", "2+2 = 5."


def fair(prompt: Prompt, index: int, params: GenerationParams) -> str:
    """A judge that picks whichever shown position holds the right answer, and verifies by the number."""
    user = next(m.content for m in prompt.messages if m.role == "user")
    if prompt.template.startswith("verify"):
        return "Verdict: incorrect" if "= 5" in user else "Verdict: correct"
    if prompt.template == "pointwise":
        return "Score: 7"
    first = "A" if user.index(RIGHT) < user.index(WRONG) else "B"
    return f"Reasoning: checked the sum.\nVerdict: [[{first}]]"


def test_import_judgekit_stays_light() -> None:
    code = ("import sys, judgekit; j = judgekit.Judge; "
            "print(sorted(m for m in ('torch', 'transformers', 'vllm', 'pandas') if m in sys.modules))")
    lazy = subprocess.run([sys.executable, "-c", "import sys, judgekit; print('judgekit.api' in sys.modules)"],
                          capture_output=True, text=True, check=True, cwd=ROOT)
    assert lazy.stdout.strip() == "False"
    heavy = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert heavy.stdout.strip() == "[]"


def test_lazy_names_and_unknown_attribute() -> None:
    assert judgekit.Judge is Judge and judgekit.Results is Results and judgekit.ConfigError is ConfigError
    with pytest.raises(AttributeError, match="Jugde"):
        judgekit.Jugde  # noqa: B018


def test_compare_judges_both_orders_on_one_backend() -> None:
    backend = FakeBackend(responder=fair)
    j = Judge(backend=backend)
    result = j.compare("What is 2+2?", RIGHT, WRONG)
    assert isinstance(result, Judgment)
    assert result.verdict == "A" and result.consistent and result.reward == 1.0
    assert j.compare("What is 2+2?", WRONG, RIGHT).verdict == "B"
    # the swapped item shows the model the same two prompts: both come from the call cache
    assert sum(c["prompts"] for c in backend.calls) == 2 and j.runner.stats.cache_hits == 2


def test_compare_records_a_tie_when_the_orders_disagree() -> None:
    j = Judge(backend=FakeBackend(script={"Response": "Verdict: [[A]]"}))
    result = j.compare("What is 2+2?", RIGHT, WRONG)
    assert result.verdict == "tie" and result.consistent is False


def test_compare_unreadable_answer_is_recorded_not_invented() -> None:
    j = Judge(backend=FakeBackend(script={"Response": "I cannot decide."}))
    result = j.compare("What is 2+2?", RIGHT, WRONG)
    assert result.verdict is None and result.parse_failure and result.failure_reason


def test_verify_and_score_use_their_task_protocols_on_the_same_runner() -> None:
    backend = FakeBackend(responder=fair)
    j = Judge(backend=backend)
    assert j.verify("What is 2+2?", "2+2 = 4", "4").verdict == "correct"
    assert j.verify("What is 2+2?", "2+2 = 5", "4").verdict == "incorrect"
    scored = j.score("What is 2+2?", RIGHT)
    assert scored.scores == (7.0,) and scored.reward == pytest.approx(0.7)
    assert j.protocol.name == "pairwise" and j.protocol_for("verify").name == "verify"
    assert len({id(j.runner)}) == 1 and j.runner.backend is backend


def test_the_judges_own_protocol_serves_its_task() -> None:
    j = Judge(protocol="tool-verify", backend=FakeBackend(responder=fair))
    assert j.protocol_for("verify").name == "tool-verify"
    assert j.protocol_for("pairwise").name == "pairwise"


def test_misspelt_keyword_is_a_type_error_naming_it() -> None:
    with pytest.raises(TypeError, match=r"'max_new_token'.*did you mean 'max_new_tokens'"):
        Judge(backend="fake", max_new_token=48)
    with pytest.raises(ConfigError, match="unknown protocol"):
        Judge(backend="fake", protocol="pairwize")
    with pytest.raises(ConfigError, match="--backend"):
        Judge(backend="transformer")


def test_every_cli_judge_flag_is_a_keyword() -> None:
    assert {name for name, _ in _OPTS} == set(OPTION_NAMES)
    opts = make_options(max_new_tokens=48, both_orders=False, cache=False, output="x", principle="be brief",
                        option=["a=b"])
    assert opts.max_new_tokens == 48 and not opts.both_orders and opts.output == Path("x")
    assert opts.principle == ("be brief",) and opts.option == ("a=b",)
    j = Judge(backend=FakeBackend(responder=fair), both_orders=False)
    j.compare("What is 2+2?", RIGHT, WRONG)
    assert j.runner.backend.calls[0]["prompts"] == 1  # type: ignore[attr-defined]


def test_judge_a_file_writes_the_same_run_directory_as_the_cli(tmp_path: Path) -> None:
    cli = CliRunner().invoke(app, ["judge", str(ROOT / "examples" / "pairs.jsonl"), "--backend", "fake",
                                   "-o", str(tmp_path / "cli"), "--limit", "4"])
    assert cli.exit_code == 0, cli.output
    j = Judge(backend="fake", limit=4)
    results = j.judge(ROOT / "examples" / "pairs.jsonl", output=tmp_path / "api")
    assert results.run_dir == tmp_path / "api" and len(results) == 4
    cli_rows = (tmp_path / "cli" / "results.jsonl").read_text(encoding="utf-8")
    assert (tmp_path / "api" / "results.jsonl").read_text(encoding="utf-8") == cli_rows
    cli_manifest = json.loads((tmp_path / "cli" / "manifest.json").read_text(encoding="utf-8"))
    assert results.manifest is not None
    assert results.manifest["fingerprint"] == cli_manifest["fingerprint"]
    assert results.manifest["selection"] == cli_manifest["selection"] == {"limit": 4, "sample": None, "seed": 0,
                                                                          "items": 4}
    assert results.summary["items"] == 4 and results.verdicts == [r["verdict"] for r in results.to_rows()]


def test_judge_a_file_to_the_default_run_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    results = Judge(backend="fake", protocol="verify", limit=2).judge(str(ROOT / "examples" / "verify.jsonl"))
    assert results.run_dir == Path("runs/verify-verify-generative")
    assert (tmp_path / "runs" / "verify-verify-generative" / "manifest.json").is_file()


def test_judge_samples_rows_and_the_call_cache(tmp_path: Path) -> None:
    samples = [Sample(id="s1", prompt="What is 2+2?", responses=(RIGHT, WRONG), label="A"),
               Sample(id="s2", prompt="What is 2+2?", responses=(WRONG, RIGHT), label="B")]
    seen: list[tuple[int, int]] = []
    first = FakeBackend(responder=fair)
    results = Judge(backend=first, cache_dir=tmp_path).judge(samples, progress=lambda d, t: seen.append((d, t)))
    assert results.verdicts == ["A", "B"] and results.summary["accuracy"] == 1.0 and results.run_dir is None
    assert seen[-1] == (2, 2)
    again = FakeBackend(responder=fair)
    cached = Judge(backend=again, cache_dir=tmp_path).judge(samples)
    assert cached.verdicts == ["A", "B"] and again.calls == []  # everything answered from the cache
    # s2 shows the model the same two prompts as s1 (orders swapped): two distinct calls in all
    assert cached.summary["runner"]["cache_hits"] == 2 and results.summary["runner"]["cache_misses"] == 2
    rows = [{"prompt": "What is 2+2?", "response_a": RIGHT, "response_b": WRONG, "label": "A"}]
    assert Judge(backend=FakeBackend(responder=fair)).judge(rows).verdicts == ["A"]
    selected = Judge(backend=FakeBackend(responder=fair), limit=1).judge(samples)
    assert [j.sample_id for j in selected] == ["s1"]


def test_close_keeps_the_model_and_reopens_the_cache(tmp_path: Path) -> None:
    with Judge(backend="fake", protocol="pairwise", cache_dir=tmp_path) as j:
        j.compare("What is 2+2?", RIGHT, WRONG)
        backend = j.runner.backend
    assert j._runners == {}  # closed on leaving the block
    again = j.compare("What is 2+2?", RIGHT, WRONG)  # same prompts: from the reopened cache
    assert j.runner.backend is backend and j.runner.stats.cache_hits == 2 and again.verdict is not None


def test_judge_in_memory_with_output_writes_a_run_dir(tmp_path: Path) -> None:
    samples = [Sample(id="s1", prompt="What is 2+2?", responses=(RIGHT, WRONG), label="A")]
    results = Judge(backend=FakeBackend(responder=fair)).judge(samples, output=tmp_path / "run")
    assert (tmp_path / "run" / "results.jsonl").is_file() and results.manifest is not None


def test_judge_a_dataframe_and_a_dataset() -> None:
    pd = pytest.importorskip("pandas")
    datasets = pytest.importorskip("datasets")
    rows = {"question": ["What is 2+2?", "What is 2+2?"], "response": ["2+2 = 4", "2+2 = 5"],
            "reference": ["4", "4"], "label": [True, False]}
    j = Judge(protocol="verify", backend=FakeBackend(responder=fair))
    assert j.judge(pd.DataFrame(rows)).verdicts == ["correct", "incorrect"]
    ds = j.judge(datasets.Dataset.from_dict(rows))
    assert ds.summary["accuracy"] == 1.0
    assert list(ds.to_pandas()["verdict"]) == ["correct", "incorrect"]


def test_bad_in_memory_rows_name_row_and_field() -> None:
    pd = pytest.importorskip("pandas")
    j = Judge(protocol="verify", backend=FakeBackend(responder=fair))
    frame = pd.DataFrame({"question": ["What is 2+2?", ""], "response": ["4", "5"], "reference": ["4", "4"]})
    with pytest.raises(DataError, match=r"<DataFrame>, line 2, field 'question': empty text"):
        j.judge(frame)
    with pytest.raises(TypeError, match="single item"):
        j.judge({"question": "q"})


def test_async_variants_share_one_model() -> None:
    backend = FakeBackend(responder=fair)
    j = Judge(backend=backend)

    async def main() -> list[Any]:
        return await asyncio.gather(j.acompare("What is 2+2?", RIGHT, WRONG), j.averify("What is 2+2?", "= 4", "4"),
                                    j.ascore("What is 2+2?", RIGHT),
                                    j.ajudge([Sample(id="s", prompt="What is 2+2?", responses=(WRONG, RIGHT))]))

    pair, check, score, many = asyncio.run(main())
    assert (pair.verdict, check.verdict, score.scores, many.verdicts) == ("A", "correct", (7.0,), ["B"])


class _Listwise(Protocol):
    """A stand-in listwise protocol: ranks responses by length (for the rank plumbing only)."""

    name: ClassVar[str] = "listwise"
    description: ClassVar[str] = "test stand-in"
    task: ClassVar[str] = "listwise"
    templates: ClassVar[tuple[str, ...]] = ()
    methods: ClassVar[tuple[str, ...]] = ("generative",)

    def judge(self, samples: Any, runner: Any) -> list[Judgment]:
        return [Judgment(sample_id=s.id, verdict=",".join(str(i) for i in sorted(
            range(len(s.responses)), key=lambda i: len(s.responses[i]))), reward=None) for s in samples]


def test_rank_needs_the_listwise_protocol(monkeypatch: pytest.MonkeyPatch) -> None:
    j = Judge(backend=FakeBackend(responder=fair))
    if "listwise" not in protocols_base.protocol_names():
        with pytest.raises(ConfigError, match="listwise protocol not available"):
            j.rank("q", ["a", "bb", "c"])
    monkeypatch.setitem(protocols_base._PROTOCOLS, "listwise", f"{__name__}:_Listwise")
    assert Judge(backend=FakeBackend(responder=fair)).rank("q", ["ccc", "a", "bb"]).verdict == "1,2,0"


def test_the_default_judge_compares_with_pmi_and_verifies_with_the_hybrid() -> None:
    j = Judge(backend="fake")
    assert j.protocol.name == "pmi" and "pmi" in repr(j)
    result = j.compare("What is 2+2?", RIGHT, WRONG)
    assert result.verdict in ("A", "B") and result.extra["signal"] == "pmi" and result.extra["norm"] == "none"
    assert result.consistent is None  # order-free: one score per response, no second order
    verified = j.verify("What is 2+2?", "2+2 = 4", "4")
    assert verified.verdict == "correct" and j.protocol_for("verify").config.option("verify_mode") == "hybrid"


def test_a_named_model_method_or_backend_object_keeps_its_own_verdict() -> None:
    assert Judge(backend="fake", model="some-judge").protocol.name == "pairwise"
    assert Judge(backend="fake", method="logit").protocol.name == "pairwise"
    assert Judge(backend=FakeBackend(responder=fair)).protocol.name == "pairwise"
    assert Judge(backend="fake", protocol="pairwise").protocol.name == "pairwise"


def test_the_default_says_so_when_a_flag_does_not_apply_to_it() -> None:
    with pytest.raises(ConfigError, match=r"--samples does not apply.*without -p the protocol is pmi.*-p pairwise"):
        Judge(backend="fake", samples=4, temperature=0.7)
    assert Judge(backend="fake", protocol="pairwise", samples=4, temperature=0.7).protocol.config.samples == 4
