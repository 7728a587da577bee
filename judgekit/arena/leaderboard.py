"""Leaderboards from pairwise outcomes: Bradley–Terry ratings, bootstrap CIs over prompts.

An :class:`Outcome` is one decided comparison (``"A"``: ``system_a`` won, ``"B"``,
or ``"tie"``). Intervals come from a percentile bootstrap that resamples *prompts*
(all comparisons on a prompt move together, since they share the prompt's
difficulty), refitting the model on each resample. Pure functions; seeded.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from judgekit.arena.agreement import kendall_tau, spearman_rho
from judgekit.arena.bradley_terry import ELO_SCALE, fit_bradley_terry, outcome_counts, win_rate_matrix


@dataclass(frozen=True)
class Outcome:
    """One decided comparison between two systems on one prompt."""

    prompt_id: str
    system_a: str
    system_b: str
    result: str  # "A", "B" or "tie"


def _per_prompt_counts(outcomes: Sequence[Outcome], systems: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """``(prompt ids, counts[p, 0|1, i, j])``: wins and ties per prompt."""
    index = {s: k for k, s in enumerate(systems)}
    prompts = sorted({o.prompt_id for o in outcomes})
    where = {p: k for k, p in enumerate(prompts)}
    counts = np.zeros((len(prompts), 2, len(systems), len(systems)))
    for o in outcomes:
        w, t = outcome_counts(len(systems), [(index[o.system_a], index[o.system_b], o.result)])
        counts[where[o.prompt_id], 0] += w
        counts[where[o.prompt_id], 1] += t
    return prompts, counts


def _resamples(n_prompts: int, n_boot: int, seed: int) -> np.ndarray:
    """``n_boot`` rows of prompt multiplicities (a bootstrap draw of the prompts)."""
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n_prompts, size=(n_boot, n_prompts))
    return np.stack([np.bincount(d, minlength=n_prompts) for d in draws]) if n_prompts else np.zeros((n_boot, 0))


def _ranks(theta: Sequence[float] | np.ndarray) -> np.ndarray:
    """Rank 1 = strongest (ties share the better rank)."""
    t = np.asarray(theta)
    return np.array([1 + int(np.sum(t > v + 1e-12)) for v in t])


def _quantiles(draws: np.ndarray, level: float) -> np.ndarray:
    alpha = (1 - level) / 2
    return np.quantile(draws, [alpha, 1 - alpha], axis=0)


def leaderboard(
    outcomes: Sequence[Outcome],
    systems: Sequence[str] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    ridge: float = 0.01,
) -> dict[str, Any]:
    """Davidson–Bradley–Terry leaderboard with bootstrap intervals (JSON-ready).

    Rows are sorted by rating; each has ``rating`` (Elo scale, mean 1000) with ``ci``,
    ``theta`` (natural log-strength), ``rank`` with ``rank_ci`` and the raw record.
    ``win_rate`` is the observed (wins + ties/2) / games matrix in ``systems`` order.
    """
    names = sorted({s for o in outcomes for s in (o.system_a, o.system_b)}) if systems is None else list(systems)
    prompts, counts = _per_prompt_counts(outcomes, names)
    wins, ties = counts[:, 0].sum(axis=0), counts[:, 1].sum(axis=0)
    fit = fit_bradley_terry(wins, ties, ridge=ridge)
    boot_theta = []
    for mult in _resamples(len(prompts), n_boot, seed):
        total = np.tensordot(mult, counts, axes=1)
        boot_theta.append(fit_bradley_terry(total[0], total[1], ridge=ridge).theta)
    draws = np.asarray(boot_theta).reshape(n_boot, len(names))
    theta_ci = _quantiles(draws, level) if n_boot else np.full((2, len(names)), np.nan)
    rank_draws = np.stack([_ranks(t) for t in draws]) if n_boot else None
    alpha = (1 - level) / 2
    rank_ci = (np.stack([np.quantile(rank_draws, alpha, axis=0, method="lower"),
                         np.quantile(rank_draws, 1 - alpha, axis=0, method="higher")])
               if rank_draws is not None else theta_ci)
    ranks = _ranks(fit.theta)
    rows: list[dict[str, Any]] = []
    for k, name in enumerate(names):
        games = float(wins[k].sum() + wins[:, k].sum() + ties[k].sum())
        rows.append({
            "system": name, "rank": int(ranks[k]),
            "rank_ci": [None if math.isnan(x) else int(x) for x in rank_ci[:, k]],
            "rating": 1000 + ELO_SCALE * fit.theta[k], "ci": [1000 + ELO_SCALE * float(x) for x in theta_ci[:, k]],
            "theta": fit.theta[k], "theta_ci": [float(x) for x in theta_ci[:, k]],
            "wins": float(wins[k].sum()), "losses": float(wins[:, k].sum()), "ties": float(ties[k].sum()),
            "games": games, "win_rate": (float(wins[k].sum() + ties[k].sum() / 2) / games) if games else None,
        })
    rows.sort(key=lambda r: (-r["theta"], r["system"]))
    rate = win_rate_matrix(wins, ties)
    return {
        "model": "Davidson-Bradley-Terry (ties), MAP with ridge", "ridge": ridge, "tie_nu": fit.nu,
        "converged": fit.converged, "systems": names, "rows": rows, "n_prompts": len(prompts),
        "n_comparisons": len(outcomes),
        "win_rate": [[None if math.isnan(v) else float(v) for v in row] for row in rate],
        "bootstrap": {"n_boot": n_boot, "seed": seed, "level": level, "unit": "prompt"},
    }


def rank_agreement(
    outcomes_x: Sequence[Outcome],
    outcomes_y: Sequence[Outcome],
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    ridge: float = 0.01,
) -> dict[str, Any]:
    """Kendall's tau-b and Spearman's rho between two leaderboards of the same systems.

    Both are refitted on each bootstrap resample of the prompts the two outcome sets
    share (resampled jointly), so the interval reflects the uncertainty of both rankings.
    """
    names = sorted({s for o in (*outcomes_x, *outcomes_y) for s in (o.system_a, o.system_b)})
    px, cx = _per_prompt_counts(outcomes_x, names)
    py, cy = _per_prompt_counts(outcomes_y, names)
    shared = sorted(set(px) & set(py))
    cx = cx[[px.index(p) for p in shared]]
    cy = cy[[py.index(p) for p in shared]]

    def stats(mult: np.ndarray) -> tuple[float, float]:
        tx, ty = np.tensordot(mult, cx, axes=1), np.tensordot(mult, cy, axes=1)
        a = fit_bradley_terry(tx[0], tx[1], ridge=ridge).theta
        b = fit_bradley_terry(ty[0], ty[1], ridge=ridge).theta
        return kendall_tau(a, b), spearman_rho(a, b)

    tau, rho = stats(np.ones(len(shared)))
    draws = np.array([stats(m) for m in _resamples(len(shared), n_boot, seed)]).reshape(n_boot, 2)

    def ci(col: np.ndarray) -> list[float] | None:
        col = col[np.isfinite(col)]
        return [float(x) for x in _quantiles(col, level)] if col.size else None

    return {
        "kendall_tau": tau, "kendall_tau_ci": ci(draws[:, 0]),
        "spearman_rho": rho, "spearman_rho_ci": ci(draws[:, 1]),
        "systems": names, "n_prompts": len(shared),
        "bootstrap": {"n_boot": n_boot, "seed": seed, "level": level, "unit": "prompt"},
    }
