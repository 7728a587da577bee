"""Slot templates: lay out prompt, response(s) and explanation around ONE mask token.

ESFP-RM stage 2 reads a text whose last sentence holds a slot (the tokenizer's mask
token) and predicts a label word (a verbalizer) for it. Encoding works on token ids,
not on text, so the invariants hold for every tokenizer:

* exactly one mask token: the slot sentence is tokenized around the mask id, and any
  special token that user text produces (a response containing ``[MASK]``, ``<s>``...)
  is replaced by the unknown token;
* truncation never touches the slot sentence or the section headers; explanations are
  kept whole up to ``explanation_max`` tokens each; only then are the prompt and the
  responses shortened, by water-filling a shared budget (a short field keeps all of
  its tokens and leaves the rest to the others), with the ``head`` or ``head_tail``
  policy. Every cut is recorded as a :class:`Cut` (field, token counts and the
  character spans of the original text that were kept).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from judgekit.core.errors import ConfigError

Form = Literal["pairwise", "pointwise"]
Policy = Literal["head", "head_tail"]
MASK = "{mask}"


@dataclass(frozen=True)
class Verbalizer:
    """Label words for the slot: ``words[i]`` stands for ``labels[i]``."""

    labels: tuple[str, ...]
    words: tuple[str, ...]


PAIRWISE_VERBALIZER = Verbalizer(labels=("A", "B"), words=("first", "second"))
POINTWISE_VERBALIZER = Verbalizer(labels=("good", "bad"), words=("good", "bad"))
PAIRWISE_SLOT = "Of the two responses, the {mask} one is better."
POINTWISE_SLOT = "Overall, the response is {mask}."


@dataclass(frozen=True)
class Layout:
    """Length budget and truncation policy of the stage-2 input."""

    max_length: int = 512
    explanation_max: int = 96
    policy: Policy = "head"


@dataclass(frozen=True)
class Field:
    """One section of the input: a header line and its text.

    ``kind`` is ``context`` (prompt, responses: may be shortened) or ``explanation``
    (kept whole up to the explanation cap).
    """

    name: str
    header: str
    text: str
    kind: Literal["context", "explanation"] = "context"


@dataclass(frozen=True)
class Cut:
    """What truncation removed from one field.

    ``kept_spans`` are ``(start, end)`` character spans of the original text that
    remain in the input (one span for ``head``, two for ``head_tail``).
    """

    field: str
    tokens: int
    kept: int
    chars: int
    kept_spans: tuple[tuple[int, int], ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view for judgments' ``extra``."""
        return {"field": self.field, "tokens": self.tokens, "kept": self.kept, "chars": self.chars,
                "kept_spans": [list(s) for s in self.kept_spans]}


@dataclass(frozen=True)
class SlotInput:
    """Token ids ready for the encoder, the mask position (or -1) and the cuts made."""

    input_ids: tuple[int, ...]
    mask_position: int
    cuts: tuple[Cut, ...]


def pairwise_fields(
    prompt: str, response_a: str, response_b: str, explanations: Sequence[str] | None
) -> list[Field]:
    """Sections of the pairwise form; each response is followed by its explanation."""
    fields = [Field("prompt", "Question:", prompt), Field("response_a", "First response:", response_a)]
    if explanations is not None:
        fields.append(Field("explanation_a", "About the first response:", explanations[0], "explanation"))
    fields.append(Field("response_b", "Second response:", response_b))
    if explanations is not None:
        fields.append(Field("explanation_b", "About the second response:", explanations[1], "explanation"))
    return fields


def pointwise_fields(prompt: str, response: str, explanation: str | None) -> list[Field]:
    """Sections of the pointwise form."""
    fields = [Field("prompt", "Question:", prompt), Field("response", "Response:", response)]
    if explanation is not None:
        fields.append(Field("explanation", "About the response:", explanation, "explanation"))
    return fields


def _tokenize(tokenizer: Any, text: str) -> tuple[list[int], list[tuple[int, int]] | None]:
    if not text:
        return [], []
    try:
        enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        return list(enc["input_ids"]), [tuple(o) for o in enc["offset_mapping"]]
    except (NotImplementedError, ValueError, TypeError):  # slow tokenizers give no offsets
        return list(tokenizer(text, add_special_tokens=False)["input_ids"]), None


def _sanitise(tokenizer: Any, ids: list[int]) -> list[int]:
    """Replace special tokens produced by user text, so the only mask is the slot's."""
    special = set(tokenizer.all_special_ids)
    unk = tokenizer.unk_token_id
    if unk is None:
        return [i for i in ids if i not in special]
    return [unk if i in special else i for i in ids]


def special_frame(tokenizer: Any) -> tuple[list[int], list[int]]:
    """The special tokens a tokenizer puts before and after one sequence (e.g. CLS / SEP)."""
    inner = list(tokenizer("x", add_special_tokens=False)["input_ids"])
    full = list(tokenizer("x", add_special_tokens=True)["input_ids"])
    for i in range(len(full) - len(inner) + 1):
        if full[i : i + len(inner)] == inner:
            return full[:i], full[i + len(inner):]
    raise ConfigError("cannot tell this tokenizer's special tokens apart from text")


