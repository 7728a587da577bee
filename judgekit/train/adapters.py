"""The judgekit rewards for other RL trainers: verl and OpenRLHF's remote reward model.

Both adapters call the same :class:`~judgekit.train.rewards.JudgeReward` as the TRL path,
so one completion gets one reward whichever trainer asks.

verl (``custom_reward_function.path=judgekit/train/adapters.py``,
``custom_reward_function.name=compute_score``)::

    compute_score(data_source, solution_str, ground_truth, extra_info=None) -> float

OpenRLHF (``--remote_rm_url http://127.0.0.1:5000/get_reward``): ``POST`` JSON
``{"query": [prompt+response, ...], "prompts": [prompt, ...], "labels": [label, ...]}``
returns ``{"rewards": [...], "scores": [...], "extra_logs": {...}}``; ``scores`` is 1
for a correct verdict and 0 otherwise (OpenRLHF uses it for dynamic filtering).
The server (:mod:`judgekit.reward.server`) uses only the standard library, binds to
127.0.0.1 unless told otherwise and answers every malformed request with a 400.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from judgekit.core.errors import ConfigError
from judgekit.core.formats import FORMATS
from judgekit.reward.server import RewardHTTPServer, ServerLimits, make_reward_server
from judgekit.train.rewards import _PROTOCOL_FORMATS, JudgeReward, RewardConfig, load_reward_configs

CONFIG_ENV = "JUDGEKIT_REWARD_CONFIG"


@cache
def _env_config() -> RewardConfig:
    """The reward named by ``$JUDGEKIT_REWARD_CONFIG`` (a YAML file), else the default."""
    path = os.environ.get(CONFIG_ENV)
    return load_reward_configs(path)[0] if path else RewardConfig()


def _config_for(data_source: str | None, extra_info: Mapping[str, Any] | None) -> RewardConfig:
    extra = dict(extra_info or {})
    if isinstance(extra.get("judgekit_reward"), Mapping):
        return RewardConfig.from_dict(extra["judgekit_reward"])
    config = _env_config()
    fmt = extra.get("format") or (data_source if data_source in FORMATS or data_source in _PROTOCOL_FORMATS else None)
    if fmt and fmt != config.format:
        return RewardConfig.from_dict({**_as_dict(config), "format": fmt})
    return config


def _as_dict(config: RewardConfig) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(config)


def compute_score(
    data_source: str | None, solution_str: str, ground_truth: Any, extra_info: Mapping[str, Any] | None = None
) -> float:
    """Verl's custom reward signature: the judgekit reward of one judge completion.

    The reward settings come from ``extra_info["judgekit_reward"]`` (a mapping), else
    the YAML file in ``$JUDGEKIT_REWARD_CONFIG``, else the defaults; a ``data_source``
    naming a verdict format (``pairwise``, ``verify``, ``rm-r1``...) selects that format.
    """
    reward = JudgeReward(_config_for(data_source, extra_info))
    value = reward([solution_str], **{reward.config.label_key: [ground_truth]})[0]
    if value is None:
        raise ConfigError("compute_score needs a ground_truth label")
    return float(value)


def completion_from_query(query: str, prompt: str | None) -> str:
    """The response part of OpenRLHF's ``query`` (prompt + response with the template)."""
    if prompt and query.startswith(prompt):
        return query[len(prompt):]
    return query


def openrlhf_rewards(payload: Mapping[str, Any], reward: JudgeReward) -> dict[str, Any]:
    """Answer one OpenRLHF remote-RM request (the server's pure core)."""
    queries = payload.get("query", payload.get("queries"))
    if not isinstance(queries, list) or not all(isinstance(q, str) for q in queries):
        raise ConfigError("'query' must be a list of strings")
    prompts = payload.get("prompts") or [None] * len(queries)
    labels = payload.get("labels")
    if not isinstance(prompts, list) or len(prompts) != len(queries):
        raise ConfigError("'prompts' must be a list as long as 'query'")
    if not all(p is None or isinstance(p, str) for p in prompts):
        raise ConfigError("'prompts' must be a list of strings")
    if not isinstance(labels, list) or len(labels) != len(queries):
        raise ConfigError("'labels' must be a list as long as 'query' (start OpenRLHF with --label_key)")
    completions = [completion_from_query(q, p) for q, p in zip(queries, prompts, strict=True)]
    kwargs: dict[str, Any] = {reward.config.label_key: labels}
    for key in ("item_id", "swapped"):
        if isinstance(payload.get(key), list) and len(payload[key]) == len(queries):
            kwargs[key] = payload[key]
    values = reward(completions, **kwargs)
    if any(v is None for v in values):
        raise ConfigError("every item needs a label")
    outcomes = reward.outcomes(completions, labels)
    return {
        "rewards": [float(v) for v in values if v is not None],
        "scores": [1.0 if o.kind == "correct" else 0.0 for o in outcomes],
        "extra_logs": {
            "format_violation": [1.0 if o.kind == "violation" else 0.0 for o in outcomes],
            "correct": [1.0 if o.kind == "correct" else 0.0 for o in outcomes],
        },
    }


class LabelGradingService:
    """The label-grading reward behind :mod:`judgekit.reward.server` (cheap: graded while parsing)."""

    def __init__(self, reward: JudgeReward) -> None:
        """Serve ``reward``."""
        self.reward = reward

    def parse(self, payload: dict[str, Any]) -> list[dict[str, float]]:
        """Grade the request now, so every malformed field is a 400; one record per item."""
        labels = payload.get("labels")
        if isinstance(labels, list) and not all(lab is None or isinstance(lab, (str, int, bool)) for lab in labels):
            raise ConfigError("'labels' must be a list of strings, numbers or booleans")
        graded = openrlhf_rewards(payload, self.reward)
        logs = graded["extra_logs"]
        return [{"reward": r, "score": s, "format_violation": f, "correct": c} for r, s, f, c in zip(
            graded["rewards"], graded["scores"], logs["format_violation"], logs["correct"], strict=True)]

    def score(self, items: Sequence[dict[str, float]]) -> list[dict[str, float]]:
        """Graded while parsing: the records themselves."""
        return list(items)

    def respond(self, results: Sequence[dict[str, float]]) -> dict[str, Any]:
        """The OpenRLHF answer for one request."""
        return {"rewards": [r["reward"] for r in results], "scores": [r["score"] for r in results],
                "extra_logs": {key: [r[key] for r in results] for key in ("format_violation", "correct")}}

    def health(self) -> dict[str, Any]:
        """The reward settings."""
        return {"reward": _as_dict(self.reward.config)}


def make_server(
    reward: JudgeReward, host: str = "127.0.0.1", port: int = 5000, limits: ServerLimits | None = None
) -> RewardHTTPServer:
    """A hardened server answering ``POST /get_reward`` (any path) and ``GET /health``.

    See :mod:`judgekit.reward.server` for the limits. ``port=0`` picks a free port
    (read it from ``server.server_address``). Call ``serve_forever()`` to run it and
    ``shutdown()`` from another thread, then ``server_close()``, to stop it.
    """
    return make_reward_server(LabelGradingService(reward), host, port, limits or ServerLimits(batch_window_s=0))
