"""CLI for robustness probing and hardening data: ``judgekit probe`` and ``judgekit augment``.

Thin commands over :mod:`judgekit.probe` and :mod:`judgekit.probe.augment`. ``probe``
takes every judge flag (``--protocol``, ``--model``, ``--method``, ``--option``...),
so it measures the judge exactly as ``judgekit judge`` would run it.

No ``from __future__ import annotations`` here on purpose: ``with_judge_options``
rebuilds the signature with ``inspect.signature(fn)``, which leaves string
annotations unevaluated, and typer would then lose the ``Annotated`` argument/option
metadata of this module's own parameters.
"""

import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from judgekit.cli.common import console, fail, out, progress_bar, user_errors
from judgekit.cli.options import with_judge_options
from judgekit.core.data import load_samples
from judgekit.core.errors import ConfigError
from judgekit.options import JudgeOptions, build_protocol, build_runner, load_for_protocol
from judgekit.probe import AttackSettings, build_report, load_keys, plan_probe, run_phase
from judgekit.probe.attacks import ATTACKS
from judgekit.probe.augment import MODES, augment_master_rm, training_openers
from judgekit.probe.report import markdown_table, plot_report, table_rows, write_json
from judgekit.protocols.defenses import config_defenses
from judgekit.train.distill import write_jsonl
from judgekit.train.recipe.build import normalised_row
from judgekit.train.recipe.crome import crome_pairwise, crome_verify
from judgekit.train.recipe.order import both_orders

augment_app = typer.Typer(no_args_is_help=True, help="Write training data augmentations (Master-RM, order, Crome).")
DEFAULT_BIAS_DATA = Path("evalbiasbench") / "evalbiasbench.jsonl"


def parse_lengths(text: str) -> tuple[int, ...]:
    """``"0,50,150,400"`` -> ``(0, 50, 150, 400)``; ConfigError when malformed."""
    try:
        lengths = tuple(sorted({int(p) for p in text.split(",") if p.strip()}))
    except ValueError as exc:
        raise ConfigError(f"--lengths {text!r}: expected comma-separated word counts like 0,50,150,400") from exc
    if not lengths or lengths[0] < 0:
        raise ConfigError(f"--lengths {text!r}: word counts must be >= 0")
    return lengths


def find_bias_data(explicit: Path | None) -> Path:
    """``--bias-data``, else ``$JUDGEKIT_SHARED_DATA`` or ``../shared/data`` (EvalBiasBench)."""
    if explicit is not None:
        return explicit
    roots = [Path(os.environ["JUDGEKIT_SHARED_DATA"])] if os.environ.get("JUDGEKIT_SHARED_DATA") else []
    roots += [Path.cwd().parent / "shared" / "data", Path(__file__).resolve().parents[3] / "shared" / "data"]
    for root in roots:
        if (root / DEFAULT_BIAS_DATA).is_file():
            return root / DEFAULT_BIAS_DATA
    raise ConfigError("bias-suite needs EvalBiasBench: pass --bias-data PATH/evalbiasbench.jsonl")


def _choose_protocol(opts: JudgeOptions, attacks: list[str]) -> tuple[JudgeOptions, str | None]:
    """Use ``verify`` when a verification-only attack runs and --protocol was left at its default."""
    from dataclasses import replace

    verify_only = [a for a in attacks if a in ATTACKS and ATTACKS[a].tasks == ("verify",)]
    if opts.protocol is None and verify_only:
        return replace(opts, protocol="verify"), f"{verify_only[0]} needs a verification protocol: using -p verify"
    return opts, None


def probe(
    file: Annotated[Path | None, typer.Argument(help="Items to attack (verification or pairwise, by attack).")] = None,
    attack: Annotated[list[str] | None, typer.Option(
        "--attack", "-a",
        help="master-keys, injection, position, verbosity, bias-suite, contrast (repeatable).")] = None,
    keys: Annotated[Path | None, typer.Option(help="Master keys: one per line, or JSON (default: bundled).")] = None,
    lengths: Annotated[str, typer.Option(help="verbosity: filler word counts.")] = "0,50,150,400",
    bias_data: Annotated[Path | None, typer.Option(help="bias-suite: evalbiasbench.jsonl.")] = None,
    bias_limit: Annotated[int | None, typer.Option(help="bias-suite: use only the first N items.")] = None,
    *,
    opts: JudgeOptions,
) -> None:
    """Attack a judge (FPR of master keys, injections, position, verbosity, bias suite); write probe.json/png/md."""
    attacks = list(attack or ["master-keys"])
    with user_errors():

        unknown = [a for a in attacks if a not in ATTACKS]
        if unknown:
            raise ConfigError(f"unknown attack(s) {', '.join(unknown)}; choose from {', '.join(ATTACKS)}")
        opts, note = _choose_protocol(opts, attacks)
        if note:
            console.print(f"[yellow]note:[/] {note}")
        proto = build_protocol(opts)
        needs_file = any(a != "bias-suite" for a in attacks)
        if needs_file and file is None:
            fail("FILE is required for every attack but bias-suite")
        samples = load_for_protocol(file, proto, opts) if needs_file and file is not None else []
        bias_samples = None
        if "bias-suite" in attacks:
            bias_samples = load_samples(find_bias_data(bias_data), task="pairwise", limit=bias_limit)
        key_set = load_keys(keys)
        settings = AttackSettings(keys=key_set, lengths=parse_lengths(lengths), seed=opts.seed)
        phases = plan_probe(samples, attacks, proto, settings, bias_samples)
        runner = build_runner(opts, console)
        probe_dir = opts.output or Path("runs") / f"probe-{file.stem if file else 'bias-suite'}-{proto.name}"
        probe_dir.mkdir(parents=True, exist_ok=True)
        results = []
        for phase in phases:
            with progress_bar(f"{phase.attack.name} [{phase.defense}]") as update:
                results.append(run_phase(phase, runner, probe_dir, progress=update, resume=opts.resume))
        meta: dict[str, Any] = {
            "model_id": runner.backend.model_id, "protocol": proto.name, "method": proto.config.method,
            "input": str(file) if file else None, "items": len(samples), "seed": opts.seed,
            "defenses": list(config_defenses(proto.config)) if proto.task == "verify" else [],
            "keys": {"source": key_set.source, "count": len(key_set.keys)} if "master-keys" in attacks else None,
            "runner": vars(runner.stats),
        }
        report = build_report(results, meta)
        write_json(report, probe_dir / "probe.json")
        (probe_dir / "probe.md").write_text(markdown_table(report) + "\n", encoding="utf-8")
        plot_report(report, probe_dir / "probe.png")
    headers, rows = table_rows(report, compact=True)
    table = Table(title=f"judgekit probe: {meta['model_id']} ({proto.name}, {proto.config.method})",
                  header_style="bold", show_lines=False)
    for h in headers:
        table.add_column(h, justify="left" if h in ("attack", "metric", "name") else "right",
                         overflow="fold")
    for row in rows:
        table.add_row(*row)
    out.print(table)
    console.print(f"report: {probe_dir / 'probe.json'}  chart: {probe_dir / 'probe.png'}  "
                  f"table: {probe_dir / 'probe.md'}")


