"""The runner: a backend plus the call cache, deduplication and progress.

Protocols never talk to a backend directly; they ask the runner for batches. That
makes every protocol batched, cached and resumable without writing any of it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from judgekit.core.backend import Backend, PartialChoicesError, PartialGenerationError, continuation_scorer
from judgekit.core.cache import CallCache, make_key
from judgekit.core.types import ContinuationScore, Generation, GenerationParams, Prompt


@dataclass
class RunnerStats:
    """Counters a run reports in its manifest and summary."""

    generate_calls: int = 0
    prompts_generated: int = 0
    cache_hits: int = 0
    cache_misses: int = 0
    choice_prompts: int = 0
    generated_tokens: int = 0


@dataclass
class Runner:
    """Batched, cached access to a backend.

    ``chunk_size`` bounds how many prompts go to the backend per call, so results
    reach the cache (and the progress callback) steadily during a long run.
    """

    backend: Backend
    cache: CallCache | None = None
    chunk_size: int = 64
    on_prompts_done: Callable[[int], None] | None = None
    stats: RunnerStats = field(default_factory=RunnerStats)
    refused: dict[str, str] = field(default_factory=dict)  # prompt key -> server's "too long" reason

    def identity(self) -> dict[str, Any]:
        """Every output-affecting setting of the backend (see :func:`backend_identity`)."""
        return backend_identity(self.backend)

    def _gen_key(self, prompt: Prompt, params: GenerationParams, index: int) -> str:
        decoding = replace(params, n=1, first_index=0).to_dict()
        return make_key(
            {
                "kind": "generate",
                "backend": self.identity(),
                "template": prompt.template_hash,
                "prompt": prompt.key(),
                "params": decoding,
                "index": index,
            }
        )

    def generate(
        self, prompts: Sequence[Prompt], params: GenerationParams
    ) -> list[list[Generation]]:
        """``params.n`` generations per prompt, from cache where possible.

        Each continuation is cached under its sample index (and drawn with its own
        per-sample seed), so a resumed run or a larger ``n`` generates only the samples
        that are missing and never overwrites one already cached.
        """
        unique: dict[str, Prompt] = {}
        for p in prompts:
            unique.setdefault(p.key(), p)
        keys = {pk: [self._gen_key(p, params, i) for i in range(params.n)] for pk, p in unique.items()}
        cached = self.cache.get_many(k for ks in keys.values() for k in ks) if self.cache is not None else {}
        have: dict[str, dict[int, Generation]] = {}
        runs: dict[tuple[int, int], list[str]] = {}  # (first index, count) -> prompts missing that run
        for pk, ks in keys.items():
            have[pk] = {i: Generation(**cached[k]) for i, k in enumerate(ks) if k in cached}
            if len(have[pk]) == params.n:
                self.stats.cache_hits += 1
            for run in _missing_runs([i not in have[pk] for i in range(params.n)]):
                runs.setdefault(run, []).append(pk)
        pending = {pk for pks in runs.values() for pk in pks}
        if self.on_prompts_done and len(pending) < len(unique):
            self.on_prompts_done(sum(1 for p in prompts if p.key() not in pending))
        for (first, count), pks in runs.items():
            run_params = replace(params, n=count, first_index=first)
            for start in range(0, len(pks), self.chunk_size):
                chunk = pks[start : start + self.chunk_size]
                self._generate_chunk(chunk, unique, keys, run_params, have)
                if self.on_prompts_done:
                    finished = {pk for pk in chunk if len(have[pk]) == params.n}
                    self.on_prompts_done(sum(1 for p in prompts if p.key() in finished))
        return [[have[p.key()][i] for i in range(params.n)] for p in prompts]

    def _generate_chunk(
        self,
        chunk: list[str],
        unique: dict[str, Prompt],
        keys: dict[str, list[str]],
        params: GenerationParams,
        have: dict[str, dict[int, Generation]],
    ) -> None:
        self.stats.generate_calls += 1
        self.stats.cache_misses += len(chunk)
        error: PartialGenerationError | None = None
        try:
            results: Sequence[list[Generation] | None] = self.backend.generate(
                [unique[pk] for pk in chunk], params
            )
        except PartialGenerationError as exc:
            results, error = exc.results, exc
        to_store: dict[str, Any] = {}
        indices = range(params.first_index, params.first_index + params.n)
        for pk, gens in zip(chunk, results, strict=True):
            if gens is None:
                continue
            self.stats.prompts_generated += 1
            for i, g in zip(indices, gens, strict=True):
                have[pk][i] = g
                self.stats.generated_tokens += g.num_tokens
                to_store[keys[pk][i]] = {"text": g.text, "finish_reason": g.finish_reason, "num_tokens": g.num_tokens}
        if self.cache is not None:
            self.cache.put_many(to_store)
        if error is not None:
            self._note_refusals(error, chunk)
            raise error

    def _note_refusals(self, error: PartialGenerationError | PartialChoicesError, keys: Sequence[str]) -> None:
        """Remember prompts the server refused as too long, so :meth:`too_long` reports them."""
        for i in error.too_long:
            self.refused[keys[i]] = error.errors[i]

    def score_choices(self, prompts: Sequence[Prompt], choices: Sequence[str]) -> list[dict[str, float]]:
        """Next-token choice probabilities per prompt, cached like generations."""
        keys = [
            make_key(
                {
                    "kind": "choices",
                    "backend": self.identity(),
                    "template": p.template_hash,
                    "prompt": p.key(),
                    "choices": list(choices),
                }
            )
            for p in prompts
        ]
        cached = self.cache.get_many(keys) if self.cache is not None else {}
        todo = [i for i, k in enumerate(keys) if k not in cached]
        self.stats.cache_hits += len(prompts) - len(todo)
        self.stats.cache_misses += len(todo)
        for start in range(0, len(todo), self.chunk_size):
            idx = todo[start : start + self.chunk_size]
            error: PartialChoicesError | None = None
            try:
                probs: Sequence[dict[str, float] | None] = self.backend.score_choices(
                    [prompts[i] for i in idx], choices
                )
            except PartialChoicesError as exc:
                probs, error = exc.results, exc
            self.stats.choice_prompts += len(idx)
            fresh = {keys[i]: pr for i, pr in zip(idx, probs, strict=True) if pr is not None}
            cached.update(fresh)
            if self.cache is not None:  # successes survive a partial failure; no-mass results are not kept
                self.cache.put_many({k: pr for k, pr in fresh.items() if sum(pr.values()) > 0})
            if error is not None:
                self._note_refusals(error, [prompts[i].key() for i in idx])
                raise error
            if self.on_prompts_done:
                self.on_prompts_done(len(idx))
        if self.on_prompts_done and len(prompts) > len(todo):
            self.on_prompts_done(len(prompts) - len(todo))
        return [dict(cached[k]) for k in keys]

    def score_continuations(
        self, contexts: Sequence[Prompt], continuations: Sequence[str], values: bool = False
    ) -> list[ContinuationScore]:
        """Token log-probs of each continuation after its context, cached per (context, continuation).

        The key holds the backend identity (model id, dtype, server ...), the context
        prompt, the continuation text and whether the soft values were asked for; the
        normalisation a judge applies afterwards is a pure function of these raw scores
        (:mod:`judgekit.core.likelihood`), so the cached values never depend on it.
        Duplicate pairs (the same response in two items) are scored once.
        """
        def key(c: Prompt, text: str, with_values: bool) -> str:
            return make_key({"kind": "continuation", "backend": self.identity(), "template": c.template_hash,
                             "context": c.key(), "continuation": text, "values": with_values})

        keys = [key(c, text, values) for c, text in zip(contexts, continuations, strict=True)]
        cached = self.cache.get_many(keys) if self.cache is not None else {}
        have = {k: ContinuationScore.from_dict(v) for k, v in cached.items()}
        if not values and self.cache is not None:  # a score cached with its soft values answers a plain request
            richer = {key(c, t, True): k
                      for c, t, k in zip(contexts, continuations, keys, strict=True) if k not in have}
            for rk, v in self.cache.get_many(richer).items():
                have[richer[rk]] = ContinuationScore.from_dict(v)
        todo: dict[str, int] = {}
        for i, k in enumerate(keys):
            if k not in have:
                todo.setdefault(k, i)
        self.stats.cache_hits += len(keys) - len(todo)
        self.stats.cache_misses += len(todo)
        pending = list(todo.items())
        if pending:
            self._score_pending(pending, contexts, continuations, values, have)
        return [have[k] for k in keys]

    def _score_pending(self, pending: list[tuple[str, int]], contexts: Sequence[Prompt],
                       continuations: Sequence[str], values: bool, have: dict[str, ContinuationScore]) -> None:
        """Score the cache misses chunk by chunk (the backend is asked, so a lazy one built, only here)."""
        scorer = continuation_scorer(self.backend)
        for start in range(0, len(pending), self.chunk_size):
            chunk = pending[start : start + self.chunk_size]
            scores = scorer.score_continuations(
                [contexts[i] for _, i in chunk], [continuations[i] for _, i in chunk], values
            )
            fresh = {k: sc for (k, _), sc in zip(chunk, scores, strict=True)}
            have.update(fresh)
            self.stats.choice_prompts += len(chunk)
            if self.cache is not None:
                self.cache.put_many({k: sc.to_dict() for k, sc in fresh.items()})
            if self.on_prompts_done:
                self.on_prompts_done(len(chunk))

    def too_long(self, prompts: Sequence[Prompt], max_new_tokens: int) -> list[str | None]:
        """For each prompt, ``None`` if it fits the model's context, else why not.

        Backends that cannot count tokens (``count_tokens`` absent, e.g. HTTP servers)
        accept everything until the server refuses a prompt as too long; from then on
        that prompt is reported with the server's reason. Token counts are cached like
        calls (they depend on the tokenizer and chat template, both in the backend's
        identity), so a re-run of cached prompts does not build the backend to count.
        """
        limit = getattr(self.backend, "max_context", None)
        if not limit:
            return [self.refused.get(p.key()) for p in prompts]
        counts = self._token_counts(prompts)
        if counts is None:
            return [self.refused.get(p.key()) for p in prompts]
        out: list[str | None] = []
        for n in counts:
            need = n + max_new_tokens
            out.append(None if need <= limit else f"prompt has {n} tokens + {max_new_tokens} new > context {limit}")
        return out

    def _token_counts(self, prompts: Sequence[Prompt]) -> list[int] | None:
        """Prompt token counts, from the cache where known; None when the backend cannot count."""
        identity = self.identity()  # once: the same for every prompt
        keys = [make_key({"kind": "tokens", "backend": identity, "template": p.template_hash,
                          "prompt": p.key()}) for p in prompts]
        cached = self.cache.get_many(keys) if self.cache is not None else {}
        todo = [i for i, k in enumerate(keys) if k not in cached]
        if todo:
            count = getattr(self.backend, "count_tokens", None)
            if count is None:
                return None
            fresh = dict(zip((keys[i] for i in todo), count([prompts[i] for i in todo]), strict=True))
            cached.update(fresh)
            if self.cache is not None:
                self.cache.put_many(fresh)
        return [int(cached[k]) for k in keys]


def backend_identity(backend: Backend) -> dict[str, Any]:
    """What a backend's outputs depend on besides the prompt and decoding parameters.

    A backend reports it with ``identity()`` (model id plus dtype, device, server URL,
    API mode, chat template, constraint style ...); one without it is identified by its
    ``model_id``. Cache keys and the run fingerprint are both built from this, so two
    settings that can give different outputs never share cached outputs or a resume.
    """
    report = getattr(backend, "identity", None)
    if report is None:
        return {"model_id": backend.model_id}
    return {"model_id": backend.model_id, **report()}


def _missing_runs(missing: Sequence[bool]) -> list[tuple[int, int]]:
    """Contiguous runs ``(first index, count)`` of missing samples."""
    runs: list[tuple[int, int]] = []
    for i, miss in enumerate(missing):
        if not miss:
            continue
        if runs and runs[-1][0] + runs[-1][1] == i:
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((i, 1))
    return runs
