"""A judge as the reward of a *policy*: score completions with any judgekit protocol.

:mod:`judgekit.train.rewards` grades a judge's own verdict against a label (to train
judges). This module runs a judge on a policy's completions and returns the
reward a trainer optimises, one per completion:

* ``verify`` task (``verify`` protocol): the completion is checked against the
  row's ``reference`` answer. Reward = P(correct) in logit mode, 1 / 0 for the
  parsed verdict in generative mode. Defences (``defense=answer-check``) apply.
* ``pointwise`` task (``pointwise`` protocol, rubric / principles passed through):
  generative mode parses ``Score: N`` (1-10), reward ``(N - 1) / 9``; logit mode is
  G-Eval style, the probability-weighted expected score over the tokens ``1``..``9``
  (``10`` shares its first token with ``1`` on digit-splitting tokenizers), reward
  ``(E - 1) / 8``. Both lie in [0, 1].
* ``pairwise`` task (``pairwise`` and the other A/B protocols): the completion is
  response A against the row's ``reference`` completion, judged in both orders;
  reward = P(completion wins) = P(A) + P(tie) / 2.
* ``listwise`` task (``listwise`` protocol): group rewards. The completions of one
  prompt (items with the same ``group``, by default the same prompt text) are ranked
  in one listwise judgment (over its display orders) and each gets the reward of its
  mean rank (``--option reward=centred|linear|best``, see
  :func:`judgekit.core.rank_aggregate.rank_rewards`; equal ranks share). A group of one
  completion, or of more than 26, cannot be ranked: ``None`` with the reason.

All completions of one call go to the protocol in one batch (one ``judge`` call,
so the runner batches the backend and the call cache deduplicates). A judgment
that fails (parse failure, too long, missing logprob) gives ``None`` with its
reason; TRL skips ``None`` rewards. Nothing is invented.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from judgekit.core.cache import make_key
from judgekit.core.data import DataError, read_rows
from judgekit.core.errors import ConfigError
from judgekit.core.prompts import render
from judgekit.core.ranking import MAX_RESPONSES
from judgekit.core.rundir import (
    locked,
    open_partial,
    prepare_dir,
    resume_rows,
    supersede_finals,
    write_json,
    write_jsonl,
)
from judgekit.core.runner import Runner
from judgekit.core.types import Judgment, Sample
from judgekit.judge import file_digest, package_versions
from judgekit.protocols.base import JudgeConfig, Protocol, get_protocol
from judgekit.protocols.pointwise import DEFAULT_RUBRIC

GEVAL_CHOICES = tuple(str(i) for i in range(1, 10))
GEVAL_INSTRUCTIONS = "Answer with the score only, an integer from 1 (worst) to 9 (best)."
GEVAL_PREFIX = "Score: "
TASKS_NEEDING_REFERENCE = ("verify", "pairwise")


@dataclass(frozen=True)
class RewardItem:
    """One policy completion to score: the question it answers, the text, a reference."""

    id: str
    prompt: str
    completion: str
    reference: str | None = None
    group: str | None = None  # listwise: items ranked together (default: the prompt text)


@dataclass(frozen=True)
class RewardResult:
    """The reward of one completion, what the judge said, and why a failure failed."""

    id: str
    reward: float | None
    verdict: str | None = None
    failure_reason: str | None = None
    probs: Mapping[str, float] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view (one output row of ``judgekit reward``)."""
        return {"id": self.id, "reward": self.reward, "verdict": self.verdict,
                "failure_reason": self.failure_reason, "probs": dict(self.probs) if self.probs else None,
                **({"extra": dict(self.extra)} if self.extra else {})}


def reward_from_judgment(task: str, judgment: Judgment) -> float | None:
    """The policy reward a finished judgment gives (None when it failed)."""
    if judgment.reward is None or judgment.parse_failure:
        return None
    if judgment.extra.get("reward_is_score"):  # a scalar RM: its score is the reward
        return float(judgment.reward)
    if task == "pointwise":
        if judgment.scores is None or len(judgment.scores) != 1:
            return None
        return (float(judgment.scores[0]) - 1.0) / 9.0
    return float(judgment.reward)


