"""OpenAI-compatible HTTP backend: vLLM serve, llama.cpp server, SGLang, TGI, hosted APIs.

Requests run on a thread pool with at most ``concurrency`` in flight
(:mod:`judgekit.backends.openai_pool`); results come back in input order. Each
request is retried with exponential backoff and jitter on timeouts, connection
errors, 429 (honouring ``Retry-After``) and 5xx. Prompts that still fail do not
sink the batch: :meth:`OpenAIBackend.generate` raises
:class:`~judgekit.core.backend.PartialGenerationError` carrying every success
(the runner caches them, so a re-run only retries the failures), and
:meth:`OpenAIBackend.score_choices` raises
:class:`~judgekit.core.backend.PartialChoicesError` the same way.

Request bodies are built by :mod:`judgekit.backends.openai_requests`, the server's
constraint style and the constraint probe live in :mod:`judgekit.backends.openai_server`.
The API key is read from an environment variable into the client's headers only;
it never appears in ``info()``, ``repr()`` or error messages.
"""

from __future__ import annotations

import hashlib
import os
import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, Literal, TypeVar

import httpx

from judgekit.backends.chat_template import check_chat_template, render_chat_template
from judgekit.backends.http_util import (
    ParsedChoice,
    RequestFailure,
    RetryPolicy,
    choice_probs,
    endpoint,
    parse_choices,
    post_json,
    public_url,
)
from judgekit.backends.openai_echo import ECHO_REFUSED_STYLES, continuation_logprobs, echo_body
from judgekit.backends.openai_pool import run_all
from judgekit.backends.openai_requests import (
    GRAMMAR_STYLES,
    STYLES,
    choice_body,
    constraint_kinds,
    generation_body,
    prefill_supported,
)
from judgekit.backends.openai_server import PROBE_PATTERN, PROBE_PROMPT, detect_style, probe_constraint
from judgekit.core.backend import PartialChoicesError, PartialGenerationError, ProgressFn
from judgekit.core.errors import ConfigError
from judgekit.core.special_tokens import POLICY
from judgekit.core.types import (
    ContinuationScore,
    Generation,
    GenerationParams,
    Prompt,
    sample_seed,
)

T = TypeVar("T")
ConstraintStyle = Literal["auto", "vllm", "vllm-legacy", "sglang", "openai", "llamacpp", "llama-server", "none"]

__all__ = ["PROBE_PATTERN", "PROBE_PROMPT", "ConstraintStyle", "OpenAIBackend"]


def _public_url(url: str) -> str:
    """``url`` without user:password or query values, for manifests and error lines."""
    return public_url(url)


def _split_tokens(total: int, k: int) -> list[int]:
    """Split a usage total over ``k`` choices (the API reports only the sum)."""
    base, extra = divmod(max(total, 0), k)
    return [base + (1 if i < extra else 0) for i in range(k)]


