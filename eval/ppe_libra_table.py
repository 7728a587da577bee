"""Markdown tables of the PPE and Libra Bench runs made by ``scripts/measure_ppe_libra.sh``.

    python eval/ppe_libra_table.py runs/ppe_libra

Reads each run's ``scores.json`` (written by ``judgekit eval``) and prints one table per
benchmark: a row per judge configuration, each number with its Wilson interval (``W``,
when the number is a proportion of items) or its bootstrap interval (``b``), then the
content-blind baselines of ``eval/bench_baselines.py`` (``first``, ``longer``, ``shorter``,
``constant``) scored by the same rule on the same items (pairwise: both orders;
PPE correctness: pointwise, so best-of-K has a baseline; Libra: verify, where ``first`` and
``constant`` say "correct" to every row).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # judgekit and eval/ from this checkout

from bench_baselines import BASELINES, baseline_outcomes  # noqa: E402

from judgekit.evaluation.benchmarks import get_benchmark, score_benchmark  # noqa: E402

FIX = ROOT / "tests" / "fixtures" / "benchmarks"
DATA = {"librabench": (FIX / "librabench.jsonl", "verify"),
        "ppe_human": (FIX / "ppe_human_preference_v1.jsonl", "pairwise"),
        "ppe_correctness": (FIX / "ppe_correctness", "pointwise")}

TABLES: dict[str, tuple[str, list[str]]] = {
    "librabench": ("Libra Bench (6 constructed rows)",
                   ["overall", "subset/MATH500", "subset/AIME2024", "subset/AIME2025", "macro_f1"]),
    "ppe_human": ("PPE human preference (4 constructed votes, 1 tie left out)",
                  ["overall", "subset/English", "subset/Chinese"]),
    "ppe_correctness": ("PPE correctness (3 constructed rows x 4 responses, 8 conflict pairs)",
                        ["overall", "subset/math", "subset/mmlu_pro", "bok_end", "bok_max", "bok_loss", "auc"]),
}
DIAG = ["tie_rate", "position_consistency", "parse_failure_rate", "score_failure_rate", "mean_score"]


def _cell(metric: dict[str, Any] | None) -> str:
    if metric is None or metric.get("value") is None:
        return "-"
    v = float(metric["value"])
    if metric.get("wilson"):
        lo, hi = metric["wilson"]
        return f"{v:.3f} [{lo:.2f}, {hi:.2f}] W"
    ci = metric.get("ci")
    if ci and ci[0] is not None:
        return f"{v:.3f} [{ci[0]:.2f}, {ci[1]:.2f}] b"
    return f"{v:.3f}"


def _judge(run: Path) -> str:
    manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8")) if (run / "manifest.json").exists() \
        else {}
    groups = manifest.get("eval", {}).get("protocols") or {}
    protos = ", ".join(f"{g['protocol']} ({g['method']})" for g in groups.values()) or "?"
    model = str(manifest.get("model_id") or "?").rsplit("-", 1)[0]  # the name, without its weights digest
    options = (manifest.get("config") or {}).get("options") or {}
    opts = "".join(f", {k}={v}" for k, v in sorted(dict(options).items()))
    return f"{protos}, {model}{opts}"


def table(runs: list[Path], bench: str) -> str:
    """One markdown table for ``bench`` over its runs."""
    title, cols = TABLES[bench]
    lines = [f"**{title}**", "", "| judge: protocol (method), model | " + " | ".join(cols + ["diagnostics"]) + " |",
             "|---" * (len(cols) + 2) + "|"]
    for run in runs:
        s = json.loads((run / "scores.json").read_text(encoding="utf-8"))
        diag = s.get("diagnostics", {})
        d = ", ".join(f"{k} {diag[k]:.2f}" for k in DIAG if isinstance(diag.get(k), int | float))
        cells = [_cell(s["metrics"].get(c)) for c in cols]
        lines.append(f"| {_judge(run)} | " + " | ".join(cells) + f" | {d or '-'} |")
    path, mode = DATA[bench]
    evalset = get_benchmark(bench).load(path, None)
    for name in BASELINES:
        outs = baseline_outcomes(evalset, name, mode, both_orders=True)
        metrics = score_benchmark(get_benchmark(bench), evalset, outs, n_boot=200)["metrics"]
        lines.append(f"| baseline: {name} ({mode}) | " + " | ".join(_cell(metrics.get(c)) for c in cols) + " | - |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", type=Path, help="folder of eval runs (one per subfolder)")
    args = ap.parse_args()
    by: dict[str, list[Path]] = {}
    for run in sorted(p for p in args.runs.iterdir() if (p / "scores.json").exists()):
        bench = json.loads((run / "scores.json").read_text(encoding="utf-8"))["benchmark"]
        by.setdefault(bench, []).append(run)
    for bench in TABLES:
        if bench in by:
            print(table(by[bench], bench), end="\n\n")


if __name__ == "__main__":
    main()
