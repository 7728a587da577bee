"""Trivial baselines on the held-out side of every shared source (no model; the table in docs/baselines.md).

    JUDGEKIT_SHARED_DATA=../shared/data python eval/baselines_table.py

Each source's held-out rows (``training/split.json``) are loaded exactly as
``judgekit judge`` loads the file (same columns, same order), and every baseline of
:mod:`judgekit.core.baselines` is scored with its Wilson 95% interval; pairwise rows
also give the accuracy where the preferred response is longer / shorter and their
mean (length-controlled accuracy; every pure length rule is at 0.5 on it).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from judgekit.core.baselines import baseline_verdicts, baselines, length_strata  # noqa: E402
from judgekit.core.data import load_samples, read_rows  # noqa: E402
from judgekit.train.recipe.split import SOURCES, read_split  # noqa: E402


def main() -> int:
    data = Path(os.environ.get("JUDGEKIT_SHARED_DATA", ROOT.parent / "shared" / "data"))
    heldout = read_split(ROOT / "training" / "split.json")
    print("| source | items | baseline | accuracy [95% CI] | preferred longer / shorter | length-controlled |")
    print("|---|---:|---|---|---|---:|")
    for name, source in SOURCES.items():
        rows = [row for _, row in read_rows(data / source.relpath) if source.item_id(row) in heldout[name]]
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"heldout_{name}.jsonl"

            path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
            samples = [s for s in load_samples(path, source.task) if s.label is not None]  # type: ignore[arg-type]
        verdicts = baseline_verdicts(samples, source.task)
        for b in baselines(samples, source.task):
            strata, controlled = "", ""
            if source.task == "pairwise":
                st = length_strata(samples, verdicts[b.name])
                strata = f"{st.longer.accuracy:.3f} / {st.shorter.accuracy:.3f} (n={st.longer.n}/{st.shorter.n})"
                controlled = f"{st.controlled:.3f}" if st.controlled is not None else "-"
            print(f"| {name} | {b.n} | {b.name} | {b.accuracy:.3f} [{b.ci95[0]:.3f}, {b.ci95[1]:.3f}] | {strata} | "
                  f"{controlled} |")
    return 0

if __name__ == "__main__":
    raise SystemExit(main())
