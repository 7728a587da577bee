"""Learning curve of a recipe SFT stage: held-out accuracy at each saved checkpoint.

    python training/recipe_curve.py runs/recipe --stage sft2 --base runs/recipe/sft [--sources gsm8k]

Each checkpoint (``OUT/STAGE/trainer/checkpoint-N``, a LoRA adapter over ``--base``) is
merged once into ``OUT/curve/STAGE-N`` and judged in logit mode on the held-out file of
every ``--sources`` entry (``OUT/data/heldout_<src>.jsonl``, all items, both orders for
pairwise); step 0 is ``--base`` itself (its run under ``OUT/eval/<base name>/`` is reused
when present). Results go to ``OUT/curve/eval/...`` and the table, graded exactly as
``training/recipe_table.py`` grades (position-consistent accuracy, Wilson 95% CIs), is
printed and written to ``OUT/curve/STAGE.json``. Runs resume: a finished evaluation is
not repeated.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from recipe_table import fmt, grade  # noqa: E402

from judgekit.core.weights import merge_adapter, shipped_adapter_dir  # noqa: E402
from judgekit.train.recipe.split import SOURCES  # noqa: E402


def checkpoints(stage_dir: Path) -> list[tuple[int, Path]]:
    """(step, adapter dir) of every saved checkpoint of a stage, by step."""
    found = []
    for path in (stage_dir / "trainer").glob("checkpoint-*"):
        match = re.fullmatch(r"checkpoint-(\d+)", path.name)
        if match and shipped_adapter_dir(path):
            found.append((int(match.group(1)), path))
    return sorted(found)


def judge(model: Path, heldout: Path, proto: str, out: Path, seed: int) -> None:
    """``judgekit judge`` in logit mode, unless ``out`` already holds a finished run."""
    if (out / "summary.json").is_file():
        return
    cmd = [sys.executable, "-m", "judgekit", "judge", str(heldout), "-p", proto, "--model", str(model),
           "--method", "logit", "--seed", str(seed), "-o", str(out)]
    subprocess.run(cmd, check=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="the recipe's OUT directory")
    parser.add_argument("--stage", required=True, help="the stage directory under OUT (e.g. sft2)")
    parser.add_argument("--base", type=Path, required=True, help="the model the stage's LoRA was trained on")
    parser.add_argument("--sources", default="gsm8k", help="comma-separated held-out sources to judge")
    parser.add_argument("--seed", type=int, default=0)
    ns = parser.parse_args(argv)
    unknown = [src for src in ns.sources.split(",") if src not in SOURCES]
    if unknown:
        parser.error(f"--sources: unknown {', '.join(unknown)}; choose from {', '.join(SOURCES)}")
    adapters = dict(checkpoints(ns.out / ns.stage))
    rows = []
    for step in [0, *adapters]:
        model = ns.base if step == 0 else ns.out / "curve" / f"{ns.stage}-{step}"
        if step and not (model / "config.json").is_file():
            merge_adapter(ns.base, adapters[step], model, {"base": str(ns.base), "adapter": str(adapters[step])})
        for src in ns.sources.split(","):
            task = SOURCES[src].task
            proto = "verify" if task == "verify" else "pairwise"
            heldout = ns.out / "data" / f"heldout_{src}.jsonl"
            reused = ns.out / "eval" / ns.base.name / f"{src}-logit"
            run = reused if step == 0 and (reused / "summary.json").is_file() else (
                ns.out / "curve" / "eval" / f"{ns.stage}-{step}" / f"{src}-logit")
            judge(model, heldout, proto, run, ns.seed)
            rows.append({"stage": ns.stage, "step": step, "source": src, **grade(run / "results.jsonl", heldout, task)})
    lines = ["| stage | step | source | items | accuracy [95% CI] | position consistency |",
             "|---|---:|---|---:|---|---:|"]
    for r in rows:
        lo, hi = r["ci95"]
        lines.append(f"| {r['stage']} | {r['step']} | {r['source']} | {r['n']} | {fmt(r['accuracy'])} "
                     f"[{lo:.3f}, {hi:.3f}] | {fmt(r.get('position_consistency'))} |")
    print("\n".join(lines))
    (ns.out / "curve").mkdir(parents=True, exist_ok=True)
    (ns.out / "curve" / f"{ns.stage}.json").write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    return rows


if __name__ == "__main__":
    main()