def expected_score(probs: Mapping[str, float]) -> float | None:
    """G-Eval expected score ``sum(p_i * i)`` over the 1..9 score tokens (None if no mass)."""
    total = sum(probs.get(c, 0.0) for c in GEVAL_CHOICES)
    if total <= 0:
        return None
    return sum(int(c) * probs.get(c, 0.0) for c in GEVAL_CHOICES) / total


class PolicyReward:
    """Score policy completions with a protocol and a runner (thread-safe, batched).

    ``protocol`` decides the task (``verify``, ``pointwise`` or ``pairwise``). A
    ``pointwise`` protocol with ``method="logit"`` uses the G-Eval expected score.
    """

    def __init__(self, protocol: Protocol, runner: Runner) -> None:
        """Keep the judge; the lock serialises backend use across threads."""
        self.protocol = protocol
        self.runner = runner
        self.task = protocol.task
        if self.task not in ("verify", "pointwise", "pairwise", "listwise"):
            raise ConfigError(f"protocol {protocol.name!r} (task {self.task}) cannot score policy completions")
        self.geval = self.task == "pointwise" and protocol.config.method == "logit"
        self._lock = threading.Lock()

    @property
    def needs_reference(self) -> bool:
        """Whether each item needs a ``reference`` (answer or reference completion)."""
        return self.task in TASKS_NEEDING_REFERENCE

    def describe(self) -> dict[str, Any]:
        """What produces the rewards (for manifests and the server's health answer)."""
        return {"protocol": self.protocol.name, "task": self.task, "geval": self.geval,
                "config": self.protocol.config.to_dict(), "model_id": self.runner.backend.model_id}

    def check(self, items: Sequence[RewardItem]) -> None:
        """Raise :class:`ConfigError` when an item lacks what the task needs."""
        if not self.needs_reference:
            return
        for item in items:
            if not item.reference:
                raise ConfigError(f"item {item.id}: the {self.task} reward needs a non-empty reference")

    def score(self, items: Sequence[RewardItem]) -> list[RewardResult]:
        """One reward per item, in order; one protocol call for the whole batch."""
        self.check(items)
        if not items:
            return []
        with self._lock:
            if self.geval:
                return self._score_geval(items)
            if self.task == "listwise":
                return self._score_groups(items)
            judgments = self.protocol.judge([self._sample(it) for it in items], self.runner)
        return [self._result(it, j) for it, j in zip(items, judgments, strict=True)]

    def rewards(self, items: Sequence[RewardItem]) -> list[float | None]:
        """Just the rewards (None for a failed judgment)."""
        return [r.reward for r in self.score(items)]

    def _sample(self, item: RewardItem) -> Sample:
        if self.task == "pairwise":
            return Sample(id=item.id, prompt=item.prompt, responses=(item.completion, str(item.reference)))
        return Sample(id=item.id, prompt=item.prompt, responses=(item.completion,), reference=item.reference)

    def _result(self, item: RewardItem, judgment: Judgment) -> RewardResult:
        reward = reward_from_judgment(self.task, judgment)
        reason = judgment.failure_reason or (None if reward is not None else "the judge gave no usable verdict")
        extra = {k: v for k, v in judgment.extra.items() if k in ("defense", "defenses")}
        if judgment.consistent is not None:
            extra["consistent"] = judgment.consistent
        return RewardResult(item.id, reward, judgment.verdict, reason, judgment.probs, extra)

    def _score_groups(self, items: Sequence[RewardItem]) -> list[RewardResult]:
        """Group rewards: one listwise judgment per group of completions (all groups in one batch)."""
        groups: dict[str, list[int]] = {}
        for i, it in enumerate(items):
            groups.setdefault(it.prompt if it.group is None else it.group, []).append(i)
        out: list[RewardResult | None] = [None] * len(items)
        judged: list[tuple[list[int], Sample]] = []
        for g, (key, idxs) in enumerate(groups.items()):
            if not 2 <= len(idxs) <= MAX_RESPONSES:
                why = f"group {key[:60]!r} has {len(idxs)} completion(s); a listwise reward ranks 2 to {MAX_RESPONSES}"
                for i in idxs:
                    out[i] = RewardResult(items[i].id, None, None, why, extra={"group_size": len(idxs)})
                continue
            judged.append((idxs, Sample(id=f"group-{g}", prompt=items[idxs[0]].prompt,
                                        responses=tuple(items[i].completion for i in idxs))))
        judgments = self.protocol.judge([s for _, s in judged], self.runner) if judged else []
        for (idxs, _), j in zip(judged, judgments, strict=True):
            lw = j.extra.get("listwise") or {}
            for pos, i in enumerate(idxs):
                if j.parse_failure or "rewards" not in lw:
                    reason = j.failure_reason or str(j.extra.get("skipped") or "the judge gave no ranking")
                    out[i] = RewardResult(items[i].id, None, None, reason, extra={"group_size": len(idxs)})
                    continue
                out[i] = RewardResult(
                    items[i].id, float(lw["rewards"][pos]), f"rank {lw['mean_ranks'][pos] + 1:g} of {len(idxs)}",
                    None, None, {"group_size": len(idxs), "mean_rank": lw["mean_ranks"][pos],
                                 "consistent": j.consistent, "reward_mapping": lw["reward_mapping"]})
        return [r for r in out if r is not None]

    def _score_geval(self, items: Sequence[RewardItem]) -> list[RewardResult]:
        config = self.protocol.config
        prompts = [render("pointwise", question=it.prompt, response=it.completion,
                          rubric=config.rubric or DEFAULT_RUBRIC, instructions=GEVAL_INSTRUCTIONS,
                          principles=list(config.principles), assistant_prefix=GEVAL_PREFIX) for it in items]
        reasons = self.runner.too_long(prompts, 1)
        keep = [i for i, r in enumerate(reasons) if r is None]
        probs = iter(self.runner.score_choices([prompts[i] for i in keep], GEVAL_CHOICES))
        out = []
        for item, reason in zip(items, reasons, strict=True):
            if reason is not None:
                out.append(RewardResult(item.id, None, None, reason))
                continue
            dist = next(probs)
            expected = expected_score(dist)
            if expected is None:
                out.append(RewardResult(item.id, None, None, "no probability mass on the score tokens", dist))
                continue
            out.append(RewardResult(item.id, (expected - 1.0) / 8.0, f"{expected:.3f}", None, dist))
        return out