class OpenAIBackend:
    """A model behind an OpenAI-compatible ``/v1`` endpoint.

    ``mode="chat"`` sends messages to ``/chat/completions`` (the server applies the
    chat template); ``mode="completions"`` renders ``chat_template`` (the model's
    Jinja template) client-side and sends raw text to ``/completions``, which is how
    an ``assistant_prefix`` reaches servers without chat prefill (llama-cpp-python).
    ``constraint_style="auto"`` asks the server who it is (``/models``, ``/version``)
    when the backend is created (a failed probe means ``"openai"``, noted in
    ``info()``). ``supports_constraints`` is true when regex constraints (the kind
    judgekit's verdict formats use) are enforced; otherwise constrained requests are
    decoded freely and ``info()["constraint_fallback"]`` says so.

    Before the first constrained generation, one probe request (``probe_constraints``)
    checks that the server really enforces the constraint field of its style: a server
    that ignores unknown fields answers 200 unconstrained. If the probe's answer does
    not match, or the server refuses the field (HTTP 4xx), the backend warns, decodes
    freely from then on (every request counted as a fallback) and records the probe
    in ``info()["constraint_probe"]``.

    Against llama.cpp servers (styles ``llamacpp`` and ``llama-server``) prompts that
    share a prefix (the two orders of an item) are sent one after the other by one
    worker (:func:`~judgekit.backends.prefix.prompt_chains`), and a prompt's ``k``
    samples go as consecutive requests, each with its own per-sample seed: the server's
    prompt cache (llama-server picks the idle slot with the longest common prefix)
    prefills the shared part once. llama-server reports reused prompt tokens (``timings.cache_n``);
    ``info()`` sums them (``prompt_tokens_cached`` of ``prompt_tokens_total``).
    """

    name = "openai"

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key_env: str = "OPENAI_API_KEY",
        concurrency: int = 8,
        timeout: float = 60,
        max_retries: int = 5,
        mode: Literal["chat", "completions"] = "chat",
        constraint_style: ConstraintStyle = "auto",
        *,
        chat_template: str | None = None,
        top_logprobs: int = 20,
        model_id: str | None = None,
        progress: ProgressFn | None = None,
        retry_policy: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
        probe_constraints: bool = True,
    ) -> None:
        if mode not in ("chat", "completions"):
            raise ValueError(f"mode must be 'chat' or 'completions', not {mode!r}")
        if constraint_style != "auto" and constraint_style not in STYLES:
            raise ValueError(f"constraint_style must be 'auto' or one of {STYLES}, not {constraint_style!r}")
        if mode == "completions" and chat_template is None:
            raise ValueError("mode='completions' needs chat_template (the model's Jinja chat template)")
        if chat_template is not None:
            check_chat_template(chat_template)
        if concurrency < 1:
            raise ValueError("concurrency must be >= 1")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.mode = mode
        self.concurrency = concurrency
        self.timeout = timeout
        self.chat_template = chat_template
        self.top_logprobs = top_logprobs
        self.progress = progress
        self.policy = retry_policy or RetryPolicy(max_retries=max_retries)
        self._api_key_env = api_key_env
        self._sleep = sleep
        self._lock = threading.Lock()
        self._native_n: bool | None = None
        self._fallbacks = 0
        self._missing_choices = 0
        self._probe: str | None = None if probe_constraints else "off"
        self._constraints_ignored = False
        self._prompt_tokens = [0, 0]  # [total, reused from the server's cache], where the server reports them
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(api_key_env) if api_key_env else None
        if key:
            headers["Authorization"] = f"Bearer {key}"
        self._client = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
            transport=transport,
        )
        if constraint_style == "auto":
            self.constraint_style, self._style_note = detect_style(self._client, self.base_url, self.model)
        else:
            self.constraint_style, self._style_note = constraint_style, "given"
        self.supports_constraints = "regex" in constraint_kinds(self.constraint_style, self.mode)
        # Style and mode change what the server sees and enforces: they are part of the cache key.
        self.model_id = model_id or f"openai-compatible:{model}:{self.mode}:{self.constraint_style}"

    def __repr__(self) -> str:
        return f"OpenAIBackend(base_url={_public_url(self.base_url)!r}, model={self.model!r}, mode={self.mode!r})"

    # ------------------------------------------------------------ capabilities
    def _n_is_native(self) -> bool:
        if self._native_n is None:
            # llama-cpp-python's server ignores ``n``, llama-server caps it at its slot count and seeds
            # the extra samples itself: ask llama.cpp servers for samples one by one, each with its own seed.
            return self.constraint_style not in GRAMMAR_STYLES
        return self._native_n

    # ------------------------------------------------------------ public API
    def generate(self, prompts: Sequence[Prompt], params: GenerationParams) -> list[list[Generation]]:
        """``params.n`` generations per prompt, in prompt order.

        ``n`` is sent in one request (the server shares the prefill) seeded with the
        per-sample seed of its first sample (:func:`~judgekit.core.types.sample_seed`);
        servers that ignore ``n`` get the missing samples as follow-up requests, each
        with its own per-sample seed (their prompt cache serves the prefill). Requests
        are per prompt, so the other prompts of a batch never change a sample. Raises
        ``PartialGenerationError`` (with all successes) if some prompts fail.
        """
        self._check_prefill(prompts)
        if params.n > 1 and params.temperature == 0:
            raise ValueError("n > 1 needs temperature > 0 (greedy decoding gives n identical answers; vLLM refuses it)")
        if params.constraint is not None and self._probe is None:
            probe_constraint(self)
        style = "none" if self._constraints_ignored else self.constraint_style
        results, errors, too_long = self._run_all(prompts, lambda p: self._generate_one(p, params, style))
        if errors:
            raise PartialGenerationError(results, errors, too_long)
        return [r for r in results if r is not None]

    def score_choices(self, prompts: Sequence[Prompt], choices: Sequence[str]) -> list[dict[str, float]]:
        """First-token probabilities of ``choices``, renormalised, from ``top_logprobs``.

        Tokens are matched by text (see :func:`~judgekit.backends.http_util.choice_probs`).
        When no choice is among the server's top alternatives every choice gets 0 (the
        format records a parse failure with that reason, and the runner does not cache
        it) and the case is counted in ``info()["choices_not_in_top_logprobs"]``. Raises
        ``PartialChoicesError`` (with all successes) if some prompts fail.
        """
        style = self.constraint_style
        self._check_prefill(prompts)
        results, errors, too_long = self._run_all(prompts, lambda p: self._score_one(p, choices, style))
        if errors:
            raise PartialChoicesError(results, errors, too_long)
        return [r for r in results if r is not None]

    def score_continuations(
        self, contexts: Sequence[Prompt], continuations: Sequence[str], values: bool = False
    ) -> list[ContinuationScore]:
        """Continuation token log-probs via ``echo`` + ``logprobs`` (:mod:`judgekit.backends.openai_echo`).

        Needs ``mode="completions"`` (the prompt text is rendered here); refuses
        llama-server, which does not echo prompt log-probs, and ``values`` (the
        endogenous reward needs the full logits, which no HTTP API returns).
        """
        if self.constraint_style in ECHO_REFUSED_STYLES:
            raise ConfigError("backend openai: llama.cpp's llama-server does not return prompt-token log-probs "
                              "(no echo); likelihood judges need transformers, vllm, or a vLLM / llama-cpp-python "
                              "server")
        if self.mode != "completions" or self.chat_template is None:
            raise ConfigError("backend openai: likelihood judges need mode=completions with the model's chat template "
                              "(the prompt is rendered here and echoed back with its log-probs)")
        if values:
            raise ConfigError("backend openai: the endogenous reward needs the full next-token logits, which an "
                              "OpenAI-compatible server does not return; use the transformers backend")
        template = self.chat_template
        # each request as one Prompt (context + continuation as its prefix), so _run_all can chain shared prefixes
        joined = [replace(c, assistant_prefix=c.assistant_prefix + t)
                  for c, t in zip(contexts, continuations, strict=True)]
        tails = {id(p): len(t) for p, t in zip(joined, continuations, strict=True)}

        def one(prompt: Prompt) -> ContinuationScore:
            text = render_chat_template(template, prompt.messages, prompt.assistant_prefix)
            n = tails[id(prompt)]
            data = self._post(echo_body(self.model, text))
            lps = continuation_logprobs(data, len(text) - n, len(text))
            return ContinuationScore(logprobs=tuple(lps), n_chars=n)

        results, errors, _ = self._run_all(joined, one)
        if errors:
            first = min(errors)
            raise RequestFailure(f"{len(errors)} of {len(contexts)} scoring requests failed; first: {errors[first]}")
        return [r for r in results if r is not None]

    def identity(self) -> dict[str, Any]:
        """Output-affecting settings, part of every cache key and the run fingerprint."""
        template = hashlib.sha256(self.chat_template.encode()).hexdigest() if self.chat_template else None
        return {
            "backend": self.name, "base_url": _public_url(self.base_url), "model": self.model, "mode": self.mode,
            "chat_template_sha256": template, "constraint_style": self.constraint_style,
            "top_logprobs": self.top_logprobs, "data_special_tokens": POLICY,
        }

    def info(self) -> dict[str, Any]:
        """Manifest entry; never includes the API key."""
        style = self.constraint_style
        return {
            "backend": self.name,
            "model_id": self.model_id,
            "model": self.model,
            "base_url": _public_url(self.base_url),
            "mode": self.mode,
            "data_special_tokens": POLICY,
            "constraint_style": style,
            "constraint_style_source": self._style_note,
            "constraint_kinds": sorted(constraint_kinds(style, self.mode)),
            "constraint_probe": self._probe,
            "constraint_fallback": self._fallbacks > 0,
            "constraint_fallbacks": self._fallbacks,
            "n_native": self._n_is_native(),
            "choices_not_in_top_logprobs": self._missing_choices,
            "prefix_chains": self._chains_prompts(),
            "prompt_tokens_total": self._prompt_tokens[0],
            "prompt_tokens_cached": self._prompt_tokens[1],
            "concurrency": self.concurrency,
            "timeout_s": self.timeout,
            "max_retries": self.policy.max_retries,
            "api_key_env": self._api_key_env,
            "api_key_set": bool(self._api_key_env and os.environ.get(self._api_key_env)),
        }

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()

    # ------------------------------------------------------------ internals
    def _check_prefill(self, prompts: Sequence[Prompt]) -> None:
        if any(p.assistant_prefix for p in prompts) and not prefill_supported(
            self.constraint_style, self.mode, self.chat_template
        ):
            raise ConfigError(
                f"prompts carry an assistant_prefix (logit mode and prefilled verdicts), which "
                f"--constraint-style {self.constraint_style} servers cannot continue in chat mode; use "
                "--api-mode completions with --chat-template (the model's Jinja chat template), or a server "
                "that continues a final assistant message (vllm, llama-server)"
            )

    def _run_all(
        self, prompts: Sequence[Prompt], work: Callable[[Prompt], T]
    ) -> tuple[list[T | None], dict[int, str], set[int]]:
        """Run ``work`` on every prompt (:func:`~judgekit.backends.openai_pool.run_all`)."""
        return run_all(prompts, work, concurrency=self.concurrency, chains=self._chains_prompts(),
                       progress=self.progress, server=_public_url(self.base_url))

    def _chains_prompts(self) -> bool:
        """Whether prompts sharing a prefix go consecutively (llama.cpp servers' prompt cache)."""
        return self.constraint_style in GRAMMAR_STYLES

    def _note_prompt_tokens(self, data: dict[str, Any]) -> None:
        """Count prompt tokens and those the server reused from its cache (llama-server's ``timings``)."""
        timings = data.get("timings")
        if not isinstance(timings, dict):
            return
        cached, processed = timings.get("cache_n"), timings.get("prompt_n")
        if isinstance(cached, int) and isinstance(processed, int):
            with self._lock:
                self._prompt_tokens[0] += cached + processed
                self._prompt_tokens[1] += cached

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        path = "/chat/completions" if self.mode == "chat" else "/completions"
        kwargs: dict[str, Any] = {} if self._sleep is None else {"sleep": self._sleep}
        return post_json(self._client, endpoint(self.base_url, path), body, self.policy, rng=random.Random(),
                         deadline=self.timeout, **kwargs)

    def _request(self, prompt: Prompt, params: GenerationParams, style: str, n: int, seed: int) -> list[Generation]:
        body, fell_back = generation_body(
            prompt, params, model=self.model, style=style, mode=self.mode, n=n, seed=seed,
            chat_template=self.chat_template,
        )
        if fell_back:
            with self._lock:
                self._fallbacks += 1
        data = self._post(body)
        self._note_prompt_tokens(data)
        choices: list[ParsedChoice] = parse_choices(data, self.mode)[:n]
        usage = data.get("usage") or {}
        tokens = _split_tokens(int(usage.get("completion_tokens") or 0), len(choices))
        return [Generation(c.text, c.finish_reason, t) for c, t in zip(choices, tokens, strict=True)]

    def _generate_one(self, prompt: Prompt, params: GenerationParams, style: str) -> list[Generation]:
        n, first = params.n, params.first_index
        seed = sample_seed(params.seed, prompt, first)
        gens = self._request(prompt, params, style, n if self._n_is_native() else 1, seed)
        if n > 1:
            with self._lock:
                if self._native_n is None:
                    self._native_n = len(gens) >= n
        while len(gens) < n:
            gens += self._request(prompt, params, style, 1, sample_seed(params.seed, prompt, first + len(gens)))
        return gens

    def _score_one(self, prompt: Prompt, choices: Sequence[str], style: str) -> dict[str, float]:
        body = choice_body(
            prompt, model=self.model, style=style, mode=self.mode, top_logprobs=self.top_logprobs,
            chat_template=self.chat_template,
        )
        data = self._post(body)
        self._note_prompt_tokens(data)
        parsed = parse_choices(data, self.mode)
        top = parsed[0].top_logprobs
        if top is None:
            raise RequestFailure("server returned no logprobs (does it support top_logprobs?)")
        probs = choice_probs(top, choices)
        if probs is None:
            with self._lock:
                self._missing_choices += 1
            return {c: 0.0 for c in choices}
        return probs
