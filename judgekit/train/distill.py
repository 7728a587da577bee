"""Distil judge traces into an SFT dataset, keeping only traces that agree with the label.

A teacher (any backend + single-turn protocol: the embedded model for
self-distillation, a larger local model, an OpenAI-compatible server) writes ``k``
sampled traces per item and presentation order. Rejection sampling then keeps a
trace only when

* its verdict, read by the protocol's own format parser, equals the label in the
  order the teacher saw (for the swapped order the label is swapped too), and
* the teacher got the item right in **every** order it was shown (at least one
  matching trace per order), so the dataset never teaches a position-biased call.

Traces can also come from a file (:func:`import_traces`): rows ``{id, order,
trace}`` or a judgekit ``results.jsonl`` from a run with ``--samples k``.
The output rows are TRL prompt/completion records in conversational form (the
prompt is the chat messages judgekit's templates render, the completion the
trace), so any student tokenizer can apply its own chat template.
"""

from __future__ import annotations

import inspect
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from judgekit.core.errors import ConfigError
from judgekit.core.formats import Format, swap_pairwise
from judgekit.core.runner import Runner
from judgekit.core.types import ParseFailure, Prompt, Sample
from judgekit.protocols.base import Protocol
from judgekit.train.rewards import resolve_format

TraceKey = tuple[str, bool]  # (item id, swapped)


@dataclass(frozen=True)
class TrainPrompt:
    """One rendered judge prompt with its label in the order shown to the model."""

    item_id: str
    swapped: bool
    prompt: Prompt
    label: str | None

    @property
    def order(self) -> str:
        """``"AB"`` or ``"BA"``."""
        return "BA" if self.swapped else "AB"

    def messages(self) -> list[dict[str, str]]:
        """The chat messages as TRL conversational dicts."""
        return [{"role": m.role, "content": m.content} for m in self.prompt.messages]


