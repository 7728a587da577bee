"""Arenas: rank many systems from pairwise judgments, with honest intervals.

- :mod:`judgekit.arena.bradley_terry` fits Bradley–Terry ratings with ties (Davidson).
- :mod:`judgekit.arena.data` reads system outputs (long, wide or pre-paired) and schedules pairs.
- :mod:`judgekit.arena.leaderboard` turns outcomes into a leaderboard with bootstrap CIs.
- :mod:`judgekit.arena.jury` combines several judges' verdicts into one panel verdict.
"""
