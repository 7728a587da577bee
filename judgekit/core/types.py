"""The nouns of judgekit: small frozen dataclasses that flow through the data path.

data -> Sample -> Prompt -> Generation -> Verdict | ParseFailure -> Judgment

Everything here is plain data (no torch, no I/O) so it can be hashed, cached,
serialised to JSON and compared in tests.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class Message:
    """One chat turn."""

    role: Role
    content: str


@dataclass(frozen=True)
class Sample:
    """One item to judge.

    ``responses`` holds one response (pointwise, verification) or two or more
    (pairwise, best-of-n). ``label`` uses the verdict vocabulary of the task:
    ``"A"``/``"B"``/``"tie"`` for pairwise (A = ``responses[0]``),
    ``"correct"``/``"incorrect"`` for verification, or ``None`` when unknown.
    """

    id: str
    prompt: str
    responses: tuple[str, ...]
    reference: str | None = None
    label: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view."""
        d = asdict(self)
        d["responses"] = list(self.responses)
        d["metadata"] = dict(self.metadata)
        return d


@dataclass(frozen=True)
class Prompt:
    """A rendered prompt: chat messages plus an optional assistant prefix.

    ``assistant_prefix`` is text the assistant turn starts with (e.g. ``"Verdict: [["``
    for logit mode); backends append it after the chat template's generation prompt.
    """

    messages: tuple[Message, ...]
    template: str
    template_hash: str
    assistant_prefix: str = ""

    def key(self) -> str:
        """Stable content hash, used in cache keys."""
        payload = {
            "messages": [[m.role, m.content] for m in self.messages],
            "prefix": self.assistant_prefix,
        }
        return hashlib.sha256(json.dumps(payload, ensure_ascii=False).encode()).hexdigest()

    def as_text(self) -> str:
        """Human-readable flattening (for traces and error messages)."""
        parts = [f"[{m.role}]\n{m.content}" for m in self.messages]
        if self.assistant_prefix:
            parts.append(f"[assistant]\n{self.assistant_prefix}")
        return "\n\n".join(parts)


@dataclass(frozen=True)
class Constraint:
    """A decoding constraint: a regex or a JSON schema (serialised) for outlines."""

    kind: Literal["regex", "json_schema"]
    pattern: str


@dataclass(frozen=True)
class GenerationParams:
    """Decoding parameters. ``n`` continuations share one prompt (one prefill).

    The continuations are samples ``first_index`` .. ``first_index + n - 1`` of the
    prompt; sample ``i`` is drawn with :func:`sample_seed` ``(seed, prompt, i)``, so it
    is the same whatever batch, ``n`` or ``first_index`` it is generated with.
    """

    max_new_tokens: int = 128
    temperature: float = 0.0
    top_p: float = 1.0
    n: int = 1
    seed: int = 0
    constraint: Constraint | None = None
    stop: tuple[str, ...] = ()
    first_index: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view (for cache keys and manifests)."""
        return asdict(self)


def sample_seed(seed: int, prompt: Prompt, index: int) -> int:
    """The seed of sample ``index`` of ``prompt``: a 31-bit integer (every server accepts it), stable across runs."""
    digest = hashlib.sha256(f"{seed}|{prompt.key()}|{index}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


@dataclass(frozen=True)
class Generation:
    """One continuation produced by a backend."""

    text: str
    finish_reason: str = "stop"
    num_tokens: int = 0


@dataclass(frozen=True)
class ContinuationScore:
    """Log-probabilities of a continuation's tokens given a context (likelihood judges).

    ``logprobs[t]`` is log P(token t | context, tokens < t); ``None`` where the engine
    gave none (a missing log-prob is recorded, never guessed). ``n_chars`` is the
    continuation's length in characters (per-character normalisation). ``values`` is
    ``(V(s_1), V(s_H+1))``: the log-sum-exp of the raw next-token logits before the first
    continuation token and after the last one (the soft value of the endogenous reward,
    arXiv 2506.23235); ``None`` where the engine exposes only log-probs.
    """

    logprobs: tuple[float | None, ...]
    n_chars: int
    values: tuple[float, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view (the call cache stores this)."""
        return {"logprobs": list(self.logprobs), "n_chars": self.n_chars,
                "values": list(self.values) if self.values is not None else None}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ContinuationScore:
        """Inverse of :meth:`to_dict`."""
        values = d.get("values")
        return cls(logprobs=tuple(d["logprobs"]), n_chars=int(d["n_chars"]),
                   values=(float(values[0]), float(values[1])) if values else None)


@dataclass(frozen=True)
class Verdict:
    """A parsed answer.

    ``label`` is in the format's vocabulary (``"A"``, ``"B"``, ``"tie"``,
    ``"correct"``...), ``scores`` holds per-response scores where the format gives
    them, ``probs`` holds label probabilities (logit mode).
    """

    label: str | None
    scores: tuple[float, ...] | None = None
    probs: Mapping[str, float] | None = None


@dataclass(frozen=True)
class ParseFailure:
    """Model output that could not be read as a verdict; never silently a verdict."""

    reason: str
    raw: str


Parsed = Verdict | ParseFailure


@dataclass(frozen=True)
class Turn:
    """One model call inside a judgment, kept so a user can read why."""

    name: str
    prompt: str
    output: str
    parsed: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Judgment:
    """The result for one sample: per-order verdicts, the final verdict, the reward."""

    sample_id: str
    verdict: str | None
    reward: float | None
    per_order: tuple[Mapping[str, Any], ...] = ()
    probs: Mapping[str, float] | None = None
    scores: tuple[float, ...] | None = None
    parse_failure: bool = False
    failure_reason: str | None = None
    consistent: bool | None = None
    trace: tuple[Turn, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view used by the output writer."""
        d = asdict(self)
        d["trace"] = [asdict(t) for t in self.trace]
        d["per_order"] = [dict(p) for p in self.per_order]
        return d


def parsed_to_dict(parsed: Parsed) -> dict[str, Any]:
    """Serialise a verdict or failure for traces and outputs."""
    if isinstance(parsed, ParseFailure):
        return {"ok": False, "reason": parsed.reason}
    out: dict[str, Any] = {"ok": True, "label": parsed.label}
    if parsed.scores is not None:
        out["scores"] = list(parsed.scores)
    if parsed.probs is not None:
        out["probs"] = dict(parsed.probs)
    return out
