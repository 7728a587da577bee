"""The one read of the test side for the shipped pairwise configurations (issue #27).

    python eval/likelihood_judges.py test-read --test runs/likelihood/test.jsonl

No fitting and no choosing: every option was chosen on dev (docs/likelihood_judges.md). The
read is appended to ``training/test_reads.jsonl``; a second read needs ``--again REASON``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from likelihood_judges import (  # noqa: E402 - eval/ is a folder of scripts, not a package
    SHARED,
    SHIPPED_PAIRWISE,
    judge_rows,
    markdown,
    mean_lc,
    pooled_lc_interval,
    read,
    speed,
)


def targets(table: dict[str, dict[str, Any]], judge: str) -> list[str]:
    """Issue #27's pairwise targets for ``judge``, each met or not and by how much."""
    lines = []
    beats = []
    for source, row in table.items():
        best = max((k for k in row if k.startswith("baseline:")), key=lambda k: row[k].accuracy)
        sc = row[judge]
        beats.append(sc.low > row[best].accuracy)
        lines.append(f"- {source} (n = {sc.n}): accuracy {sc.accuracy:.3f} (95% {sc.low:.3f}-{sc.high:.3f}) vs best "
                     f"baseline {best.split(':')[1]} {row[best].accuracy:.3f}: "
                     + ("above it by more than the interval" if beats[-1] else
                        f"not above it by more than the interval (lower bound {sc.low - row[best].accuracy:+.3f})"))
    shared = [s for s in table if s in SHARED]
    n_shared = sum(b for s, b in zip(table, beats, strict=True) if s in SHARED)
    lines.append(f"- beats the best baseline by more than its interval on {n_shared} of the {len(shared)} shared "
                 f"sources with test pairs ({', '.join(shared)}), on {sum(beats)} of all {len(table)} sources "
                 f"(target: at least three of the four shared sources): {'met' if n_shared >= 3 else 'not met'}")
    lc = {s: (row[judge].length_controlled if row[judge].length_controlled is not None else row[judge].accuracy)
          for s, row in table.items()}
    if "llmbar" in lc:
        lines.append(f"- length-controlled accuracy on instruction following (llmbar) {lc['llmbar']:.3f} "
                     f"(target >= 0.60): {'met' if lc['llmbar'] >= 0.60 else 'not met'} by {lc['llmbar'] - 0.60:+.3f}")
    mean = sum(lc.values()) / len(lc)
    lines.append(f"- mean length-controlled accuracy over the {len(lc)} sources {mean:.3f} (target >= 0.55): "
                 f"{'met' if mean >= 0.55 else 'not met'} by {mean - 0.55:+.3f}")
    low = min(lc, key=lambda s: lc[s])
    lines.append(f"- lowest length-controlled accuracy {lc[low]:.3f} ({low}; target never below 0.45): "
                 f"{'met' if lc[low] >= 0.45 else 'not met'} by {lc[low] - 0.45:+.3f}")
    return lines


def cmd_test_read(ns: argparse.Namespace) -> None:
    """The one read of the test side for the shipped configurations: no fitting, no choosing.

    Every option was chosen on dev before (the default `pmi-none`; the combination was not
    shipped), so this reads only test features and records the read in training/test_reads.jsonl.
    """
    recs = read(ns.test)
    reads: Path = ns.reads
    earlier = [json.loads(x) for x in reads.read_text(encoding="utf-8").splitlines()
               if x.strip()] if reads.exists() else []
    if any(e.get("kind") == "pairwise" for e in earlier) and not ns.again:
        raise SystemExit(f"{reads}: the pairwise test side was read already; --again REASON to read it again")
    table = judge_rows(recs, {}, ns.seed)
    judges = [k for k in next(iter(table.values())) if not k.startswith("baseline:")]
    def predictor(name: str) -> Any:
        return lambda r: r["verdicts"].get(name)

    pooled = {j: pooled_lc_interval(recs, predictor(j), ns.seed) for j in judges}
    lines = ["#### test side (read once)", "", "| judge | mean LC over sources | pooled LC (95% bootstrap) |",
             "|---|---|---|"]
    lines += [f"| {j}{' (default)' if j == SHIPPED_PAIRWISE else ''} | {mean_lc(table, j):.3f} | "
              f"{pooled[j][0]:.3f} ({pooled[j][1]:.3f}-{pooled[j][2]:.3f}) |"
              for j in sorted(judges, key=lambda j: -mean_lc(table, j))]
    text = "\n".join([*lines, "", f"#### targets ({SHIPPED_PAIRWISE}, the pairwise default)", "",
                      *targets(table, SHIPPED_PAIRWISE), "", "#### targets (logit, judgekit-135m)", "",
                      *targets(table, "logit"), "", markdown(table, "test, per source"), "#### speed (test run)", "",
                      speed(recs) if all(k in recs[0]["seconds"] for k in ("logit", "endogenous", "pmi-token",
                                                                             "flip-token", "dpo")) else "-", ""])
    record = {"utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "kind": "pairwise",
              "command": ["python", "eval/likelihood_judges.py", *sys.argv[1:]], "configs": judges,
              "shipped_default": SHIPPED_PAIRWISE, "test_pairs": len(recs),
              "per_source": {s: next(iter(row.values())).n for s, row in table.items()},
              "reason_for_another_read": ns.again}
    with reads.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")
    report = {"record": record, "per_source": {s: {j: sc.to_dict() for j, sc in row.items()}
                                               for s, row in table.items()},
              "mean_length_controlled": {j: mean_lc(table, j) for j in judges}, "pooled_length_controlled": pooled}
    ns.report.parent.mkdir(parents=True, exist_ok=True)
    ns.report.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    ns.report.with_suffix(".md").write_text(text, encoding="utf-8")
    print(text)
