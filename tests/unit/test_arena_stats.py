"""Bradley-Terry with ties, bootstrap intervals over prompts, rank and Fleiss agreement."""

from __future__ import annotations

import math

import numpy as np
import pytest

from judgekit.arena.agreement import average_ranks, fleiss_kappa, kendall_tau, spearman_rho
from judgekit.arena.bradley_terry import fit_bradley_terry, outcome_counts, predicted_win_prob, win_rate_matrix
from judgekit.arena.leaderboard import Outcome, leaderboard, rank_agreement

SYSTEMS = ["s0", "s1", "s2", "s3", "s4"]


def simulate(theta: np.ndarray, nu: float, n_prompts: int, rng: np.random.Generator) -> list[Outcome]:
    """Every pair once per prompt, outcomes drawn from the Davidson model."""
    out = []
    for p in range(n_prompts):
        for i in range(len(theta)):
            for j in range(i + 1, len(theta)):
                h = (theta[i] - theta[j]) / 2
                probs = np.array([math.exp(h), math.exp(-h), nu])
                result = ("A", "B", "tie")[rng.choice(3, p=probs / probs.sum())]
                out.append(Outcome(f"p{p}", SYSTEMS[i], SYSTEMS[j], result))
    return out


def test_two_systems_match_the_closed_form() -> None:
    # 3 wins, 1 loss, 2 ties: the saturated model reproduces the frequencies exactly.
    wins, ties = outcome_counts(2, [(0, 1, "A")] * 3 + [(0, 1, "B")] + [(1, 0, "tie")] * 2)
    fit = fit_bradley_terry(wins, ties, ridge=0.0)
    assert fit.converged
    assert fit.theta[0] - fit.theta[1] == pytest.approx(math.log(3), abs=1e-6)
    assert fit.nu == pytest.approx(2 / math.sqrt(3), abs=1e-6)
    # Without ties: plain Bradley-Terry, P(0 beats 1) = 3/4.
    plain = fit_bradley_terry(outcome_counts(2, [(0, 1, "A")] * 3 + [(0, 1, "B")])[0], ridge=0.0)
    assert plain.nu == 0.0 and plain.theta[0] - plain.theta[1] == pytest.approx(math.log(3), abs=1e-6)
    assert predicted_win_prob(plain)[0, 1] == pytest.approx(0.75, abs=1e-6)


def test_recovers_order_gaps_and_tie_rate_from_simulation() -> None:
    theta = np.array([-1.0, -0.4, 0.0, 0.5, 0.9])
    outcomes = simulate(theta, nu=0.7, n_prompts=300, rng=np.random.default_rng(1))
    idx = {s: k for k, s in enumerate(SYSTEMS)}
    wins, ties = outcome_counts(5, [(idx[o.system_a], idx[o.system_b], o.result) for o in outcomes])
    fit = fit_bradley_terry(wins, ties, ridge=0.0)
    est = np.asarray(fit.theta)
    assert list(np.argsort(est)) == [0, 1, 2, 3, 4]
    assert np.max(np.abs(est - (theta - theta.mean()))) < 0.15
    assert fit.nu == pytest.approx(0.7, abs=0.1)


def test_undefeated_system_stays_finite_and_first() -> None:
    outcomes = [Outcome("p", "a", "b", "A"), Outcome("p", "a", "c", "A"), Outcome("p", "b", "c", "tie")]
    board = leaderboard(outcomes, n_boot=50)
    assert [r["system"] for r in board["rows"]][0] == "a"
    assert all(math.isfinite(r["rating"]) for r in board["rows"])
    rate = board["win_rate"]
    assert rate[0][1] == 1.0 and rate[1][2] == 0.5 and rate[0][0] is None


def test_bad_outcomes_are_errors() -> None:
    with pytest.raises(ValueError, match="itself"):
        outcome_counts(2, [(0, 0, "A")])
    with pytest.raises(ValueError, match="outcome"):
        outcome_counts(2, [(0, 1, "C")])


