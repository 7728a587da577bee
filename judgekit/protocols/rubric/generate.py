r"""Contrastive Rubric Generation (OpenRubrics) with a preference-consistency filter.

For a prompt with a preferred and a rejected response, the model writes a rubric
that separates them::

    Hard rule: The response ends with the result in \\boxed{...}. (weight 5)
    Principle: The response adds the digits correctly. (weight 4)
    End of rubric

(The generated form uses ``\\boxed`` only if the model writes it; items are one line
each.) A rubric is *kept* only if judging the same pair with it (rubric protocol,
both orders) reproduces the known preference in both orders; otherwise it is
*rejected* and another one is sampled, up to ``tries`` per prompt. Every try is
batched across all prompts still without a rubric. Kept rubrics are saved as YAML
(schema in ``rubrics/README.md``) and load back with
:func:`judgekit.protocols.rubric.schema.load_rubric`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from judgekit.core.prompts import render
from judgekit.core.runner import Runner
from judgekit.core.types import Constraint, ParseFailure, Prompt, Sample, Turn
from judgekit.protocols.base import JudgeConfig
from judgekit.protocols.multiturn import generate_step
from judgekit.protocols.rubric.schema import Rubric, RubricItem, save_rubric

ITEM_RE = r"The response [^\n\[\]()]{4,100} \(weight [1-5]\)"
GENERATE_REGEX = rf"(Hard rule: {ITEM_RE}\n){{0,2}}(Principle: {ITEM_RE}\n){{1,3}}End of rubric"
GENERATE_INSTRUCTIONS = (
    "Write 0 to 2 lines 'Hard rule: The response ... (weight N)' for explicit constraints of the prompt, then "
    "1 to 3 lines 'Principle: The response ... (weight N)' for implicit qualities, with N from 1 to 5, "
    "then a last line 'End of rubric'."
)
DEFAULT_RUBRIC_TOKENS = 224
RETRY_TEMPERATURE = 0.7

_ITEM = re.compile(r"^\s*\**(hard rule|principle)\**\s*:\s*(.*)$", re.IGNORECASE)
_WEIGHT = re.compile(r"\(\s*weight\s*:?\s*(-?\d+(?:\.\d+)?)\s*\)\s*\.?\s*$", re.IGNORECASE)


def parse_generated(text: str, name: str = "generated") -> Rubric | ParseFailure:
    """Read generated rubric lines strictly; prose lines are ignored, malformed items fail."""
    rules: list[RubricItem] = []
    principles: list[RubricItem] = []
    for line in text.splitlines():
        if line.strip().lower().startswith("end of rubric"):
            break
        m = _ITEM.match(line)
        if not m:
            continue
        body = m.group(2).strip()
        w = _WEIGHT.search(body)
        if not w:
            return ParseFailure(reason=f"item without '(weight N)': {body[:60]!r}", raw=text)
        item_text = body[: w.start()].strip()
        if not item_text.lower().startswith("the response "):
            return ParseFailure(reason=f"item does not start with 'The response': {item_text[:60]!r}", raw=text)
        weight = float(w.group(1))
        if not 0 < weight <= 5:
            return ParseFailure(reason=f"weight {w.group(1)} outside 1-5", raw=text)
        (rules if m.group(1).lower() == "hard rule" else principles).append(RubricItem(item_text, weight))
    if not rules and not principles:
        return ParseFailure(reason="no rubric items", raw=text)
    return Rubric(name=name, hard_rules=tuple(rules), principles=tuple(principles))


def _rubric_dict(parsed: Rubric | ParseFailure) -> dict[str, Any]:
    if isinstance(parsed, ParseFailure):
        return {"ok": False, "reason": parsed.reason}
    return {"ok": True, **parsed.to_dict()}


def generation_prompt(sample: Sample, labeled: bool, principles: Sequence[str] = ()) -> Prompt:
    """Render the generation prompt: preferred/rejected when ``labeled``, else plain A/B (no labels)."""
    a, b = sample.responses[0], sample.responses[1]
    if labeled and sample.label == "B":
        a, b = b, a
    return render(
        "rubric_generate", question=sample.prompt, response_a=a, response_b=b, labeled=labeled,
        instructions=GENERATE_INSTRUCTIONS, principles=list(principles),
    )


def generate_candidates(
    samples: Sequence[Sample], runner: Runner, config: JudgeConfig, labeled: bool, attempt: int = 0
) -> list[tuple[Rubric | ParseFailure, Turn]]:
    """One rubric per sample in one batched call; attempt > 0 samples with a new seed."""
    prompts = [generation_prompt(s, labeled, config.principles) for s in samples]
    constraint = Constraint(kind="regex", pattern=GENERATE_REGEX)
    tokens = int(config.option("rubric_tokens", DEFAULT_RUBRIC_TOKENS))
    steps = generate_step(
        prompts, [constraint] * len(prompts), runner, config,
        parse=lambda t: parse_generated(t), name="rubric-generate", to_dict=_rubric_dict,
        max_new_tokens=tokens, seed=config.seed + attempt,
        temperature=config.temperature if attempt == 0 else max(config.temperature, RETRY_TEMPERATURE),
    )
    out = []
    for sample, step in zip(samples, steps, strict=True):
        parsed = step.parsed
        if isinstance(parsed, Rubric):
            parsed = replace(parsed, name=f"crg-{sample.id}", source={
                "sample_id": sample.id, "prompt": sample.prompt[:300], "attempt": attempt + 1,
                "labeled": labeled, "model": getattr(runner.backend, "model_id", None),
            })
        out.append((parsed, step.turn))
    return out


@dataclass(frozen=True)
class RubricOutcome:
    """What happened for one prompt: the kept rubric (or None) and every rejected try."""

    sample_id: str
    rubric: Rubric | None
    tries: int
    rejected: tuple[str, ...]
    skipped: str | None = None


@dataclass(frozen=True)
class GenerationReport:
    """All outcomes plus the counts the CLI prints."""

    outcomes: tuple[RubricOutcome, ...]

    def counts(self) -> dict[str, int]:
        """Count prompts, kept and rejected rubrics, prompts without a rubric, skipped prompts, tries."""
        considered = [o for o in self.outcomes if o.skipped is None]
        return {
            "prompts": len(self.outcomes),
            "kept": sum(1 for o in considered if o.rubric is not None),
            "rejected": sum(len(o.rejected) for o in considered),
            "prompts_without_rubric": sum(1 for o in considered if o.rubric is None),
            "skipped": len(self.outcomes) - len(considered),
            "tries": sum(o.tries for o in considered),
        }


def passes_filter(sample: Sample, verdict: str | None, consistent: bool | None, both_orders: bool) -> bool:
    """Kept only if the rubric-conditioned verdict matches the label (in both orders when judged so)."""
    return verdict == sample.label and (consistent is True or not both_orders)


def rubric_filename(sample_id: str) -> str:
    """File name for a sample's rubric (ids may hold '/', '#', spaces: then a hash keeps it unique)."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", sample_id).strip("_") or "item"
    if safe != sample_id:
        safe += "-" + hashlib.sha256(sample_id.encode()).hexdigest()[:8]
    return safe + ".yaml"


def save_rubrics(report: GenerationReport, out_dir: Path | str) -> list[Path]:
    """Write every kept rubric to ``out_dir/<sample id>.yaml``; returns the paths."""
    out = Path(out_dir)
    return [save_rubric(o.rubric, out / rubric_filename(o.sample_id)) for o in report.outcomes if o.rubric]
