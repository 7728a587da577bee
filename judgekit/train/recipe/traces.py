r"""Reasoning targets for SFT: rule-written, verdict-only, or rationalized by a model.

No strong teacher is available on a CPU, so the recipe writes its traces three ways:

* ``rule`` — verification traces that do what a careful checker does: name the
  candidate's final answer (the dataset's extracted ``candidate_answer`` when it has
  one, else :func:`final_answer`) and the reference, and compare them; a response
  without a final answer says so. Pairwise rows get the ``verdict-only`` line.
* ``rule-compare`` — the same facts in the order a small model can use: both answers
  first, then the comparison of the two numbers, now side by side ("... is 12; the
  reference answer is 18; 12 and 18 are different."). ``rule`` states the relation
  before it restates the reference, so the model must decide before the two numbers
  are adjacent.
* ``verdict-only`` — a fixed reasoning line that restates the verdict, so the
  target is, in effect, the verdict alone (the format still needs a reasoning line).
* ``rationalize`` — label-conditioned rationalization (STaR): a model (the student
  itself, or ``--teacher``) sees the judge prompt and the gold verdict and writes the
  reasoning line; decoding is constrained to end in exactly that verdict, and the
  trace is then read back by the evaluation parser and dropped unless it parses to
  the gold label.

Every target is ``Reasoning: <one line>\nVerdict: ...``, the generative format's
regex, so SFT teaches exactly what constrained decoding allows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from judgekit.core.formats import PAIRWISE, VERIFY, Format
from judgekit.core.prompts import render
from judgekit.core.runner import Runner
from judgekit.core.types import Constraint, GenerationParams, ParseFailure, Prompt, Sample
from judgekit.protocols.base import JudgeConfig, get_protocol
from judgekit.train.distill import prompt_rows

_NUMBER = r"-?\$?\d[\d,]*(?:\.\d+)?"
_ANSWER_PATTERNS = (
    re.compile(r"####\s*(" + _NUMBER + ")"),
    re.compile(r"\\boxed\{([^{}]+)\}"),
    re.compile(r"(?im)^\s*A:\s*(" + _NUMBER + ")"),
    re.compile(r"(?i)answer\s+is\s*:?\s*(" + _NUMBER + ")"),
)
_LAST_NUMBER = re.compile(_NUMBER)
TRACE_KINDS = ("rule", "rule-compare", "verdict-only")


def final_answer(text: str) -> str | None:
    r"""The final answer a solution states: ``#### N``, ``\boxed{N}``, ``A: N``, "answer is N", else its last number."""
    for pattern in _ANSWER_PATTERNS:
        found = pattern.findall(text)
        if found:
            return _clean_number(found[-1])
    numbers = _LAST_NUMBER.findall(text)
    return _clean_number(numbers[-1]) if numbers else None


def _clean_number(value: str) -> str:
    value = value.strip().replace("$", "").replace(",", "")
    if re.fullmatch(r"-?\d+\.0+", value):
        value = value.split(".", 1)[0]
    return value


def one_line(text: str) -> str:
    """Text the reasoning line may hold: one line, no square brackets (the format's rule)."""
    return " ".join(text.replace("[", "(").replace("]", ")").split())


def verdict_line(fmt: Format, label: str) -> str:
    """The verdict line of ``fmt`` for ``label`` (``Verdict: [[A]]``, ``Verdict: correct``)."""
    if fmt.name == PAIRWISE.name:
        return f"Verdict: [[{label}]]"
    if fmt.name == VERIFY.name:
        return f"Verdict: {label}"
    raise ValueError(f"no verdict line for format {fmt.name!r}")


def target(fmt: Format, label: str, reasoning: str) -> str:
    """A full generative target: the reasoning line, then the verdict line."""
    return f"Reasoning: {one_line(reasoning)}\n{verdict_line(fmt, label)}"


def pairwise_reasoning(label: str) -> str:
    """The verdict-only reasoning line for a pairwise label."""
    if label == "tie":
        return "Both responses are equally good."
    other = "B" if label == "A" else "A"
    return f"Response {label} follows the prompt better than Response {other}."


