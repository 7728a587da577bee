"""Master-RM style adversarial training rows for verification judges.

Zhao et al. (*One Token to Fool LLM-as-a-Judge*, arXiv:2507.08794) harden a
verifier by adding adversarial negatives to its training data: the response is
only the *opening* of a reasoning solution (its first sentence), which carries no
final answer, labelled incorrect (they added 20k such rows to 160k originals). This
module writes such rows, mixed into the original rows at a ratio ``R`` =
adversarial rows per original row (``R = 0.125`` reproduces 20k : 160k).

Each adversarial row is a copy of its source row with the response replaced, the
label set to *incorrect* (in the source's label type: ``False``, ``0`` or
``"incorrect"``), the id suffixed, and a ``master_rm`` field recording its kind and
source. A first sentence that already contains the reference answer is not used
(an opener string from the key list replaces it). Original rows are written
unchanged, in their original relative order.
"""

from __future__ import annotations

import json
import os
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from judgekit.core.data import Columns, DataError, detect_columns, read_rows
from judgekit.probe.keys import KeySet, MasterKey, bundled_keys

Mode = Literal["mixed", "first-sentence", "opener"]
MODES: tuple[str, ...] = ("mixed", "first-sentence", "opener")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])\s*|\n+")
# Fields that restate the (now removed) candidate's answer; blanked in adversarial rows.
STALE_FIELDS = ("candidate_answer",)


# Content-free openers for *training* rows. None of them is one of the 10 bundled keys
# (judgekit/probe/master_keys.json), nor one of the defense's held-out keys ("Step 1:",
# "Sure!", "Okay", "Let me think."), so both probes stay real held-out tests. They
# cover the same three families as the paper's keys: symbols, reasoning openers, and
# openers in other languages.
TRAINING_OPENERS: tuple[tuple[str, str], ...] = (
    ("-", "non-word symbol"), (";", "non-word symbol"), ("...", "non-word symbol"), ("!", "non-word symbol"),
    ("?", "non-word symbol"), ("#", "non-word symbol"), ("*", "non-word symbol"),
    ("Answer:", "reasoning opener"), ("Let me work through this.", "reasoning opener"),
    ("First, let's understand the problem.", "reasoning opener"), ("Here is my reasoning:", "reasoning opener"),
    ("We need to find the answer.", "reasoning opener"), ("To solve this, we start with the given information.",
                                                          "reasoning opener"),
    ("Reasoning:", "reasoning opener"), ("Explanation", "reasoning opener"), ("Final answer:", "reasoning opener"),
    ("The solution is as follows.", "reasoning opener"), ("Let's break it down.", "reasoning opener"),
    ("Solución", "multilingual opener"), ("Lösung", "multilingual opener"), ("Réponse", "multilingual opener"),
    ("答案", "multilingual opener"), ("Ответ", "multilingual opener"), ("Risposta", "multilingual opener"),
    ("解答", "multilingual opener"), ("풀이", "multilingual opener"), ("Antwort:", "multilingual opener"),
)


def training_openers() -> KeySet:
    """The opener strings Master-RM training rows use (disjoint from every probe key list)."""
    keys = tuple(MasterKey(key=k, family=f) for k, f in TRAINING_OPENERS)
    return KeySet(keys=keys, source="judgekit training openers (not the bundled probe keys)")


