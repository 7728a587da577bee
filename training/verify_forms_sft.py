"""SFT rows for the hybrid verifier's model stage: the varied-form items the rules are unsure about.

    python training/verify_forms_sft.py --out runs/verify_forms_sft/data.jsonl [--limit N]
    python training/sft.py --config training/configs/cpu_verify_forms_sft.yaml

Only the *train* part of the varied-form set (``training/verify_forms_split.json``)
is used, less every question that has a row on the dev or test side of
``training/split.json`` (the varied-form split only kept GSM8K's dev side out: 39 of
the 50 GSM8K test questions sit in its train part, and an adapter trained on them
would make the GSM8K test read meaningless). ``--select unsure``: only items where
:func:`judgekit.core.rule_verify.rule_verify` is unsure (what the hybrid sends to the
model; none since the rule stage reads number words); ``--select words`` (default):
those plus the items the rule stage decides only through its number-words reader,
i.e. what the model stage would get without that reader (answers in words). The target names the answer as
written and its value (``three hundred twenty (320)``), then the verdict, in the
``verify`` format the shipped judge already writes. Prompts are rendered by the
``verify`` protocol exactly as ``judgekit judge -p verify`` renders them.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from judgekit.core.data import read_rows  # noqa: E402
from judgekit.core.rule_verify import rule_verify  # noqa: E402
from judgekit.core.types import Sample  # noqa: E402
from judgekit.protocols import JudgeConfig, get_protocol  # noqa: E402
from judgekit.train.recipe.split import SOURCES, read_never_train, read_split  # noqa: E402
from judgekit.train.recipe.verify_forms import build, hard_case_target  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path(os.environ.get("JUDGEKIT_SHARED_DATA", ROOT.parent / "shared"
                                                                     / "data")))
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--select", choices=("words", "unsure"), default="words")
    args = ap.parse_args(argv)
    rows = [row for _, row in read_rows(args.data / SOURCES["gsm8k"].relpath)]
    by_id = {r["id"]: r for r in rows}
    _, items = build(rows, read_split(ROOT / "training" / "split.json")["gsm8k"], seed=0)
    never = read_never_train(ROOT / "training" / "split.json")["gsm8k"]
    never_q = {int(r["question_index"]) for r in rows if str(r["id"]) in never}
    proto = get_protocol("verify", JudgeConfig(method="generative"))
    records = []
    for item in items["train"]:
        if item.question_index in never_q:
            continue
        verdict = rule_verify(item.response, item.reference)
        if verdict.confident and not (args.select == "words" and verdict.rule == "number-words"):
            continue
        source = by_id[item.source_id]
        value = item.reference if "-ref-" in item.id else str(source["candidate_answer"])
        answer = item.response.rsplit("answer is ", 1)[-1].removeprefix("Final answer: ").rstrip(".")
        sample = Sample(id=item.id, prompt=item.question, responses=(item.response,), reference=item.reference)
        prompt = proto.prompt(sample)  # type: ignore[attr-defined]
        records.append({"id": item.id, "item_id": item.id, "source": "gsm8k-forms", "mode": "generative",
                        "template": prompt.template, "template_hash": prompt.template_hash,
                        "prompt": [{"role": m.role, "content": m.content} for m in prompt.messages],
                        "completion": [{"role": "assistant",
                                        "content": hard_case_target(item, f"{answer} ({value})")}]})
    random.Random(0).shuffle(records)
    records = records[: args.limit]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    n_correct = sum(r["completion"][0]["content"].endswith("Verdict: correct") for r in records)
    print(f"{len(records)} rows ({n_correct} correct) -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