@augment_app.command("master-rm")
def master_rm(
    file: Annotated[Path, typer.Argument(help="Verification rows with reasoning solutions (JSONL/JSON/...).")],
    ratio: Annotated[float, typer.Option(help="Adversarial rows per original row (0.125 = the paper's 20k:160k).")],
    out_path: Annotated[Path, typer.Option("--out", "-o", help="Output file (.jsonl or .json).")],
    seed: Annotated[int, typer.Option(help="Seed for sources, openers and positions.")] = 0,
    mode: Annotated[str, typer.Option(help="mixed, first-sentence or opener.")] = "mixed",
    keys: Annotated[Path | None, typer.Option(
        help="Opener strings, one per line or JSON (default: judgekit's training openers, which are not the "
             "bundled probe keys, so `judgekit probe -a master-keys` stays a held-out test).")] = None,
) -> None:
    """Mix Master-RM adversarial negatives (reasoning openers labelled incorrect) into FILE's rows."""
    if mode not in MODES:
        fail(f"--mode {mode!r}: choose from {', '.join(MODES)}")
    if ratio < 0:
        fail(f"--ratio {ratio}: must be >= 0")
    with user_errors():
        stats = augment_master_rm(file, out_path, ratio, seed=seed, mode=mode,  # type: ignore[arg-type]
                                  keys=load_keys(keys) if keys else training_openers())
    out.print(f"{stats.originals} original rows + {stats.adversarial} adversarial rows "
              f"({stats.first_sentence} first-sentence, {stats.opener} opener) -> {out_path}")
    console.print(f"{stats.eligible} rows had a multi-sentence reasoning solution")


@augment_app.command("order")
def order_cmd(
    file: Annotated[Path, typer.Argument(help="Labelled pairwise rows (any schema `judgekit judge` reads).")],
    out_path: Annotated[Path, typer.Option("--out", "-o", help="Output JSONL: prompt/response_a/response_b/label.")],
) -> None:
    """Write every pair in both orders (ID:AB, ID:BA), the label swapped with the order: A/B balanced."""
    with user_errors():
        rows = [normalised_row(s, file.stem) for s in both_orders(load_samples(file, "pairwise"))]
        write_jsonl(out_path, rows)
    counts = {lab: sum(r["label"] == lab for r in rows) for lab in ("A", "B", "tie")}
    out.print(f"{len(rows)} rows ({counts['A']} A, {counts['B']} B, {counts['tie']} tie) -> {out_path}")


@augment_app.command("crome")
def crome_cmd(
    file: Annotated[Path, typer.Argument(help="Labelled pairwise or verification rows.")],
    out_path: Annotated[Path, typer.Option("--out", "-o", help="Output JSONL: the originals plus counterfactuals.")],
    task: Annotated[str, typer.Option(help="pairwise or verify.")] = "pairwise",
    seed: Annotated[int, typer.Option(help="Seed for the interventions.")] = 0,
) -> None:
    """Add Crome counterfactuals by rule: causal (a degraded response loses) and neutral (a spurious change ties)."""
    from collections import Counter


    if task not in ("pairwise", "verify"):
        fail(f"--task {task!r}: choose pairwise or verify")
    with user_errors():
        samples = load_samples(file, task)  # type: ignore[arg-type]
        extra = crome_verify(samples, seed) if task == "verify" else crome_pairwise(samples, seed)
        rows = [normalised_row(s, file.stem) for s in [*samples, *extra]]
        write_jsonl(out_path, rows)
    kinds = Counter(str(r["augment"]["kind"]) for r in rows)
    out.print(f"{len(samples)} originals + {len(extra)} counterfactuals {dict(kinds)} -> {out_path}")


def register(app: typer.Typer) -> None:
    """Add ``probe`` and the ``augment`` group to the main app."""
    app.command("probe")(with_judge_options(probe))
    app.add_typer(augment_app, name="augment")
