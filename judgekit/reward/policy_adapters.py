"""A judge as the policy reward of TRL, verl and OpenRLHF (see :mod:`judgekit.reward.policy`).

* TRL: :func:`trl_reward` gives ``(prompts, completions, **kwargs) -> list[float | None]``
  (``None`` for a failed judgment; GRPOTrainer skips it), :func:`async_trl_reward`
  the same as a coroutine function (the judge runs in a worker thread, so TRL can
  await several reward functions at once). The reference comes from the dataset
  column ``reference`` and the question from ``question`` when present, else from
  the prompt (a string, or the last user message of a conversation).
* verl: :func:`compute_score_batch` is the batch reward interface
  (``reward_model.reward_manager=batch``, ``custom_reward_function.path=
  judgekit/reward/policy_adapters.py``, ``custom_reward_function.name=compute_score_batch``).
  The judge is described by ``reward_kwargs.judge`` (a mapping of ``judgekit judge``
  options) or the YAML file in ``$JUDGEKIT_POLICY_REWARD``.
* OpenRLHF: :class:`OpenRLHFJudgeService` behind :func:`judgekit.reward.server.make_reward_server`
  (``judgekit reward-serve``; ``--remote_rm_url http://127.0.0.1:5000/get_reward``,
  ``--label_key`` naming the reference column).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import fields
from functools import cache
from typing import Any

from judgekit.core.errors import ConfigError
from judgekit.options import JudgeOptions, build_runner, judge_config, protocol_of
from judgekit.reward.policy import PolicyReward, RewardItem, RewardResult, judge_protocol
from judgekit.train.adapters import completion_from_query
from judgekit.train.rewards import completion_text

SETTINGS_ENV = "JUDGEKIT_POLICY_REWARD"
#: A policy reward with a reference answer is the verifier's (hybrid by default: rules, then the model).
DEFAULT_REWARD_PROTOCOL = "verify"
RewardFn = Callable[..., list[float | None]]


def policy_reward_from_options(opts: JudgeOptions) -> PolicyReward:
    """The judge the ``judgekit judge`` flags describe, as a policy reward."""
    runner = build_runner(opts)
    runner.chunk_size = max(runner.chunk_size, 1024)  # one backend call per training step where possible
    return PolicyReward(judge_protocol(protocol_of(opts), judge_config(opts)), runner)


def policy_reward_from_settings(settings: Mapping[str, Any]) -> PolicyReward:
    """A policy reward from a mapping of judge options (YAML); unknown keys are an error.

    Without a ``protocol`` key the reward is :data:`DEFAULT_REWARD_PROTOCOL` (the hybrid verifier).
    """
    known = {f.name for f in fields(JudgeOptions)}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise ConfigError(f"unknown judge setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    values = dict(settings)
    values.setdefault("protocol", DEFAULT_REWARD_PROTOCOL)
    for key in ("principle", "option"):
        if key in values:
            values[key] = tuple(values[key] or ())
    return policy_reward_from_options(JudgeOptions(**values))


def question_of(prompt: Any) -> str:
    """The question a policy prompt asks: a string, or the last user message's content."""
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, Sequence):
        users = [m for m in prompt if isinstance(m, Mapping) and m.get("role") == "user"]
        if users:
            return str(users[-1].get("content") or "")
    return completion_text(prompt)


def trl_items(
    prompts: Sequence[Any], completions: Sequence[Any], kwargs: Mapping[str, Any], reference_key: str,
    question_key: str,
) -> list[RewardItem]:
    """Reward items from TRL's arguments (dataset columns arrive as keyword lists)."""
    if len(prompts) != len(completions):
        raise ConfigError(f"{len(prompts)} prompts but {len(completions)} completions")
    refs = kwargs.get(reference_key)
    questions = kwargs.get(question_key)
    out = []
    for i, (prompt, completion) in enumerate(zip(prompts, completions, strict=True)):
        question = questions[i] if questions is not None else question_of(prompt)
        ref = refs[i] if refs is not None else None
        out.append(RewardItem(id=str(i), prompt=str(question), completion=completion_text(completion),
                              reference=None if ref is None else str(ref)))
    return out


def trl_reward(
    reward: PolicyReward, name: str = "judge", reference_key: str = "reference", question_key: str = "question"
) -> RewardFn:
    """A TRL reward function scoring every completion of a step in one judge batch."""

    def judge_reward(prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any) -> list[float | None]:
        return reward.rewards(trl_items(prompts, completions, kwargs, reference_key, question_key))

    judge_reward.__name__ = name
    return judge_reward


def async_trl_reward(
    reward: PolicyReward, name: str = "judge", reference_key: str = "reference", question_key: str = "question"
) -> Callable[..., Awaitable[list[float | None]]]:
    """The async variant: an ``async def`` reward function running the judge in a worker thread."""
    sync = trl_reward(reward, name, reference_key, question_key)

    async def judge_reward(prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any) -> list[float | None]:
        return await asyncio.to_thread(sync, prompts, completions, **kwargs)

    judge_reward.__name__ = name
    return judge_reward


@cache
def _cached_reward(settings_json: str) -> PolicyReward:
    return policy_reward_from_settings(json.loads(settings_json))


def _verl_settings(judge: Mapping[str, Any] | None) -> dict[str, Any]:
    if judge is not None:
        return dict(judge)
    path = os.environ.get(SETTINGS_ENV)
    if not path:
        raise ConfigError(f"compute_score_batch needs reward_kwargs.judge or ${SETTINGS_ENV} (a YAML file)")
    import yaml

    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of judge options")
    return data


