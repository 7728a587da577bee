"""Write the bundled examples from held-out items only, so the shipped judge is never shown its training data.

    python examples/make_examples.py        # rewrites examples/pairs.jsonl and examples/verify.jsonl

pairs.jsonl: the 8 shortest LLMBar-Natural pairs of the held-out split
(training/split.json), 4 labelled A and 4 labelled B. verify.jsonl: every candidate of
the first two held-out GSM8K questions (in file order) that have both correct and
incorrect candidates. tests/unit/test_examples.py checks that both files hold only
held-out ids.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from judgekit.train.recipe.split import read_split

ROOT = Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    """``$JUDGEKIT_SHARED_DATA``, else ``../shared/data`` beside the repository (as training/recipe_data.py)."""
    return Path(os.environ.get("JUDGEKIT_SHARED_DATA", ROOT.parent / "shared" / "data"))


def heldout(source: str) -> set[str]:
    return read_split(ROOT / "training" / "split.json")[source]


def rows(rel: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in (data_dir() / rel).read_text(encoding="utf-8").splitlines() if line.strip()]


def pairs() -> list[dict[str, object]]:
    keep = heldout("llmbar")
    natural = [r for r in rows("llmbar/llmbar.jsonl") if r["id"] in keep and r["subset"] == "LLMBar/Natural"]
    natural.sort(key=lambda r: sum(len(str(r[k])) for k in ("input", "output_1", "output_2")))
    picked = [r for r in natural if str(r["label"]) == "1"][:4] + [r for r in natural if str(r["label"]) == "2"][:4]
    picked.sort(key=lambda r: int(str(r["id"]).split("#")[1]))
    return [{"id": r["id"], "prompt": r["input"], "response_a": r["output_1"], "response_b": r["output_2"],
             "label": "A" if str(r["label"]) == "1" else "B", "source": "LLMBar-Natural (MIT)"} for r in picked]


def verify() -> list[dict[str, object]]:
    keep = heldout("gsm8k")
    by_question: dict[str, list[dict[str, object]]] = {}
    for r in rows("gsm8k_verification/gsm8k_verification.jsonl"):
        if r["id"] in keep:
            by_question.setdefault(str(r["question_index"]), []).append(r)
    mixed = [group for group in by_question.values() if len({str(r["is_correct"]) for r in group}) == 2][:2]
    return [{"id": r["id"], "question": r["question"], "reference": r["reference_answer"],
             "response": r["candidate_solution"], "label": str(r["is_correct"]) == "True"} for g in mixed for r in g]


def main() -> None:
    for name, items in (("pairs.jsonl", pairs()), ("verify.jsonl", verify())):
        path = ROOT / "examples" / name
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in items), encoding="utf-8")
        print(f"{path}: {len(items)} held-out items")


if __name__ == "__main__":
    main()
