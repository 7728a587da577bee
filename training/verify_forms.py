"""Build the varied-form GSM8K verification set (train / dev / test) from the training side of shared GSM8K.

    python training/verify_forms.py --out runs/verify_forms            # writes train/dev/test JSONL
    python training/verify_forms.py --out runs/verify_forms --write-split  # also rewrites the split file

The question split is kept in ``training/verify_forms_split.json``; without
``--write-split`` the script checks that the split it computes is the kept one
(a changed data file or seed stops it). Each part's file uses the
``question/response/reference/label`` columns ``judgekit judge -p verify`` reads;
``*-answer_only.jsonl`` holds the items without a worked solution.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from judgekit.core.data import read_rows  # noqa: E402
from judgekit.train.recipe.split import SOURCES, file_sha256, read_split  # noqa: E402
from judgekit.train.recipe.verify_forms import PARTS, build, split_file_payload  # noqa: E402

SPLIT_FILE = ROOT / "training" / "verify_forms_split.json"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path(os.environ.get("JUDGEKIT_SHARED_DATA", ROOT.parent / "shared" /
                                                                     "data")))
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--write-split", action="store_true", help="write training/verify_forms_split.json")
    args = ap.parse_args(argv)
    path = args.data / SOURCES["gsm8k"].relpath
    rows = [row for _, row in read_rows(path)]
    heldout = read_split(ROOT / "training" / "split.json")["gsm8k"]
    parts, items = build(rows, heldout, seed=args.seed)
    payload = split_file_payload(parts, file_sha256(path), args.seed)
    if args.write_split:
        SPLIT_FILE.write_text(payload, encoding="utf-8")
    elif json.loads(SPLIT_FILE.read_text(encoding="utf-8")) != json.loads(payload):
        raise SystemExit(f"{SPLIT_FILE}: the computed split differs from the kept one (data or seed changed)")
    args.out.mkdir(parents=True, exist_ok=True)
    for part in PARTS:
        for suffix, chosen in (("", items[part]), ("-answer_only", [i for i in items[part] if not i.with_solution])):
            with (args.out / f"{part}{suffix}.jsonl").open("w", encoding="utf-8") as fh:
                fh.writelines(json.dumps(i.to_dict(), ensure_ascii=False) + "\n" for i in chosen)
        print(f"{part}: {len(parts[part])} questions, {len(items[part])} items "
              f"({sum(i.label == 'correct' for i in items[part])} correct)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
