"""Run an arena: judge the scheduled pairs (one judge or a jury) and build leaderboards.

Each judge runs through :func:`judgekit.judge.run_judge` (runner, call cache, resume,
manifest as usual) on the pairs as pairwise Samples (``A`` = ``system_a``; both orders
are judged by the protocol unless ``--single-order``). With several judges each one
writes ``judges/<name>/`` and the panel's verdicts go to the run directory's own
``results.jsonl``/``manifest.json``/``summary.json``, so ``judgekit report`` reads it
like any run. ``arena.json`` holds the leaderboards, agreement and jury statistics.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from judgekit.arena.data import ArenaPair
from judgekit.arena.jury import PanelVerdict, Vote, combine_votes, jury_report
from judgekit.arena.leaderboard import Outcome, leaderboard, rank_agreement
from judgekit.arena.plots import save_plots
from judgekit.core.aggregate import pairwise_reward
from judgekit.core.baselines import baseline_summary
from judgekit.core.errors import ConfigError
from judgekit.core.metrics import summarize
from judgekit.core.rundir import write_atomic, write_json
from judgekit.core.runner import Runner
from judgekit.core.types import Judgment
from judgekit.judge import build_manifest, run_judge
from judgekit.protocols.base import Protocol

JudgeProgress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class PanelJudge:
    """One judge of a jury: a protocol, a way to build its runner, a vote weight."""

    name: str
    protocol: Protocol
    make_runner: Callable[[], Runner]
    weight: float = 1.0


@dataclass(frozen=True)
class ArenaSettings:
    """How verdicts become a panel verdict and how intervals are computed."""

    jury: str = "majority"
    split: str = "abstain"
    n_boot: int = 1000
    seed: int = 0
    ridge: float = 0.01


def outcomes_from(pairs: Sequence[ArenaPair], verdicts: Sequence[str | None]) -> list[Outcome]:
    """Decided comparisons (verdicts that are None are left out, never guessed)."""
    return [Outcome(p.prompt_id, p.system_a, p.system_b, v) for p, v in zip(pairs, verdicts, strict=True)
            if v is not None]


def _panel_judgment(sample_id: str, votes: Sequence[Vote], verdict: PanelVerdict) -> Judgment:
    return Judgment(
        sample_id=sample_id, verdict=verdict.label, reward=pairwise_reward(verdict.label, None),
        parse_failure=verdict.label is None, failure_reason=verdict.reason,
        extra={"votes": {v.judge: v.label for v in votes}, "tally": dict(verdict.tally),
               "abstained": list(verdict.abstained)},
    )


def _write_json(path: Path, data: Any) -> None:
    write_json(path, data)  # through a .tmp file that never follows a planted link


def judge_pairs(
    pairs: Sequence[ArenaPair], judges: Sequence[PanelJudge], run_dir: Path, settings: ArenaSettings,
    input_path: Path | None = None, progress: JudgeProgress | None = None, resume: bool = True,
    extra_manifest: dict[str, Any] | None = None,
) -> tuple[list[Judgment], dict[str, list[Judgment]]]:
    """Judge every pair with every judge; returns (final judgments, per-judge judgments)."""
    if not judges:
        raise ConfigError("an arena needs at least one judge")
    names = [j.name for j in judges]
    if len(set(names)) != len(names):
        raise ConfigError(f"judge names must be unique, got {names}")
    for j in judges:
        if j.protocol.task != "pairwise":
            raise ConfigError(f"judge {j.name!r}: protocol {j.protocol.name!r} is {j.protocol.task}, not pairwise")
    samples = [p.to_sample() for p in pairs]
    per_judge: dict[str, list[Judgment]] = {}
    manifests: dict[str, Any] = {}
    runners: dict[str, Runner] = {}
    for j in judges:
        out_dir = run_dir if len(judges) == 1 else run_dir / "judges" / j.name
        update = (lambda d, t, name=j.name: progress(name, d, t)) if progress else None
        runners[j.name] = j.make_runner()
        res = run_judge(samples, j.protocol, runners[j.name], out_dir, input_path=input_path, progress=update,
                        resume=resume, extra_manifest=extra_manifest)
        per_judge[j.name], manifests[j.name] = res.judgments, res.manifest
    if len(judges) == 1:
        return per_judge[judges[0].name], per_judge
    weights = {j.name: j.weight for j in judges}
    final = []
    for k, s in enumerate(samples):
        votes = [Vote(n, per_judge[n][k].verdict, per_judge[n][k].probs, per_judge[n][k].failure_reason)
                 for n in names]
        final.append(_panel_judgment(s.id, votes, combine_votes(votes, settings.jury, weights, settings.split)))
    write_atomic(run_dir / "results.jsonl", "".join(json.dumps(j_.to_dict(), ensure_ascii=False) + "\n"
                                                    for j_ in final))
    first = judges[0]
    manifest = build_manifest(first.protocol, runners[first.name], input_path, manifests[first.name]["input"]["sha256"],
                              "panel", 0.0, extra_manifest)
    manifest["panel"] = {"method": settings.jury, "split": settings.split, "weights": weights, "judges": manifests}
    _write_json(run_dir / "manifest.json", manifest)
    _write_json(run_dir / "summary.json", summarize(samples, final, None))
    return final, per_judge


def arena_summary(
    pairs: Sequence[ArenaPair], final: Sequence[Judgment], per_judge: dict[str, list[Judgment]],
    settings: ArenaSettings,
) -> dict[str, Any]:
    """Leaderboards (judge, and human where the file has labels), agreement, jury statistics."""
    verdicts = [j.verdict for j in final]
    systems = sorted({s for p in pairs for s in (p.system_a, p.system_b)})
    boot: dict[str, Any] = {"n_boot": settings.n_boot, "seed": settings.seed, "ridge": settings.ridge,
                            "systems": systems}
    undecided: dict[str, int] = {}
    for j in final:
        if j.verdict is None:
            key = (j.failure_reason or "no verdict").split(":")[0][:80]
            undecided[key] = undecided.get(key, 0) + 1
    out: dict[str, Any] = {
        "pairs": len(pairs), "decided": sum(v is not None for v in verdicts), "undecided": undecided,
        "judges": list(per_judge), "jury": {"method": settings.jury, "split": settings.split},
        "judge_leaderboard": leaderboard(outcomes_from(pairs, verdicts), **boot),
    }
    labels = [p.label for p in pairs]
    if any(label is not None for label in labels):
        human = outcomes_from(pairs, labels)
        out["human_leaderboard"] = leaderboard(human, **boot)
        out["rank_agreement"] = rank_agreement(human, outcomes_from(pairs, verdicts), settings.n_boot,
                                               settings.seed, ridge=settings.ridge)
    if len(per_judge) > 1 or any(label is not None for label in labels):
        votes = [list(p.votes) for p in pairs] if all(p.votes for p in pairs) else None
        out["jury_stats"] = jury_report({n: [j.verdict for j in js] for n, js in per_judge.items()},
                                        verdicts, labels, votes)
        # the panel beside the trivial baselines (position, length, random) on the same pairs
        out["baselines"] = baseline_summary([p.to_sample() for p in pairs], final, settings.seed)
    return out


def run_arena(
    pairs: Sequence[ArenaPair], judges: Sequence[PanelJudge], run_dir: Path, settings: ArenaSettings = ArenaSettings(),
    input_path: Path | None = None, progress: JudgeProgress | None = None, resume: bool = True,
    extra_manifest: dict[str, Any] | None = None, plots: bool = True,
) -> dict[str, Any]:
    """Judge, rate and write ``arena.json`` (and the PNG charts) into ``run_dir``."""
    run_dir.mkdir(parents=True, exist_ok=True)
    final, per_judge = judge_pairs(pairs, judges, run_dir, settings, input_path, progress, resume, extra_manifest)
    summary = arena_summary(pairs, final, per_judge, settings)
    if plots:
        summary["plots"] = {k: str(v) for k, v in save_plots(summary, run_dir).items()}
    _write_json(run_dir / "arena.json", summary)
    return summary