def water_fill(lengths: Sequence[int], budget: int) -> list[int]:
    """Split ``budget`` tokens over fields of ``lengths``: short fields keep everything.

    The result never exceeds a field's length; the total is ``min(budget, sum)``.
    """
    alloc = [0] * len(lengths)
    open_ = [i for i, n in enumerate(lengths) if n > 0]
    left = max(0, budget)
    while open_ and left > 0:
        share = max(1, left // len(open_))
        still = []
        for i in open_:
            give = min(share, lengths[i] - alloc[i], left)
            alloc[i] += give
            left -= give
            if alloc[i] < lengths[i]:
                still.append(i)
            if left == 0:
                break
        open_ = still if left else []
    return alloc


def _cut(
    name: str, text: str, ids: list[int], offsets: list[tuple[int, int]] | None, keep: int, policy: Policy
) -> tuple[list[int], Cut | None]:
    n = len(ids)
    if keep >= n:
        return ids, None
    spans: tuple[tuple[int, int], ...]
    if policy == "head_tail" and keep >= 2:
        head, tail = keep - keep // 2, keep // 2
        kept = ids[:head] + ids[n - tail:]
        spans = ((0, offsets[head - 1][1]), (offsets[n - tail][0], len(text))) if offsets else ()
    else:
        kept = ids[:keep]
        spans = ((0, offsets[keep - 1][1]),) if offsets and keep else ()
    return kept, Cut(field=name, tokens=n, kept=keep, chars=len(text), kept_spans=spans)


def encode(tokenizer: Any, fields: Sequence[Field], slot: str | None, layout: Layout) -> SlotInput:
    """Encode fields plus the slot sentence (``{mask}`` exactly once) into one input.

    ``slot=None`` encodes the fields alone (the sequence-classification baseline).
    Raises :class:`ConfigError` when even headers and slot do not fit ``max_length``.
    """
    if slot is not None and slot.count(MASK) != 1:
        raise ConfigError(f"slot template {slot!r} must contain {MASK} exactly once")
    prefix, suffix = special_frame(tokenizer)
    budget = layout.max_length - len(prefix) - len(suffix)
    headers = [_sanitise(tokenizer, _tokenize(tokenizer, f.header)[0]) for f in fields]
    slot_ids: list[int] = []
    if slot is not None:
        before, after = slot.split(MASK)
        slot_ids = (_sanitise(tokenizer, _tokenize(tokenizer, before)[0]) + [tokenizer.mask_token_id]
                    + _sanitise(tokenizer, _tokenize(tokenizer, after)[0]))
    fixed = sum(map(len, headers)) + len(slot_ids)
    if fixed > budget:
        raise ConfigError(
            f"max_length {layout.max_length} cannot hold the section headers and the slot ({fixed} tokens)"
        )
    raw = [_tokenize(tokenizer, f.text) for f in fields]
    bodies = [_sanitise(tokenizer, ids) for ids, _ in raw]
    expl = [i for i, f in enumerate(fields) if f.kind == "explanation"]
    ctx = [i for i, f in enumerate(fields) if f.kind == "context"]
    keep = [len(b) for b in bodies]
    for i in expl:
        keep[i] = min(keep[i], layout.explanation_max)
    over = fixed + sum(keep[i] for i in expl) - budget
    if over > 0:  # explanations alone overflow: share what is left between them
        for i, k in zip(expl, water_fill([keep[i] for i in expl], budget - fixed), strict=True):
            keep[i] = k
    room = budget - fixed - sum(keep[i] for i in expl)
    for i, k in zip(ctx, water_fill([keep[i] for i in ctx], room), strict=True):
        keep[i] = k
    ids: list[int] = []
    cuts: list[Cut] = []
    for f, header, body, (_, offsets), k in zip(fields, headers, bodies, raw, keep, strict=True):
        offs = offsets if offsets is not None and len(offsets) == len(body) else None
        kept, cut = _cut(f.name, f.text, body, offs, k, layout.policy)
        ids += header + kept
        if cut is not None:
            cuts.append(cut)
    ids += slot_ids
    full = prefix + ids + suffix
    mask_position = full.index(tokenizer.mask_token_id) if slot is not None else -1
    return SlotInput(input_ids=tuple(full), mask_position=mask_position, cuts=tuple(cuts))


def encode_pairwise(
    tokenizer: Any, prompt: str, response_a: str, response_b: str,
    explanations: Sequence[str] | None, layout: Layout, slot: str | None = PAIRWISE_SLOT,
) -> SlotInput:
    """The pairwise form for one order (``response_a`` is shown first)."""
    return encode(tokenizer, pairwise_fields(prompt, response_a, response_b, explanations), slot, layout)


def encode_pointwise(
    tokenizer: Any, prompt: str, response: str, explanation: str | None, layout: Layout,
    slot: str | None = POINTWISE_SLOT,
) -> SlotInput:
    """The pointwise form for one response."""
    return encode(tokenizer, pointwise_fields(prompt, response, explanation), slot, layout)


def label_word_ids(tokenizer: Any, words: Sequence[str]) -> tuple[int, ...]:
    """The single vocabulary id of each label word, as it appears after a space.

    Tries ``" word"`` first (RoBERTa/DeBERTa mark the space in the token) and then
    ``"word"``; raises :class:`ConfigError` if a word is not one token, or if two
    words share an id.
    """
    out = []
    for w in words:
        for text in (" " + w, w):
            ids = tokenizer(text, add_special_tokens=False)["input_ids"]
            if len(ids) == 1 and ids[0] != tokenizer.unk_token_id:
                out.append(int(ids[0]))
                break
        else:
            raise ConfigError(f"label word {w!r} is not a single token for this tokenizer; choose another verbalizer")
    if len(set(out)) != len(out):
        raise ConfigError(f"label words {list(words)} map to the same token ids {out}")
    return tuple(out)