def compute_score_batch(
    data_sources: Sequence[Any], solution_strs: Sequence[str], ground_truths: Sequence[Any],
    extra_infos: Sequence[Mapping[str, Any] | None] | None = None, judge: Mapping[str, Any] | None = None,
    failure_reward: float = 0.0, **_: Any,
) -> list[dict[str, Any]]:
    """Verl's batch reward interface: ``{"score": reward, "judge_failed": 0|1}`` per response.

    The judge comes from ``judge`` (verl's ``reward_kwargs``) or ``$JUDGEKIT_POLICY_REWARD``
    and is built once per distinct setting; see :func:`verl_scores`.
    """
    settings = _verl_settings(judge)
    failure = float(settings.pop("failure_reward", failure_reward))
    reward = _cached_reward(json.dumps(settings, sort_keys=True, default=str))
    return verl_scores(reward, data_sources, solution_strs, ground_truths, extra_infos, failure)


def verl_scores(
    reward: PolicyReward, data_sources: Sequence[Any], solution_strs: Sequence[str], ground_truths: Sequence[Any],
    extra_infos: Sequence[Mapping[str, Any] | None] | None, failure_reward: float = 0.0,
) -> list[dict[str, Any]]:
    """Score one verl batch in one judge call.

    The question is ``extra_info["question"]`` (verl's GSM8K/MATH preprocessing keeps
    it there) or ``extra_info["prompt"]``; the ground truth is the reference. A failed
    judgment scores ``failure_reward`` and is flagged ``judge_failed: 1``.
    """
    infos = list(extra_infos) if extra_infos is not None else [None] * len(solution_strs)
    if not len(infos) == len(solution_strs) == len(ground_truths) == len(data_sources):
        raise ConfigError("compute_score_batch: argument lists differ in length")
    items = []
    for i, (text, truth, info) in enumerate(zip(solution_strs, ground_truths, infos, strict=True)):
        info = info or {}
        question = info.get("question", info.get("prompt"))
        if question is None:
            raise ConfigError(f"response {i}: extra_info needs 'question' (or 'prompt') for the judge")
        items.append(RewardItem(str(i), str(question), text, None if truth is None else str(truth)))
    return [{"score": failure_reward if r.reward is None else r.reward, "judge_failed": int(r.reward is None)}
            for r in reward.score(items)]


def _str_list(payload: Mapping[str, Any], key: str, n: int | None) -> list[str] | None:
    value = payload.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"'{key}' must be a list of strings")
    if n is not None and len(value) != n:
        raise ConfigError(f"'{key}' has {len(value)} entries, 'query' has {n}")
    return value


class OpenRLHFJudgeService:
    """OpenRLHF remote-RM requests scored by a judge (for :mod:`judgekit.reward.server`).

    ``POST {"query": [...], "prompts": [...], "labels": [...]}``: the completion is
    ``query`` minus its ``prompt``; ``labels`` carry the references (OpenRLHF's
    ``--label_key``). With a listwise judge the completions of one prompt are ranked
    together (group rewards); an optional ``groups`` list names the groups instead.
    The answer is ``{"rewards", "scores", "extra_logs"}``; a failed
    judgment gets ``failure_reward`` and ``extra_logs.judge_failed = 1``.
    """

    def __init__(self, reward: PolicyReward, failure_reward: float | None = 0.0) -> None:
        """Serve ``reward``; ``failure_reward=None`` answers ``null`` for failures."""
        self.reward, self.failure_reward = reward, failure_reward
        self._requests = itertools.count()

    @property
    def atomic(self) -> bool:
        """Group rewards rank a request's completions together: the batcher never splits such a request."""
        return self.reward.task == "listwise"

    def parse(self, payload: dict[str, Any]) -> list[RewardItem]:
        """Check one request and build its items (ConfigError -> HTTP 400)."""
        queries = _str_list(payload, "query", None) or _str_list(payload, "queries", None)
        if not queries:
            raise ConfigError("'query' must be a non-empty list of strings")
        prompts = _str_list(payload, "prompts", len(queries))
        if prompts is None:
            raise ConfigError("'prompts' is required: the judge needs the question")
        labels = _str_list(payload, "labels", len(queries))
        groups = _str_list(payload, "groups", len(queries))  # listwise: which queries are ranked together
        if self.reward.needs_reference and labels is None:
            raise ConfigError(f"'labels' is required: the {self.reward.task} reward needs references "
                              "(start OpenRLHF with --label_key)")
        request = next(self._requests)  # groups never span requests: each request's group names are its own
        items = [RewardItem(str(i), p, completion_from_query(q, p), labels[i] if labels else None,
                            f"{request}|{groups[i] if groups else p}")
                 for i, (q, p) in enumerate(zip(queries, prompts, strict=True))]
        self.reward.check(items)
        return items

    def score(self, items: Sequence[RewardItem]) -> list[RewardResult]:
        """One judge call for the items of every request in a round."""
        return self.reward.score(list(items))

    def respond(self, results: Sequence[RewardResult]) -> dict[str, Any]:
        """One request's answer."""
        return self._answer(list(results))

    def _answer(self, results: list[RewardResult]) -> dict[str, Any]:
        values = [self.failure_reward if r.reward is None else r.reward for r in results]
        return {"rewards": values, "scores": values,
                "extra_logs": {"judge_failed": [float(r.reward is None) for r in results]},
                "failures": [r.failure_reason for r in results]}

    def health(self) -> dict[str, Any]:
        """The judge behind the rewards."""
        return {"judge": self.reward.describe(), "failure_reward": self.failure_reward}