@dataclass(frozen=True)
class DistillReport:
    """What rejection sampling kept and why it rejected the rest."""

    items: int
    items_kept: int
    traces: int
    traces_kept: int
    rejected: Mapping[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view."""
        d = asdict(self)
        d["rejected"] = dict(self.rejected)
        d["keep_rate"] = self.traces_kept / self.traces if self.traces else None
        return d


@dataclass(frozen=True)
class DistillResult:
    """SFT records (prompt/completion) and the kept/rejected report."""

    records: tuple[dict[str, Any], ...]
    report: DistillReport


def format_of(protocol: Protocol) -> Format:
    """The verdict format the protocol parses with."""
    return protocol.verdict_format or resolve_format(protocol.name)


def prompt_rows(samples: Sequence[Sample], protocol: Protocol, both_orders: bool | None = None) -> list[TrainPrompt]:
    """Render every sample (in both orders for pairwise protocols) with the protocol's templates."""
    if protocol.config.method != "generative":
        raise ConfigError("training data needs generative traces: use --method generative")
    render = getattr(protocol, "prompt", None)
    if render is None:
        raise ConfigError(f"protocol {protocol.name!r} is multi-turn; distil with a single-turn protocol "
                          "(pairwise, verify, pointwise, rm-r1)")
    params = list(inspect.signature(render).parameters)
    both = protocol.config.both_orders if both_orders is None else both_orders
    rows: list[TrainPrompt] = []
    for s in samples:
        if protocol.task == "pairwise" and params[:2] == ["sample", "swapped"]:
            for swapped in (False, True) if both else (False,):
                label = swap_pairwise(s.label) if swapped else s.label
                rows.append(TrainPrompt(s.id, swapped, render(s, swapped), label))
        elif protocol.task == "pointwise":
            rows.append(TrainPrompt(s.id, False, render(s, s.responses[0]), s.label))
        elif params == ["sample"]:
            rows.append(TrainPrompt(s.id, False, render(s), s.label))
        else:
            raise ConfigError(f"protocol {protocol.name!r} is not a single-turn protocol distillation supports")
    return rows


def generate_traces(rows: Sequence[TrainPrompt], protocol: Protocol, runner: Runner) -> dict[TraceKey, list[str]]:
    """``config.samples`` traces per prompt from the teacher, one batched call."""
    fmt = format_of(protocol)
    params = protocol.config.params(fmt.constraint())
    outputs = runner.generate([r.prompt for r in rows], params)
    return {(r.item_id, r.swapped): [g.text for g in gens] for r, gens in zip(rows, outputs, strict=True)}


def select_traces(
    rows: Sequence[TrainPrompt],
    traces: Mapping[TraceKey, Sequence[str]],
    fmt: Format,
    max_per_prompt: int | None = None,
) -> DistillResult:
    """Rejection sampling: keep label-matching traces of items right in every order."""
    by_item: dict[str, list[TrainPrompt]] = {}
    for r in rows:
        by_item.setdefault(r.item_id, []).append(r)
    rejected: Counter[str] = Counter()
    records: list[dict[str, Any]] = []
    total = items_kept = 0
    for item_id, group in by_item.items():
        matches: dict[bool, list[str]] = {}
        for r in group:
            texts = list(traces.get((item_id, r.swapped), ()))
            total += len(texts)
            if not texts:
                rejected["prompts without traces"] += 1
            if r.label is None:
                rejected["no label"] += len(texts)
                matches[r.swapped] = []
                continue
            good = []
            for text in texts:
                parsed = fmt.parse(text)
                if isinstance(parsed, ParseFailure):
                    rejected["parse failure"] += 1
                elif parsed.label != r.label:
                    rejected["wrong verdict"] += 1
                else:
                    good.append(text)
            matches[r.swapped] = good
        if not all(matches.get(r.swapped) for r in group):
            rejected["other order wrong"] += sum(len(v) for v in matches.values())
            continue
        items_kept += 1
        for r in group:
            keep = list(dict.fromkeys(matches[r.swapped]))  # distinct traces, first-seen order
            rejected["duplicate"] += len(matches[r.swapped]) - len(keep)
            if max_per_prompt is not None:
                rejected["over max_per_prompt"] += max(0, len(keep) - max_per_prompt)
                keep = keep[:max_per_prompt]
            records.extend(sft_record(r, t) for t in keep)
    report = DistillReport(items=len(by_item), items_kept=items_kept, traces=total, traces_kept=len(records),
                           rejected={k: v for k, v in sorted(rejected.items()) if v})
    return DistillResult(records=tuple(records), report=report)


def sft_record(row: TrainPrompt, trace: str) -> dict[str, Any]:
    """One TRL conversational prompt/completion record (plus provenance columns)."""
    return {
        "id": f"{row.item_id}:{row.order}",
        "item_id": row.item_id,
        "order": row.order,
        "swapped": row.swapped,
        "label": row.label,
        "template": row.prompt.template,
        "template_hash": row.prompt.template_hash,
        "prompt": row.messages(),
        "completion": [{"role": "assistant", "content": trace.strip()}],
    }


def distill(
    samples: Sequence[Sample], protocol: Protocol, runner: Runner, max_per_prompt: int | None = None
) -> DistillResult:
    """Generate ``config.samples`` traces per item and order, then filter them."""
    rows = prompt_rows(samples, protocol)
    traces = generate_traces(rows, protocol, runner)
    return select_traces(rows, traces, format_of(protocol), max_per_prompt)


def import_traces(path: Path | str) -> dict[TraceKey, list[str]]:
    """Read traces from ``{id, order, trace}`` rows or a judgekit ``results.jsonl``.

    A results file contributes every raw sample of every ``verdict`` turn, matched to
    its order through ``per_order``. Rows without text are skipped.
    """
    out: dict[TraceKey, list[str]] = {}
    with Path(path).open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{path}:{lineno}: not JSON ({exc.msg})") from exc
            for key, text in _row_traces(row):
                if text.strip():
                    out.setdefault(key, []).append(text)
    return out


def _row_traces(row: Mapping[str, Any]) -> Iterable[tuple[TraceKey, str]]:
    if isinstance(row.get("trace"), list) and "sample_id" in row:  # judgekit results.jsonl
        orders = [str(p.get("order", "AB")) for p in row.get("per_order") or []]
        turns = [t for t in row["trace"] if t.get("name") == "verdict"]
        for i, turn in enumerate(turns):
            swapped = (orders[i] if i < len(orders) else "AB") == "BA"
            raw = (turn.get("parsed") or {}).get("raw") or [turn.get("output", "")]
            for text in raw:
                yield (str(row["sample_id"]), swapped), str(text)
        return
    text = row.get("trace", row.get("completion", row.get("output")))
    if isinstance(text, list):
        text = "".join(str(m.get("content", "")) for m in text if isinstance(m, Mapping))
    if "id" not in row or not isinstance(text, str):
        raise ConfigError("trace rows need 'id' and 'trace' (or 'completion'/'output') fields")
    yield (str(row["id"]), str(row.get("order", "AB")).upper() == "BA"), text


def write_jsonl(path: Path | str, records: Iterable[Mapping[str, Any]]) -> int:
    """Write records as JSON lines; returns how many."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
            n += 1
    return n
