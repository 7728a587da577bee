"""PandaLM as an arena: the human leaderboard from the votes, and a judge's against it.

Run:
    python eval/arena_pandalm.py                                  # human leaderboard, whole test set
    python eval/arena_pandalm.py --run runs/pandalm-arena-logit   # + the judge run's numbers (markdown)

PandaLM's test set names the two systems of every pair in ``cmp_key``
(``"bloom-7b_llama-7b"``: response1 is bloom-7b's); each pair has three human
votes and a majority label. The human leaderboard is a Davidson-Bradley-Terry fit
of the majority labels with a percentile bootstrap over prompts (deterministic:
seeded). ``--run`` reads an ``arena.json`` written by
``judgekit arena pandalm_testset_v1.jsonl ...`` and prints its leaderboards, rank
agreement and jury statistics as markdown. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from judgekit.arena.agreement import fleiss_kappa
from judgekit.arena.data import load_arena
from judgekit.arena.leaderboard import leaderboard
from judgekit.arena.run import outcomes_from

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = Path(os.environ.get("JUDGEKIT_SHARED_DATA", ROOT.parent / "shared" / "data")) / "pandalm" / \
    "pandalm_testset_v1.jsonl"


def human_arena(path: Path, n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    """The human leaderboard and inter-annotator agreement of the whole file."""
    pairs = load_arena(path).pairs
    board = leaderboard(outcomes_from(pairs, [p.label for p in pairs]), n_boot=n_boot, seed=seed)
    return {"pairs": len(pairs), "leaderboard": board, "fleiss_kappa": fleiss_kappa([list(p.votes) for p in pairs])}


def board_markdown(board: Mapping[str, Any]) -> str:
    """A leaderboard as a markdown table."""
    lines = ["| rank | system | rating | 95% CI | rank CI | W-L-T |", "|---|---|---|---|---|---|"]
    for r in board["rows"]:
        lines.append(f"| {r['rank']} | {r['system']} | {r['rating']:.0f} | [{r['ci'][0]:.0f}, {r['ci'][1]:.0f}] | "
                     f"{r['rank_ci'][0]}-{r['rank_ci'][1]} | {r['wins']:g}-{r['losses']:g}-{r['ties']:g} |")
    return "\n".join(lines)


def _ci(ci: Any) -> str:
    return f"[{ci[0]:.2f}, {ci[1]:.2f}]" if ci else "[-]"


def main() -> None:
    """Print the human arena (and a judge run's) as markdown."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT)
    parser.add_argument("--run", type=Path, help="a `judgekit arena` run directory on this file")
    parser.add_argument("--n-boot", type=int, default=1000)
    args = parser.parse_args()
    human = human_arena(args.data, args.n_boot)
    print(f"## Human leaderboard: all {human['pairs']} PandaLM test pairs (majority of 3 votes)\n")
    print(board_markdown(human["leaderboard"]))
    print(f"\nFleiss kappa among the 3 annotators: {human['fleiss_kappa']:.3f}\n")
    if args.run:
        arena = json.loads((args.run / "arena.json").read_text(encoding="utf-8"))
        n = arena["judge_leaderboard"]["n_prompts"]
        print(f"## Judge run {args.run}: {arena['decided']} of {arena['pairs']} pairs decided\n")
        print(board_markdown(arena["judge_leaderboard"]))
        print(f"\nHuman leaderboard on the same {arena['pairs']} pairs:\n")
        print(board_markdown(arena["human_leaderboard"]))
        ra = arena["rank_agreement"]
        print(f"\nKendall tau {ra['kendall_tau']:.2f} {_ci(ra['kendall_tau_ci'])}, Spearman rho "
              f"{ra['spearman_rho']:.2f} {_ci(ra['spearman_rho_ci'])} ({n} prompts, bootstrap over prompts)")
        for name, m in arena["jury_stats"]["judges"].items():
            h = arena["jury_stats"].get("human_agreement", {}).get(name, {})
            print(f"\n{name}: accuracy vs majority {m['accuracy']:.3f} {_ci(m['ci95'])} on {m['n']} pairs; "
                  f"Cohen kappa vs majority {h.get('cohen_kappa_vs_majority', float('nan')):.3f}; "
                  f"Fleiss kappa humans+judge {h.get('fleiss_kappa_with_humans', float('nan')):.3f} "
                  f"(humans alone on these pairs: {arena['jury_stats']['human_agreement']['fleiss_kappa_humans']:.3f})")


if __name__ == "__main__":
    main()
