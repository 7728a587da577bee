"""``judgekit esfp train|compare``: train the ESFP-RM slot model and run the paper's comparison.

Both commands take the shared judge flags; the backend/model they name writes the
stage-1 explanations (and, for ``compare``, is the generative judge of row (d)).
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from judgekit.cli.common import console, out, progress_bar, summary_table, user_errors
from judgekit.cli.common import out as stdout
from judgekit.cli.options import with_judge_options
from judgekit.core.data import load_samples
from judgekit.core.errors import ConfigError
from judgekit.esfp.compare import markdown_table, run_compare
from judgekit.esfp.slots import Layout
from judgekit.esfp.train import (
    TrainConfig,
    explain_samples,
    preference_pairs,
    read_explanations,
    train,
    write_explanations,
)
from judgekit.options import VERDICT_PROTOCOL, JudgeOptions, build_runner, judge_config, refuse_unsupported, resolved

esfp_app = typer.Typer(no_args_is_help=True, help="ESFP-RM: explanation + masked-LM slot-prediction reward model.")

Files = Annotated[list[Path], typer.Argument(help="Pairwise data files (ties and unlabelled items are dropped).")]
ExplFile = Annotated[Path | None, typer.Option("--explanations", help="JSONL {id, explanations} instead of stage 1.")]
Encoder = Annotated[str | None, typer.Option("--encoder", help="Masked-LM checkpoint dir; default: embedded MiniLM.")]
Epochs = Annotated[int, typer.Option(help="Training epochs.")]
Lr = Annotated[float, typer.Option(help="Learning rate (AdamW, linear decay).")]
TrainBatch = Annotated[int, typer.Option(help="Training / scoring batch size.")]
EvalFrac = Annotated[float, typer.Option(help="Held-out fraction (fixed-seed split, --seed).")]
MaxLen = Annotated[int, typer.Option(help="Encoder input length in tokens.")]
ExplMax = Annotated[int, typer.Option(help="Tokens kept per explanation.")]
Policy = Annotated[str, typer.Option(help="How long responses are cut: head or head_tail.")]
ExplTokens = Annotated[int, typer.Option(help="Stage-1 explanation length (new tokens).")]
PerFile = Annotated[int | None, typer.Option(help="Random subsample of N pairs per file (seeded).")]
Pointwise = Annotated[bool, typer.Option("--pointwise/--no-pointwise", help="Also train the pointwise slot.")]


def load_pairs(files: list[Path], opts: JudgeOptions, per_file: int | None) -> tuple[list[Any], dict[str, int]]:
    """Load each file as pairwise samples (ids prefixed with the file stem), drop ties, subsample."""
    out = []
    dropped: dict[str, int] = {}
    for f in files:
        samples = [replace(s, id=f"{f.stem}:{s.id}") for s in load_samples(f, task="pairwise", limit=opts.limit)]
        pairs, why = preference_pairs(samples)
        for k, v in why.items():
            dropped[k] = dropped.get(k, 0) + v
        if per_file is not None and len(pairs) > per_file:
            pairs = random.Random(opts.seed).sample(sorted(pairs, key=lambda s: s.id), per_file)
        out += pairs
    return out, dropped


def _train_config(opts: JudgeOptions, epochs: int, lr: float, batch: int, eval_fraction: float,
                  max_length: int, explanation_max: int, policy: str, use_explanation: bool,
                  pointwise: bool = True) -> Any:

    if policy not in ("head", "head_tail"):
        raise ConfigError(f"--policy {policy!r}: choose head or head_tail")
    return TrainConfig(epochs=epochs, lr=lr, batch_size=batch, seed=opts.seed, eval_fraction=eval_fraction,
                       use_explanation=use_explanation, pointwise=pointwise,
                       layout=Layout(max_length=max_length, explanation_max=explanation_max, policy=policy))  # type: ignore[arg-type]


@esfp_app.command("train")
@with_judge_options
def train_cmd(
    data: Files, opts: JudgeOptions, explanations: ExplFile = None,
    explain: Annotated[bool, typer.Option("--explain/--no-explanation", help="Use stage-1 explanations.")] = True,
    encoder: Encoder = None, epochs: Epochs = 3, lr: Lr = 5e-5, train_batch_size: TrainBatch = 8,
    eval_fraction: EvalFrac = 0.2, max_length: MaxLen = 384, explanation_max: ExplMax = 96, policy: Policy = "head",
    explain_tokens: ExplTokens = 64, per_file: PerFile = None, pointwise: Pointwise = True,
) -> None:
    """Fine-tune the masked LM on DATA (stage-1 explanations generated or read), evaluate, save to -o DIR."""
    out = opts.output or Path("runs/esfp-model")
    opts = resolved(opts, VERDICT_PROTOCOL)  # stage-1 explanations and (d) need a generative judge
    with user_errors():
        refuse_unsupported(opts, "esfp train", "sample")
        cfg = _train_config(opts, epochs, lr, train_batch_size, eval_fraction, max_length, explanation_max,
                            policy, explain, pointwise)
        samples, dropped = load_pairs(data, opts, per_file)
        console.print(f"{len(samples)} labelled pairs from {len(data)} file(s); dropped {dropped}")
        expl = None
        explainer: dict[str, Any] = {}
        if explain and explanations is not None:
            expl = read_explanations(explanations)
            explainer = {"file": str(explanations)}
        elif explain:
            runner = build_runner(opts, console)
            explainer = {"backend": opts.backend, "model_id": runner.backend.model_id, "max_new_tokens": explain_tokens}
            console.print(f"stage 1: explaining {2 * len(samples)} responses with {runner.backend.model_id}")
            expl = explain_samples(samples, runner, explain_tokens)
        out.mkdir(parents=True, exist_ok=True)
        if expl is not None:
            write_explanations(out / "explanations.jsonl", {s.id: expl[s.id] for s in samples if s.id in expl})
        with progress_bar("training the slot model") as update:
            model, metrics = train(samples, expl, cfg, encoder, explainer, lambda k, n, _loss: update(k, n))
        model.save(out)
    _print_metrics(metrics)
    console.print(f"saved: {out}  (use: judgekit judge FILE --protocol esfp --esfp-model {out})")


def _print_metrics(metrics: dict[str, Any]) -> None:
    ev = metrics.get("eval", {})
    acc = ev.get("accuracy") or {}
    summary = {"items": ev.get("n"), "accuracy": acc.get("value"), "accuracy_ci95": acc.get("ci"),
               "position_consistency": ev.get("consistent_rate"), "judgments_per_s": ev.get("pairs_per_s")}
    out.print(summary_table(summary, title="ESFP held-out metrics"))
    out.print(json.dumps({"train": metrics.get("train"), "data": metrics.get("data")}, indent=1))


@esfp_app.command("compare")
@with_judge_options
def compare_cmd(
    data: Files, opts: JudgeOptions, explanations: ExplFile = None,
    encoder: Encoder = None, epochs: Epochs = 3, lr: Lr = 5e-5, train_batch_size: TrainBatch = 8,
    eval_fraction: EvalFrac = 0.2, max_length: MaxLen = 384, explanation_max: ExplMax = 96, policy: Policy = "head",
    explain_tokens: ExplTokens = 64, per_file: PerFile = None, pointwise: Pointwise = False,
) -> None:
    """(a) explanation+slot, (b) slot only, (c) classification head, (d) generative judge: one table (-o DIR)."""
    out = opts.output or Path("runs/esfp-compare")
    opts = resolved(opts, VERDICT_PROTOCOL)  # stage-1 explanations and (d) need a generative judge
    with user_errors():
        refuse_unsupported(opts, "esfp compare", "sample")
        cfg = _train_config(opts, epochs, lr, train_batch_size, eval_fraction, max_length, explanation_max,
                            policy, True, pointwise)
        samples, dropped = load_pairs(data, opts, per_file)
        console.print(f"{len(samples)} labelled pairs; dropped before the split: {dropped}")
        runner = build_runner(opts, console)
        expl = read_explanations(explanations) if explanations is not None else None
        start = time.perf_counter()
        result = run_compare(samples, runner, cfg, judge_config(opts), explain_tokens, encoder, expl,
                             on_event=lambda msg: console.print(msg))
        elapsed = time.perf_counter() - start
    out.mkdir(parents=True, exist_ok=True)
    write_explanations(out / "explanations.jsonl", result["explanations"])
    result["models"]["a"].save(out / "esfp-model")
    report = {k: v for k, v in result.items() if k not in ("models", "explanations")}
    report["elapsed_s"] = round(elapsed, 1)
    report["runner"] = vars(runner.stats)
    (out / "compare.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    (out / "compare.md").write_text(markdown_table(report["rows"]) + "\n")
    table = Table(title="ESFP comparison (held-out)", header_style="bold")
    for col in ("method", "accuracy", "95% CI", "n", "pairs / s", "consistent"):
        table.add_column(col)
    for r in report["rows"]:
        table.add_row(r["method"], f"{r['accuracy']:.3f}", f"[{r['ci_low']:.3f}, {r['ci_high']:.3f}]", str(r["n"]),
                      f"{r['judgments_per_s']:.2f}" if r["judgments_per_s"] else "-",
                      f"{r['consistent_rate']:.2f}" if r["consistent_rate"] is not None else "-")
    stdout.print(table)
    console.print(f"written: {out / 'compare.json'}, {out / 'compare.md'}, model (a) in {out / 'esfp-model'}")


def register(app: typer.Typer) -> None:
    """Add the ``esfp`` command group to the main app."""
    app.add_typer(esfp_app, name="esfp")
