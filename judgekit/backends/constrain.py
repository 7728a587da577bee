"""Constrained decoding for the transformers backend, built on outlines 1.x (outlines-core).

A regex (or a JSON schema, turned into a regex by outlines-core) is compiled once per
(pattern, tokenizer) into an outlines-core ``Index``: a token-level automaton. During
``model.generate`` a :class:`RegexLogitsProcessor` walks one ``Guide`` per sequence
and masks every token the automaton does not allow, so the decoded text always
matches the pattern (as long as ``max_new_tokens`` leaves room to finish it). Once
the automaton reaches an accepting state the end-of-sequence token becomes allowed;
when nothing else can follow, it is the only choice.

The vocabulary is given to outlines-core as raw bytes (byte-level BPE tokens are
mapped back through the GPT-2 byte alphabet, SentencePiece ``▁``/``<0xNN>`` tokens are
decoded), so tokens holding half a UTF-8 character are handled exactly.

This module imports torch and is only imported by :mod:`judgekit.backends.transformers`.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from outlines_core import Guide, Index, Vocabulary
from outlines_core.json_schema import build_regex_from_schema

from judgekit.core.types import Constraint

_SPIECE = "\u2581"
MAX_REPEAT_BOUND = 24
_REPEAT = re.compile(r"\{(\d*),(\d+)\}")


def _byte_decoder() -> dict[str, int]:
    """Inverse of GPT-2's ``bytes_to_unicode``: printable stand-in character -> byte."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    extra = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + extra)
            extra += 1
    return {chr(c): b for b, c in zip(bs, cs, strict=True)}


def token_bytes(tokenizer: Any) -> dict[int, bytes]:
    """Raw bytes of every non-special token id of a Hugging Face tokenizer.

    Special tokens (``<|im_start|>``, EOS...) are left out: they are never allowed by
    a constraint (EOS is handled separately by the automaton).
    """
    vocab: dict[str, int] = tokenizer.get_vocab()
    added = getattr(tokenizer, "added_tokens_decoder", {}) or {}
    special = {int(i) for i, tok in added.items() if getattr(tok, "special", True)}
    special.update(int(i) for i in (tokenizer.all_special_ids or []))
    decoder = _byte_decoder()
    normal = {t: i for t, i in vocab.items() if i not in special}
    byte_level = all(all(ch in decoder for ch in t) for t in normal)
    out: dict[int, bytes] = {}
    for tok, idx in normal.items():
        if byte_level:
            out[idx] = bytes(decoder[ch] for ch in tok)
        elif len(tok) == 6 and tok.startswith("<0x") and tok.endswith(">"):
            out[idx] = bytes([int(tok[3:5], 16)])
        elif _SPIECE in tok:
            out[idx] = tok.replace(_SPIECE, " ").encode("utf-8")
        else:
            out[idx] = tokenizer.convert_tokens_to_string([tok]).encode("utf-8")
    return {i: b for i, b in out.items() if b}


@dataclass(frozen=True)
class TokenizerVocab:
    """The outlines-core vocabulary of one tokenizer plus a content fingerprint."""

    vocabulary: Vocabulary
    eos_token_id: int
    fingerprint: str


def build_vocabulary(tokenizer: Any) -> TokenizerVocab:
    """Build the outlines-core ``Vocabulary`` of ``tokenizer`` (EOS = ``tokenizer.eos_token_id``)."""
    eos = tokenizer.eos_token_id
    if eos is None:
        raise ValueError("constrained decoding needs a tokenizer with an eos_token_id")
    by_bytes: dict[bytes, list[int]] = {}
    for idx, raw in sorted(token_bytes(tokenizer).items()):
        if idx != eos:
            by_bytes.setdefault(raw, []).append(idx)
    h = hashlib.sha256(f"eos={eos}".encode())
    for raw, ids in sorted(by_bytes.items()):
        h.update(raw + b"\x00" + ",".join(map(str, ids)).encode() + b"\x01")
    return TokenizerVocab(Vocabulary(int(eos), by_bytes), int(eos), h.hexdigest()[:16])


def constraint_regex(constraint: Constraint) -> str:
    """The regex a constraint stands for (JSON schemas are converted by outlines-core)."""
    if constraint.kind == "regex":
        return constraint.pattern
    if constraint.kind == "json_schema":
        return str(build_regex_from_schema(constraint.pattern))
    raise ValueError(f"unknown constraint kind {constraint.kind!r}")


