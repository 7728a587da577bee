"""Best-of-4 items in RewardBench 2's layout from shared GSM8K (held-out questions), for listwise vs pairwise.

Each held-out question of ``training/split.json`` whose four candidate solutions hold exactly
one correct answer (upstream's grading, ``is_correct``) becomes a row ``{id, subset: "Math",
prompt, chosen: [correct], rejected: [3 incorrect], num_correct: 1}``, so
``judgekit eval rewardbench2`` scores it with RewardBench 2's best-of-4 rule:

    python eval/best_of_4_gsm8k.py runs/bo4/gsm8k_bo4.jsonl
    judgekit eval rewardbench2 runs/bo4/gsm8k_bo4.jsonl -p listwise --method logit -o runs/bo4-listwise
    judgekit eval rewardbench2 runs/bo4/gsm8k_bo4.jsonl -p pairwise --method logit -o runs/bo4-pairwise
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # judgekit from this checkout, installed or not

from judgekit.core.data import read_rows  # noqa: E402
from judgekit.train.recipe.split import read_split  # noqa: E402

SHARED = Path(os.environ.get("JUDGEKIT_SHARED_DATA", ROOT.parent / "shared" / "data"))


def main(out: Path) -> None:
    held = read_split(ROOT / "training" / "split.json")["gsm8k"]
    by_q: dict[int, list[dict]] = {}  # type: ignore[type-arg]
    for _, row in read_rows(SHARED / "gsm8k_verification" / "gsm8k_verification.jsonl"):
        if row["id"] in held:
            by_q.setdefault(int(row["question_index"]), []).append(row)
    rows = []
    for qi, cands in sorted(by_q.items()):
        good = [c["candidate_solution"] for c in cands if c["is_correct"]]
        bad = [c["candidate_solution"] for c in cands if not c["is_correct"]]
        if len(good) == 1 and len(bad) == 3:
            rows.append({"id": f"gsm8k-q{qi}", "subset": "Math", "prompt": cands[0]["question"], "chosen": good,
                         "rejected": bad, "num_correct": 1, "num_rejected": 3, "total_completions": 4})
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"{out}: {len(rows)} best-of-4 items")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