def judge_protocol(name: str, config: JudgeConfig) -> Protocol:
    """The protocol a policy reward uses; ``pointwise`` + logit is accepted (G-Eval)."""
    from dataclasses import replace

    if name == "pointwise" and config.method == "logit":
        proto = get_protocol(name, replace(config, method="generative"))
        proto.config = config  # G-Eval: PolicyReward scores the 1..9 tokens itself
        return proto
    return get_protocol(name, config)


def load_reward_items(
    path: Path, needs_reference: bool, prompt_col: str = "prompt", completion_col: str = "completion",
    reference_col: str = "reference", id_col: str = "id", limit: int | None = None, group_col: str = "group",
) -> list[RewardItem]:
    """Rows ``id, prompt, completion[, reference][, group]`` of a file; a missing field is a DataError naming it.

    ``group`` (optional) names the completions a listwise reward ranks together; without
    it, completions of the same prompt form a group.
    """
    items: list[RewardItem] = []
    seen: set[str] = set()
    for line, row in read_rows(path):
        if limit is not None and len(items) >= limit:
            break
        needed = [prompt_col, completion_col] + ([reference_col] if needs_reference else [])
        for col in needed:
            if not isinstance(row.get(col), str) or (col != completion_col and not row[col].strip()):
                raise DataError(path, "missing, empty or not a string", line=line, field=col)
        item_id = str(row.get(id_col, f"row-{line}"))
        if item_id in seen:
            raise DataError(path, f"duplicate id {item_id!r}", line=line, field=id_col)
        seen.add(item_id)
        ref, group = row.get(reference_col), row.get(group_col)
        if group is not None and not isinstance(group, (str, int)):
            raise DataError(path, "expected a text or integer group name", line=line, field=group_col)
        items.append(RewardItem(item_id, row[prompt_col], row[completion_col], None if ref is None else str(ref),
                                None if group is None else str(group)))
    if not items:
        raise DataError(path, "no rows")
    return items


