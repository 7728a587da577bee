"""Bradley–Terry ratings with ties (Davidson 1970), fitted by Newton's method.

With strengths ``pi_i = exp(theta_i)`` and tie parameter ``nu = exp(delta)``::

    P(i beats j) = pi_i / D,   P(j beats i) = pi_j / D,   P(tie) = nu * sqrt(pi_i pi_j) / D
    D = pi_i + pi_j + nu * sqrt(pi_i pi_j)

Dividing through by ``sqrt(pi_i pi_j)`` makes each comparison a three-way softmax
over ``(d/2, -d/2, delta)`` with ``d = theta_i - theta_j``: the log-likelihood is
concave in ``(theta, delta)`` and Newton's method converges in a few steps. A weak
Gaussian prior on ``theta`` (``ridge``) keeps ratings finite when a system wins or
loses every comparison (common in bootstrap resamples of small arenas); ratings are
centred to mean zero. Counts may be fractional (e.g. probability-weighted outcomes).
Pure numpy; no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

ELO_SCALE = 400 / math.log(10)  # theta (natural log-odds) -> Elo points


@dataclass(frozen=True)
class BTFit:
    """Fitted ratings: ``theta`` (log-strength, mean 0), tie parameter ``nu``, fit facts."""

    theta: tuple[float, ...]
    nu: float
    log_likelihood: float
    iterations: int
    converged: bool

    def elo(self, base: float = 1000.0) -> tuple[float, ...]:
        """Ratings on the Elo scale (400 points = 10:1 odds), centred on ``base``."""
        return tuple(base + ELO_SCALE * t for t in self.theta)


def outcome_counts(
    n: int, comparisons: list[tuple[int, int, str]] | list[tuple[int, int, str, float]]
) -> tuple[np.ndarray, np.ndarray]:
    """``(wins, ties)`` matrices from ``(i, j, outcome[, weight])`` rows.

    ``outcome`` is ``"A"`` (i won), ``"B"`` (j won) or ``"tie"``; ``wins[i, j]`` counts
    i beating j and ``ties`` is symmetric.
    """
    wins = np.zeros((n, n))
    ties = np.zeros((n, n))
    for row in comparisons:
        i, j, outcome = row[0], row[1], row[2]
        w = float(row[3]) if len(row) > 3 else 1.0  # type: ignore[misc]
        if i == j:
            raise ValueError(f"system {i} compared with itself")
        if outcome == "A":
            wins[i, j] += w
        elif outcome == "B":
            wins[j, i] += w
        elif outcome == "tie":
            ties[i, j] += w
            ties[j, i] += w
        else:
            raise ValueError(f"outcome {outcome!r} is not A, B or tie")
    return wins, ties


def _pairs(wins: np.ndarray, ties: np.ndarray) -> tuple[np.ndarray, ...]:
    iu, ju = np.triu_indices(wins.shape[0], k=1)
    w_ij, w_ji, t = wins[iu, ju], wins[ju, iu], ties[iu, ju]
    keep = (w_ij + w_ji + t) > 0
    return iu[keep], ju[keep], w_ij[keep], w_ji[keep], t[keep]


def _loglik(theta: np.ndarray, delta: float, pairs: tuple[np.ndarray, ...], ridge: float) -> float:
    i, j, w_ij, w_ji, t = pairs
    half = (theta[i] - theta[j]) / 2
    log_d = np.logaddexp(half, -half)
    if math.isfinite(delta):
        log_d = np.logaddexp(log_d, delta)
    ll = w_ij * (half - log_d) + w_ji * (-half - log_d)
    if math.isfinite(delta):
        ll = ll + t * (delta - log_d)
    return float(ll.sum() - ridge / 2 * np.sum(theta**2))


def fit_bradley_terry(
    wins: np.ndarray, ties: np.ndarray | None = None, ridge: float = 0.01, max_iter: int = 100, tol: float = 1e-10
) -> BTFit:
    """Maximum a-posteriori Davidson–Bradley–Terry fit (see module docstring).

    ``wins[i, j]`` is how often i beat j; ``ties`` (symmetric) how often they tied.
    Without any tie the tie parameter is not estimated (``nu = 0``: plain Bradley–Terry).
    """
    wins = np.asarray(wins, dtype=float)
    n = wins.shape[0]
    ties = np.zeros_like(wins) if ties is None else np.asarray(ties, dtype=float)
    if wins.shape != (n, n) or ties.shape != (n, n):
        raise ValueError("wins and ties must be square matrices of the same size")
    if np.any(wins < 0) or np.any(ties < 0):
        raise ValueError("counts must be non-negative")
    pairs = _pairs(wins, ties)
    with_ties = float(pairs[4].sum()) > 0
    theta = np.zeros(n)
    delta = 0.0 if with_ties else -math.inf
    ll = _loglik(theta, delta, pairs, ridge)
    converged, iterations = False, 0
    for iterations in range(1, max_iter + 1):  # noqa: B007 - the count is reported
        step_theta, step_delta = _newton_step(theta, delta, pairs, ridge, with_ties)
        scale = 1.0
        while True:  # backtracking: never accept a step that lowers the likelihood
            cand_t, cand_d = theta + scale * step_theta, delta + scale * step_delta
            cand_ll = _loglik(cand_t, cand_d, pairs, ridge)
            if cand_ll >= ll - 1e-12 or scale < 1e-8:
                break
            scale /= 2
        gain = cand_ll - ll
        theta, delta, ll = cand_t, cand_d, cand_ll
        if abs(gain) < tol and np.max(np.abs(scale * step_theta)) < 1e-7:
            converged = True
            break
    theta = theta - theta.mean()
    nu = math.exp(delta) if with_ties else 0.0
    return BTFit(tuple(float(x) for x in theta), nu, ll, iterations, converged)


def _newton_step(
    theta: np.ndarray, delta: float, pairs: tuple[np.ndarray, ...], ridge: float, with_ties: bool
) -> tuple[np.ndarray, float]:
    """Newton direction for ``(theta, delta)`` (delta fixed at -inf without ties)."""
    i, j, w_ij, w_ji, t = pairs
    n = theta.size
    half = (theta[i] - theta[j]) / 2
    z = np.stack([half, -half, np.full_like(half, delta if with_ties else -np.inf)], axis=1)
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    counts = np.stack([w_ij, w_ji, t], axis=1)
    total = counts.sum(axis=1)
    resid = counts - total[:, None] * p  # d loglik / d z
    g_d = (resid[:, 0] - resid[:, 1]) / 2  # d loglik / d (theta_i - theta_j)
    m = n + 1 if with_ties else n
    grad = np.zeros(m)
    np.add.at(grad, i, g_d)
    np.add.at(grad, j, -g_d)
    grad[:n] -= ridge * theta
    # Hessian of -loglik: A^T (diag(p) - p p^T) A per comparison, A maps (d, delta) -> z.
    v_dd = total * (p[:, 0] + p[:, 1] - (p[:, 0] - p[:, 1]) ** 2) / 4
    hess = np.zeros((m, m))
    np.add.at(hess, (i, i), v_dd)
    np.add.at(hess, (j, j), v_dd)
    np.add.at(hess, (i, j), -v_dd)
    np.add.at(hess, (j, i), -v_dd)
    hess[np.arange(n), np.arange(n)] += ridge
    if with_ties:
        grad[n] = resid[:, 2].sum()
        v_dt = -total * (p[:, 0] - p[:, 1]) * p[:, 2] / 2  # cov of d-feature and tie-feature, negated
        col = np.zeros(n)
        np.add.at(col, i, v_dt)
        np.add.at(col, j, -v_dt)
        hess[:n, n] = col
        hess[n, :n] = col
        hess[n, n] = float((total * p[:, 2] * (1 - p[:, 2])).sum()) + 1e-9
    hess += 1e-9 * np.eye(m)  # the ratings are only defined up to a shift when ridge = 0
    step = np.linalg.lstsq(hess, grad, rcond=None)[0]
    return step[:n], (float(step[n]) if with_ties else 0.0)


def win_rate_matrix(wins: np.ndarray, ties: np.ndarray) -> np.ndarray:
    """Observed ``(wins + ties/2) / comparisons`` of row vs column; NaN where never compared."""
    games = wins + wins.T + ties
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = (wins + ties / 2) / games
    rate[games == 0] = np.nan
    return rate


def predicted_win_prob(fit: BTFit) -> np.ndarray:
    """Model ``P(i beats j) + P(tie)/2`` for every pair."""
    theta = np.asarray(fit.theta)
    half = (theta[:, None] - theta[None, :]) / 2
    nu = fit.nu
    denom = np.exp(half) + np.exp(-half) + nu
    return (np.exp(half) + nu / 2) / denom