def relax_repeats(regex: str, max_bound: int = MAX_REPEAT_BOUND) -> str:
    r"""Rewrite bounded repeats ``{m,n}`` with ``n > max_bound`` as ``{m,}``.

    A token-level index grows with the repeat bound times the vocabulary: ``[^\n]{0,200}``
    over a 49k-token vocabulary needs many GiB and minutes to compile, ``[^\n]*`` needs
    0.5 s. The length of a relaxed repeat is then bounded by ``max_new_tokens`` (the
    logits processor always leaves room to finish the pattern) instead of by characters.
    Escapes and character classes are skipped; other repeats are kept as written.
    """
    out: list[str] = []
    i, n, in_class = 0, len(regex), False
    while i < n:
        ch = regex[i]
        if ch == "\\":
            out.append(regex[i : i + 2])
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
            if regex[i + 1 : i + 2] == "^":
                out.append("[^")
                i += 2
                if regex[i : i + 1] == "]":
                    out.append("]")
                    i += 1
                continue
            if regex[i + 1 : i + 2] == "]":
                out.append("[]")
                i += 2
                continue
        elif ch == "{":
            m = _REPEAT.match(regex, i)
            if m and int(m.group(2)) > max_bound:
                out.append("{" + (m.group(1) or "0") + ",}")
                i = m.end()
                continue
        out.append(ch)
        i += 1
    return "".join(out)


@dataclass(frozen=True)
class CompiledConstraint:
    """An outlines-core index plus, per state, the fewest tokens that reach an accepting state.

    ``distance`` and ``transitions`` let the logits processor keep enough of the token
    budget to finish the pattern.
    """

    regex: str
    index: Index
    distance: dict[int, int]
    transitions: dict[int, dict[int, int]]


def _distances(index: Index, eos_token_id: int) -> tuple[dict[int, int], dict[int, dict[int, int]]]:
    """Fewest tokens from each state to an accepting state (reverse breadth-first search)."""
    raw = index.get_transitions()
    transitions = {
        int(s): {int(t): int(ns) for t, ns in trans.items() if t != eos_token_id} for s, trans in raw.items()
    }
    reverse: dict[int, list[int]] = {}
    for s, trans in transitions.items():
        for ns in set(trans.values()):
            reverse.setdefault(ns, []).append(s)
    distance = {int(s): 0 for s in index.get_final_states()}
    frontier = list(distance)
    while frontier:
        nxt = []
        for ns in frontier:
            for s in reverse.get(ns, ()):
                if s not in distance:
                    distance[s] = distance[ns] + 1
                    nxt.append(s)
        frontier = nxt
    return distance, transitions


class IndexCache:
    """Compiled constraints per (regex, tokenizer): in memory, and on disk when given a directory.

    Compiling an index over a 50k-token vocabulary takes from a fraction of a second
    to several seconds, and a judge run reuses one pattern for every item.
    ``compile_seconds`` accumulates the time spent compiling (for measurements).
    """

    def __init__(self, disk_dir: Path | None = None) -> None:
        self.disk_dir = disk_dir
        self._mem: dict[tuple[str, str], CompiledConstraint] = {}
        self._lock = threading.Lock()
        self.compile_seconds = 0.0

    def get(self, regex: str, vocab: TokenizerVocab) -> CompiledConstraint:
        """The compiled form of ``regex`` (already relaxed) over ``vocab``, built at most once."""
        key = (regex, vocab.fingerprint)
        with self._lock:
            compiled = self._mem.get(key)
            if compiled is None:
                start = time.perf_counter()
                index = self._load(key) or self._compile(key, regex, vocab)
                distance, transitions = _distances(index, vocab.eos_token_id)
                compiled = CompiledConstraint(regex, index, distance, transitions)
                self.compile_seconds += time.perf_counter() - start
                self._mem[key] = compiled
            return compiled

    def _path(self, key: tuple[str, str]) -> Path | None:
        if self.disk_dir is None:
            return None
        digest = hashlib.sha256("\x00".join(key).encode()).hexdigest()[:24]
        return self.disk_dir / f"{digest}.idx"

    def _load(self, key: tuple[str, str]) -> Index | None:
        """Read a cached index: plain bytes for ``Index.from_binary``, never unpickled.

        A file that is not ours, truncated or altered (digest mismatch) is ignored
        and recompiled; nothing in the cache directory can run code.
        """
        path = self._path(key)
        if path is None or not path.is_file():
            return None
        data = path.read_bytes()
        magic, _, rest = data.partition(b"\n")
        digest, _, blob = rest.partition(b"\n")
        if magic != _INDEX_MAGIC or digest != hashlib.sha256(blob).hexdigest().encode():
            return None
        try:
            return Index.from_binary(blob)
        except BaseException as exc:  # noqa: BLE001 - the Rust side may panic on bad bytes
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            return None

    def _compile(self, key: tuple[str, str], regex: str, vocab: TokenizerVocab) -> Index:
        try:
            index = Index(regex, vocab.vocabulary)
        except Exception as e:
            raise ValueError(f"cannot compile constraint regex {regex[:200]!r}: {e}") from e
        path = self._path(key)
        blob = _index_bytes(index)
        if path is not None and blob is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as f:
                f.write(_INDEX_MAGIC + b"\n" + hashlib.sha256(blob).hexdigest().encode() + b"\n" + blob)
            os.replace(tmp, path)
        return index