REWARD_FINALS = ("rewards.jsonl", "manifest.json", "summary.json")


def result_from_dict(row: dict[str, Any]) -> RewardResult:
    """A :class:`RewardResult` back from its ``to_dict`` row."""
    return RewardResult(str(row["id"]), row.get("reward"), row.get("verdict"), row.get("failure_reason"),
                        row.get("probs"), row.get("extra") or {})


def reward_fingerprint(reward: PolicyReward, input_digest: str) -> str:
    """What a resumed ``judgekit reward`` run must share with the interrupted one."""
    return make_key({"kind": "reward-run", "judge": reward.describe(), "backend": reward.runner.identity(),
                     "input": input_digest})


def run_reward_file(
    items: Sequence[RewardItem], reward: PolicyReward, out_dir: Path, input_path: Path | None = None,
    chunk_size: int = 64, progress: Callable[[int, int], None] | None = None, resume: bool = True,
) -> dict[str, Any]:
    """Score ``items`` into ``out_dir``: ``rewards.jsonl`` (input order), ``manifest.json``, ``summary.json``.

    The same run-directory rules as ``judgekit judge`` (:mod:`judgekit.core.rundir`):
    an exclusive lock (a second run into ``out_dir`` fails at once), an earlier run's
    final files moved to ``superseded/N/``, rows appended chunk by chunk to
    ``rewards.partial.jsonl`` under a fingerprint header; a re-run with the same
    judge and input (``resume``) keeps the finished rows and scores only the rest.
    Returns the summary.
    """
    prepare_dir(out_dir)
    with locked(out_dir):
        return _run_reward_locked(items, reward, out_dir, input_path, chunk_size, progress, resume)


def _run_reward_locked(
    items: Sequence[RewardItem], reward: PolicyReward, out_dir: Path, input_path: Path | None,
    chunk_size: int, progress: Callable[[int, int], None] | None, resume: bool,
) -> dict[str, Any]:
    superseded = supersede_finals(out_dir, REWARD_FINALS)
    digest = file_digest(input_path) if input_path else make_key({"ids": [it.id for it in items]})
    fingerprint = reward_fingerprint(reward, digest)
    partial = out_dir / "rewards.partial.jsonl"
    previous = {k: result_from_dict(r) for k, r in resume_rows(partial, fingerprint, "id").items()} if resume else {}
    started = time.perf_counter()
    todo = [it for it in items if it.id not in previous]
    done = len(items) - len(todo)
    with open_partial(partial, fingerprint, resuming=bool(previous)) as fh:
        for start in range(0, len(todo), chunk_size):
            chunk = reward.score(todo[start : start + chunk_size])
            previous.update((r.id, r) for r in chunk)
            fh.writelines(json.dumps(r.to_dict(), ensure_ascii=False) + "\n" for r in chunk)
            fh.flush()
            os.fsync(fh.fileno())
            done += len(chunk)
            if progress:
                progress(done, len(items))
    results = [previous[it.id] for it in items]
    write_jsonl(out_dir / "rewards.jsonl", (r.to_dict() for r in results))
    partial.unlink()
    values = [r.reward for r in results if r.reward is not None]
    summary = {"items": len(items), "scored": len(values), "failures": len(items) - len(values),
               "mean_reward": sum(values) / len(values) if values else None,
               "min_reward": min(values, default=None), "max_reward": max(values, default=None),
               "resumed_items": len(items) - len(todo),
               "elapsed_s": round(time.perf_counter() - started, 3), "runner": vars(reward.runner.stats)}
    manifest = {"judgekit_reward_run": 1, "created_unix": int(time.time()), "fingerprint": fingerprint,
                "input": {"path": str(input_path) if input_path else None,
                          "sha256": file_digest(input_path) if input_path else None},
                "judge": reward.describe(), "backend": reward.runner.backend.info(),
                "versions": package_versions(),
                **({"superseded": str(superseded.relative_to(out_dir))} if superseded else {})}
    write_json(out_dir / "summary.json", summary)
    write_json(out_dir / "manifest.json", manifest)
    return summary