def verify_reasoning(sample: Sample, label: str, compare_last: bool = False) -> str:
    """The rule trace for a verification row: name both answers and compare them.

    ``compare_last`` (trace kind ``rule-compare``) names both answers before the
    comparison, which then repeats the two numbers side by side.
    """
    response = sample.responses[0]
    stated = sample.metadata.get("candidate_answer")
    answer = _clean_number(str(stated)) if stated not in (None, "") else final_answer(response)
    if answer is None or not response.strip() or sample.metadata.get("master_rm"):
        return "The candidate response gives no final answer."
    reference = _clean_number(str(sample.reference or ""))
    if compare_last:
        same = "the same" if label == "correct" else "different"
        return (f"The candidate's final answer is {answer}; the reference answer is {reference}; "
                f"{answer} and {reference} are {same}.")
    relation = "matches" if label == "correct" else "does not match"
    return f"The candidate's final answer is {answer}, which {relation} the reference answer {reference}."


def rule_reasoning(fmt: Format, sample: Sample, label: str, kind: str) -> str:
    """The reasoning line for ``kind`` ``rule``, ``rule-compare`` or ``verdict-only``."""
    if kind not in TRACE_KINDS:
        raise ValueError(f"trace kind {kind!r}: choose from {', '.join(TRACE_KINDS)}")
    if fmt.name == VERIFY.name:
        if kind in ("rule", "rule-compare"):
            return verify_reasoning(sample, label, compare_last=kind == "rule-compare")
        return f"The candidate's answer is {label}."
    return pairwise_reasoning(label)


def forced_constraint(fmt: Format, label: str) -> Constraint:
    """The generative regex with the verdict fixed to ``label`` (for rationalization)."""
    verdict = re.escape(verdict_line(fmt, label))
    return Constraint(kind="regex", pattern=r"Reasoning: [^\n\[\]]+\n" + verdict)


def rationalize(
    prompts: Sequence[Prompt], labels: Sequence[str], fmt: Format, runner: Runner,
    max_new_tokens: int = 64, seed: int = 0,
) -> list[str | None]:
    """Label-conditioned rationalization: one trace per prompt, or None when it fails the parser.

    The prompt is the judge prompt with the gold verdict appended to the task
    (rendered by ``rationalize.j2``); decoding is constrained to end in that verdict.
    """
    out: list[str | None] = [None] * len(prompts)
    by_label: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        by_label.setdefault(label, []).append(i)
    for label, idxs in by_label.items():
        conditioned = [hinted(prompts[i], fmt, label) for i in idxs]
        params = GenerationParams(max_new_tokens=max_new_tokens, temperature=0.0, n=1, seed=seed,
                                  constraint=forced_constraint(fmt, label))
        for i, gens in zip(idxs, runner.generate(conditioned, params), strict=True):
            text = gens[0].text.strip() if gens else ""
            parsed = fmt.parse(text)
            out[i] = None if isinstance(parsed, ParseFailure) or parsed.label != label else text
    return out


def hinted(prompt: Prompt, fmt: Format, label: str) -> Prompt:
    """``prompt`` with a last user message that reveals the gold verdict and asks for the reasoning."""
    hint = render("rationalize", verdict=verdict_line(fmt, label))
    messages = (*prompt.messages, *hint.messages)
    return replace(prompt, messages=messages, template=f"{prompt.template}+rationalize",
                   template_hash=f"{prompt.template_hash}+{hint.template_hash}")


def rationalized_traces(
    samples: Sequence[Sample], task: str, runner: Runner, max_new_tokens: int = 64, seed: int = 0,
) -> tuple[list[dict[str, str]], dict[str, int]]:
    """Rationalize every labelled sample (pairwise: in both orders) with ``runner`` as the trace writer.

    Returns ``{id, order, trace}`` rows (the format ``judgekit train distill --traces`` and
    ``training/recipe_data.py data --traces`` read) for the traces that the evaluation
    parser reads back as the gold label, and counts of kept / dropped.
    """
    fmt = PAIRWISE if task == "pairwise" else VERIFY
    proto = get_protocol("pairwise" if task == "pairwise" else "verify", JudgeConfig(method="generative"))
    rows = [r for r in prompt_rows(samples, proto, both_orders=True) if r.label is not None]
    keys = [(r.item_id, r.order) for r in rows]
    prompts = [r.prompt for r in rows]
    labels = [str(r.label) for r in rows]
    texts = rationalize(prompts, labels, fmt, runner, max_new_tokens=max_new_tokens, seed=seed)
    kept = [{"id": k[0], "order": k[1], "trace": t} for k, t in zip(keys, texts, strict=True) if t is not None]
    return kept, {"prompts": len(prompts), "kept": len(kept), "dropped": len(prompts) - len(kept)}