_INDEX_MAGIC = b"judgekit-index-v1"


def _index_bytes(index: Index) -> bytes | None:
    """The serialized form outlines-core rebuilds with ``Index.from_binary`` (None if it changed)."""
    fn, args = index.__reduce__()[:2]
    if getattr(fn, "__name__", "") == "from_binary" and len(args) == 1 and isinstance(args[0], bytes):
        return args[0]
    return None


class RegexLogitsProcessor:
    """A Hugging Face logits processor that keeps every row of a batch inside an outlines-core index.

    Create one per ``generate`` call: it keeps per-row state. Row ``i`` of the batch
    (the ``n`` continuations of a prompt are separate rows) gets its own guide.
    With ``max_new_tokens`` given, a row whose remaining budget gets short is only
    allowed tokens that can still reach an accepting state in time, so the output
    matches even when the model would ramble. A row that has emitted EOS is left
    alone (``generate`` pads it); a row with no allowed token may only emit EOS.
    """

    def __init__(self, compiled: CompiledConstraint, eos_token_id: int, max_new_tokens: int | None = None) -> None:
        self.compiled = compiled
        self.eos_token_id = eos_token_id
        self.max_new_tokens = max_new_tokens
        self._guides: list[Guide] = []
        self._done: list[bool] = []
        self._step = 0
        self._bitmask: torch.Tensor | None = None
        self._shifts = torch.arange(32, dtype=torch.int32)
        self._forced: dict[tuple[int, int], list[int]] = {}

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        """Mask ``scores`` (rows x vocab) to the tokens each row's automaton allows."""
        rows, vocab_size = scores.shape
        if self._bitmask is None:
            self._guides = [Guide(self.compiled.index) for _ in range(rows)]
            self._done = [False] * rows
            self._bitmask = torch.zeros((rows, (vocab_size + 31) // 32), dtype=torch.int32)
        else:
            self._step += 1
            for i, tok in enumerate(input_ids[:, -1].tolist()):
                if self._done[i]:
                    continue
                if tok == self.eos_token_id:
                    self._done[i] = True
                    continue
                try:
                    self._guides[i].advance(tok, return_tokens=False)
                except Exception:  # cannot happen for tokens this mask allowed; stop the row safely
                    self._done[i] = True
        mask = self._bitmask
        mask.zero_()
        words = mask.shape[1]
        for i, guide in enumerate(self._guides):
            if not self._done[i]:
                guide.write_mask_into(mask.data_ptr() + i * words * 4, words, 4)
        allowed = ((mask.unsqueeze(-1) >> self._shifts) & 1).bool().view(rows, -1)[:, :vocab_size]
        self._apply_budget(allowed)
        allowed[:, self.eos_token_id] |= torch.tensor(self._done, dtype=torch.bool) | ~allowed.any(dim=1)
        return scores.masked_fill(~allowed.to(scores.device), float("-inf"))

    def _apply_budget(self, allowed: torch.Tensor) -> None:
        """Restrict rows whose remaining budget only just suffices to finish the pattern."""
        if self.max_new_tokens is None or not self.compiled.distance:
            return
        left_after = self.max_new_tokens - self._step - 1  # tokens left after this one
        for i, guide in enumerate(self._guides):
            if self._done[i]:
                continue
            state = int(guide.get_state())
            forced = self._forced_tokens(state, left_after)
            if forced is not None:
                keep_eos = bool(allowed[i, self.eos_token_id])
                allowed[i] = False
                allowed[i, forced] = True
                allowed[i, self.eos_token_id] = keep_eos

    def _forced_tokens(self, state: int, left_after: int) -> list[int] | None:
        """Tokens from ``state`` whose next state can still finish in ``left_after`` tokens.

        ``None`` when no restriction is needed, or when none can finish (then the
        budget is simply too small and the unrestricted mask is kept).
        """
        key = (state, left_after)
        if key not in self._forced:
            trans = self.compiled.transitions.get(state, {})
            dist = self.compiled.distance
            far = [ns for ns in trans.values() if dist.get(ns, 1 << 30) > left_after]
            if not far:
                self._forced[key] = []
            else:
                self._forced[key] = [t for t, ns in trans.items() if dist.get(ns, 1 << 30) <= left_after] or [-1]
        forced = self._forced[key]
        if not forced or forced == [-1]:
            return None
        return forced
