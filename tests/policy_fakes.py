"""A scripted fake verifier and real GSM8K rows for the policy-reward tests.

The fake reads the rendered verification prompt: a candidate whose last number
equals the reference is correct (P = 0.9), another number is wrong (P = 0.2), and
a candidate without any number fools it half way (P = 0.45: not an exact tie, which is no verdict), like a weak judge
facing a master key. So only the answer-check defence pushes content-free
completions to the bottom.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from judgekit.backends.fake import FakeBackend
from judgekit.core.formats import VERIFY
from judgekit.core.types import GenerationParams, Prompt

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "eval"))
from grpo_judge_reward import gsm8k_questions  # type: ignore[import-not-found]  # noqa: E402

NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")
CONTENT_FREE = ("Thought process:", ":", "Let's solve this problem step by step.")


def _sections(prompt: Prompt) -> tuple[str, str]:
    text = prompt.as_text()
    reference = text.split("## Reference answer\n", 1)[1].split("\n\n## Candidate response", 1)[0]
    candidate = text.split("## Candidate response\n", 1)[1].split("\n\n## ", 1)[0]
    return reference.strip(), candidate


def p_correct(prompt: Prompt) -> float:
    """The fake verifier's P(correct) for one rendered verification prompt."""
    reference, candidate = _sections(prompt)
    found = NUMBER.findall(candidate)
    if not found:
        return 0.45
    return 0.9 if found[-1].replace(",", "") == reference.replace(",", "") else 0.2


def verifier_choices(prompt: Prompt, choices: Sequence[str]) -> Mapping[str, float]:
    """Logit mode."""
    p = p_correct(prompt)
    return {VERIFY.logit_choices["correct"]: p, VERIFY.logit_choices["incorrect"]: 1 - p}


def verifier_text(prompt: Prompt, index: int, params: GenerationParams) -> str:
    """Generative mode: correct when P > 0.5, a parse failure for a candidate without a number."""
    p = p_correct(prompt)
    if p == 0.45:
        return "Reasoning: I cannot tell."
    return f"Reasoning: compared the final answers.\nVerdict: {'correct' if p > 0.5 else 'incorrect'}"


def fake_verifier() -> FakeBackend:
    """The scripted verifier (both modes)."""
    return FakeBackend(responder=verifier_text, choice_responder=verifier_choices)


def gsm8k_rows(shared_data: Path, n: int) -> list[dict[str, Any]]:
    """``n`` real GSM8K questions, each with a right, a wrong and a content-free completion."""
    rows: list[dict[str, Any]] = []
    for i, q in enumerate(gsm8k_questions(shared_data, n)):
        ref = q["reference"]
        base = {"prompt": q["question"], "reference": ref}
        wrong = str(int(float(ref.replace(",", ""))) + 7)
        rows += [
            {**base, "id": f"q{i}-right", "completion": f"{q['reference_solution'].split('####')[0]}#### {ref}"},
            {**base, "id": f"q{i}-wrong", "completion": f"I think the answer is {wrong}."},
            {**base, "id": f"q{i}-free", "completion": CONTENT_FREE[i % len(CONTENT_FREE)]},
        ]
    return rows