def test_win_rate_matrix_counts_ties_as_half() -> None:
    wins, ties = outcome_counts(3, [(0, 1, "A"), (0, 1, "B"), (0, 1, "tie"), (0, 1, "A")])
    rate = win_rate_matrix(wins, ties)
    assert rate[0, 1] == pytest.approx(2.5 / 4) and rate[1, 0] == pytest.approx(1.5 / 4)
    assert math.isnan(rate[0, 2])


def test_leaderboard_records_ranks_and_interval_contains_estimate() -> None:
    theta = np.array([-1.0, -0.4, 0.0, 0.5, 0.9])
    board = leaderboard(simulate(theta, 0.5, 60, np.random.default_rng(2)), n_boot=200)
    assert [r["system"] for r in board["rows"]] == SYSTEMS[::-1]
    for r in board["rows"]:
        assert r["ci"][0] <= r["rating"] <= r["ci"][1]
        assert r["rank_ci"][0] <= r["rank"] <= r["rank_ci"][1]
        assert r["wins"] + r["losses"] + r["ties"] == r["games"] == 4 * 60
    assert board["n_prompts"] == 60 and board["n_comparisons"] == 600


def test_bootstrap_interval_coverage_on_simulation() -> None:
    """95% intervals over prompts should cover the true (centred) rating most of the time."""
    theta = np.array([-0.8, -0.3, 0.0, 0.4, 0.7])
    centred = theta - theta.mean()
    rng = np.random.default_rng(3)
    covered = total = 0
    for rep in range(30):
        board = leaderboard(simulate(theta, 0.5, 25, rng), n_boot=150, seed=rep, ridge=0.001)
        for r in board["rows"]:
            lo, hi = r["theta_ci"]
            covered += lo <= centred[SYSTEMS.index(r["system"])] <= hi
            total += 1
    assert 0.85 <= covered / total <= 1.0, covered / total


def test_rank_correlations_match_hand_values() -> None:
    assert list(average_ranks([10, 20, 20, 5])) == [2.0, 3.5, 3.5, 1.0]
    assert kendall_tau([1, 2, 3, 4], [1, 2, 3, 4]) == pytest.approx(1.0)
    assert kendall_tau([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # 5 concordant, 1 discordant of 6 pairs
    assert kendall_tau([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(4 / 6)
    # tau-b with a tie in y: 5 concordant, 6 pairs in x, 5 untied in y -> 5 / sqrt(6 * 5)
    assert kendall_tau([1, 2, 3, 4], [1, 2, 2, 4]) == pytest.approx(5 / math.sqrt(30))
    assert spearman_rho([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(1 - 6 * 2 / (4 * 15))
    assert math.isnan(spearman_rho([1, 1, 1], [1, 2, 3]))


def test_rank_agreement_of_identical_and_reversed_arenas() -> None:
    theta = np.array([-1.0, -0.4, 0.0, 0.5, 0.9])
    outcomes = simulate(theta, 0.3, 40, np.random.default_rng(4))
    same = rank_agreement(outcomes, outcomes, n_boot=100)
    assert same["kendall_tau"] == pytest.approx(1.0) and same["kendall_tau_ci"] == pytest.approx([1.0, 1.0])
    flipped = [Outcome(o.prompt_id, o.system_b, o.system_a, o.result) for o in outcomes]
    rev = rank_agreement(outcomes, flipped, n_boot=100)
    assert rev["kendall_tau"] == pytest.approx(-1.0) and rev["spearman_rho"] == pytest.approx(-1.0)
    assert rev["n_prompts"] == 40


def test_fleiss_kappa_matches_the_textbook_example() -> None:
    # Fleiss (1971) as reproduced on Wikipedia: 10 items, 14 raters, 5 categories, kappa 0.210.
    table = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
             [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]
    ratings = [[c for c, n in enumerate(row) for _ in range(n)] for row in table]
    assert fleiss_kappa(ratings) == pytest.approx(0.20993, abs=1e-4)
    assert fleiss_kappa([["A", "A"], ["B", "B"]]) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        fleiss_kappa([["A", "B"], ["A"]])