@dataclass(frozen=True)
class AugmentStats:
    """What an augmentation run wrote."""

    originals: int
    adversarial: int
    first_sentence: int
    opener: int
    eligible: int
    ratio: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view."""
        return dict(vars(self))


def first_sentence(text: str) -> str | None:
    """Return the first sentence (or line) of a reasoning solution; None if it is the whole text."""
    stripped = text.strip()
    parts = [p.strip() for p in _SENTENCE_END.split(stripped) if p.strip()]
    if len(parts) < 2:
        return None
    return parts[0]


def _mentions(sentence: str, answer: str | None) -> bool:
    if not answer or not answer.strip():
        return False
    return re.search(rf"(?<![\w.]){re.escape(answer.strip())}(?![\w]|\.\d)", sentence) is not None


def _incorrect_like(value: Any) -> Any:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return 0
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return "false"
    return "incorrect"


def adversarial_row(
    row: Mapping[str, Any], cols: Columns, response: str, kind: str, serial: int, id_field: str | None
) -> dict[str, Any]:
    """Copy ``row`` with the response replaced by ``response``, labelled incorrect."""
    new = dict(row)
    new[cols.responses[0]] = response
    label_col = cols.label or "label"
    new[label_col] = _incorrect_like(row.get(label_col, "incorrect"))
    for name in STALE_FIELDS:
        if name in new:
            new[name] = None
    source = str(row[id_field]) if id_field and id_field in row else None
    if id_field and id_field in row:
        new[id_field] = f"{row[id_field]}-masterrm-{serial}"
    new["master_rm"] = {"kind": kind, "source_id": source}
    return new


def master_rm_rows(
    rows: Sequence[Mapping[str, Any]],
    cols: Columns,
    ratio: float,
    seed: int = 0,
    mode: Mode = "mixed",
    keys: KeySet | None = None,
) -> tuple[list[dict[str, Any]], AugmentStats]:
    """Originals plus ``round(ratio * len(rows))`` adversarial rows at seeded positions."""
    if ratio < 0:
        raise ValueError(f"ratio must be >= 0, got {ratio}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    openers = [k.key for k in (keys or bundled_keys()).keys]
    rng = random.Random(seed)
    id_field = cols.id or next((f for f in ("id", "idx", "sample_id", "uid") if rows and f in rows[0]), None)
    eligible = [i for i, r in enumerate(rows) if isinstance(r.get(cols.responses[0]), str)
                and first_sentence(r[cols.responses[0]]) is not None]
    wanted = round(ratio * len(rows))
    resp_col = cols.responses[0]

    def reference(i: int) -> str | None:
        value = rows[i].get(cols.reference) if cols.reference else None
        return None if value is None else str(value)

    clean_first = {i for i in eligible if not _mentions(first_sentence(rows[i][resp_col]) or "", reference(i))}
    pool = sorted(clean_first) if mode == "first-sentence" else eligible
    if wanted and not eligible:
        raise ValueError("no row has a multi-sentence reasoning solution to truncate")
    if mode == "first-sentence" and wanted > len(pool):
        raise ValueError(f"ratio {ratio} needs {wanted} first-sentence rows but only {len(pool)} rows qualify "
                         "(a first sentence must not state the reference answer); use --mode mixed or opener, "
                         "or a smaller ratio")
    adversarial: list[dict[str, Any]] = []
    used_first: set[int] = set()
    counts = {"first-sentence": 0, "opener": 0}
    order: list[int] = []
    while len(adversarial) < wanted:
        if not order:
            order = rng.sample(pool, len(pool))
        src = order.pop()
        want_first = mode == "first-sentence" or (mode == "mixed" and len(adversarial) % 2 == 0)
        if want_first and src in clean_first and src not in used_first:
            kind, text = "first-sentence", first_sentence(rows[src][resp_col]) or ""
            used_first.add(src)
        else:
            kind, text = "opener", rng.choice(openers)
        counts[kind] += 1
        adversarial.append(adversarial_row(rows[src], cols, text, kind, len(adversarial), id_field))
    total = len(rows) + len(adversarial)
    slots = set(rng.sample(range(total), len(adversarial)))
    originals, advs = iter(rows), iter(adversarial)
    mixed = [next(advs) if i in slots else dict(next(originals)) for i in range(total)]
    stats = AugmentStats(originals=len(rows), adversarial=len(adversarial), first_sentence=counts["first-sentence"],
                         opener=counts["opener"], eligible=len(eligible), ratio=ratio)
    return mixed, stats


def augment_master_rm(
    path: Path | str,
    out: Path | str,
    ratio: float,
    seed: int = 0,
    mode: Mode = "mixed",
    keys: KeySet | None = None,
    columns: Columns | None = None,
) -> AugmentStats:
    """Read a verification file, write originals + Master-RM rows to ``out`` (JSONL or JSON)."""
    path, out = Path(path), Path(out)
    rows = [row for _, row in read_rows(path)]
    if not rows:
        raise DataError(path, "no rows found")
    cols = columns or detect_columns(path, rows[0], "verify")
    try:
        mixed, stats = master_rm_rows(rows, cols, ratio, seed=seed, mode=mode, keys=keys)
    except ValueError as exc:
        raise DataError(path, str(exc)) from exc
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        if out.suffix.lower() == ".json":
            json.dump(mixed, fh, ensure_ascii=False, indent=1)
            fh.write("\n")
        else:
            for row in mixed:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    os.replace(tmp, out)
    return stats
