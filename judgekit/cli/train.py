"""``judgekit train distill`` and ``judgekit train serve-reward``.

SFT and GRPO themselves are the scripts in ``training/`` (TRL trainers driven by
YAML configs); these commands cover the two steps that need judgekit's judging
stack: generating filtered traces with any backend/protocol as the teacher, and
serving judgekit's rewards to other RL trainers over HTTP.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from judgekit.cli.common import console, user_errors
from judgekit.cli.common import out as stdout
from judgekit.cli.options import with_judge_options
from judgekit.cli.reward import token_from_env
from judgekit.core.errors import ConfigError
from judgekit.options import VERDICT_PROTOCOL, JudgeOptions, build_protocol, build_runner, load_for_protocol, resolved
from judgekit.reward.server import ServerLimits, serve_until_interrupted
from judgekit.train.adapters import make_server
from judgekit.train.distill import distill, format_of, import_traces, prompt_rows, select_traces, write_jsonl
from judgekit.train.recipe.traces import rationalized_traces
from judgekit.train.rewards import JudgeReward, RewardConfig, load_reward_configs
from judgekit.train.rm import RMOptions, train_rm
from judgekit.train.rm_data import DEFAULT_SPLIT, PAIR_SOURCES, data_dir_problem, shared_data_dir

train_app = typer.Typer(no_args_is_help=True, help="Train reasoning reward models: distill traces, serve rewards.")


def distill_cmd(
    file: Annotated[Path, typer.Argument(help="Labeled pairwise or verification file (the teacher's input).")],
    opts: JudgeOptions,
    traces: Annotated[
        Path | None,
        typer.Option(help="Import traces instead of generating: {id, order, trace} rows or a results.jsonl."),
    ] = None,
    max_per_prompt: Annotated[int | None, typer.Option(help="Keep at most N distinct traces per prompt.")] = None,
) -> None:
    """Sample --samples traces per item and order, keep label-consistent ones, write an SFT set.

    The SFT dataset (prompt/completion JSONL) goes to -o/--out, default runs/distill/sft.jsonl.
    """
    out = opts.output or Path("runs/distill/sft.jsonl")
    opts = resolved(opts, VERDICT_PROTOCOL)  # verdict traces: the generative pairwise judge unless -p says
    with user_errors():
        proto = build_protocol(opts)
        samples = load_for_protocol(file, proto, opts)
        if traces is not None:
            rows = prompt_rows(samples, proto)
            result = select_traces(rows, import_traces(traces), format_of(proto), max_per_prompt)
        else:
            runner = build_runner(opts, console)
            console.print(f"teacher: {opts.backend} {runner.backend.model_id}; {proto.config.samples} sample(s) "
                          f"per item and order, temperature {proto.config.temperature}")
            result = distill(samples, proto, runner, max_per_prompt)
        write_jsonl(out, result.records)
        report_path = out.with_suffix(".report.json")
        report_path.write_text(json.dumps(result.report.to_dict(), indent=2) + "\n", encoding="utf-8")
    report = result.report
    stdout.print(f"kept {report.traces_kept} of {report.traces} traces from {report.items_kept} of "
                 f"{report.items} items; rejected: {dict(report.rejected) or 'none'}")
    console.print(f"SFT data: {out}  report: {report_path}")
    if not result.records:
        console.print("[yellow]no trace survived the filter: try more --samples or a stronger teacher[/]")


def serve_reward(
    config: Annotated[Path | None, typer.Option(help="Reward YAML (a `reward:` mapping or `rewards:` list).")] = None,
    reward_format: Annotated[
        str | None, typer.Option("--format", help="Verdict format, overriding the config: pairwise, verify, rm-r1.")
    ] = None,
    host: Annotated[str, typer.Option(help="Interface to bind; 127.0.0.1 keeps it local.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (OpenRLHF: --remote_rm_url http://HOST:PORT/get_reward).")] = 5000,
    token_env: Annotated[str, typer.Option(help="Variable holding a bearer token; needed off loopback.")] = "",
) -> None:
    """Serve judgekit's verdict reward as an OpenRLHF-style remote reward model."""
    from dataclasses import asdict


    with user_errors():
        configs = load_reward_configs(config)
        chosen = configs[0]
        if reward_format:
            chosen = RewardConfig.from_dict({**asdict(chosen), "format": reward_format})
        server = make_server(JudgeReward(chosen), host=host, port=port,
                             limits=ServerLimits(batch_window_s=0, token=token_from_env(token_env)))
    bound_host, bound_port = str(server.server_address[0]), int(server.server_address[1])
    console.print(f"serving reward {chosen.name!r} ({chosen.format}) at http://{bound_host}:{bound_port}/get_reward"
                  " - Ctrl-C to stop")
    if len(configs) > 1:
        console.print(f"[yellow]only the first of {len(configs)} rewards is served[/]")
    serve_until_interrupted(server)
    console.print("stopped")


def rationalize_cmd(
    file: Annotated[Path, typer.Argument(help="Labelled pairwise or verification file.")],
    opts: JudgeOptions,
) -> None:
    """Label-conditioned rationalization (STaR): the model sees the gold verdict and writes the reasoning line.

    Decoding is constrained to end in the gold verdict and each trace is read back by
    the evaluation parser; the rest are dropped. --backend/--model pick the trace
    writer (the student itself, or a stronger teacher behind any backend). The traces
    ({id, order, trace} JSONL) go to -o/--out, default runs/rationalize/traces.jsonl.
    """
    opts = resolved(opts, VERDICT_PROTOCOL)  # traces that end in a verdict: pairwise unless -p says
    with user_errors():
        proto = build_protocol(opts)
        if proto.task not in ("pairwise", "verify"):
            raise ConfigError(f"rationalize supports the pairwise and verify tasks, not {proto.task!r}")
        samples = load_for_protocol(file, proto, opts)
        runner = build_runner(opts, console)
        rows, counts = rationalized_traces(samples, proto.task, runner, opts.max_new_tokens, opts.seed)
        out = opts.output or Path("runs/rationalize/traces.jsonl")
        write_jsonl(out, rows)
    stdout.print(f"kept {counts['kept']} of {counts['prompts']} traces (dropped {counts['dropped']}) -> {out}")


def register(app: typer.Typer) -> None:
    """Attach ``judgekit train distill|rationalize|serve-reward`` to the main app."""
    train_app.command("distill")(with_judge_options(distill_cmd))
    train_app.command("rationalize")(with_judge_options(rationalize_cmd))
    train_app.command("serve-reward")(serve_reward)
    train_app.command("rm")(rm_cmd)
    app.add_typer(train_app, name="train")


def rm_cmd(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory (a HF sequence-classification model).")]
    = Path("runs/rm"),
    model: Annotated[str | None, typer.Option(help="Base model (default: the embedded SmolLM2-135M).")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Shared data folder (default $JUDGEKIT_SHARED_DATA).")] = None,
    split: Annotated[Path, typer.Option(help="Split file; only its training side is trained on.")]
    = DEFAULT_SPLIT,
    sources: Annotated[str, typer.Option(help="Comma-separated pairwise sources.")] = ",".join(PAIR_SOURCES),
    limit: Annotated[int | None, typer.Option(help="Train on a seeded subset of N pairs.")] = None,
    epochs: Annotated[float, typer.Option(help="Passes over the pairs (ignored with --max-steps).")] = 1.0,
    max_steps: Annotated[int | None, typer.Option(help="Optimizer steps (overrides --epochs).")] = None,
    learning_rate: Annotated[float, typer.Option(help="Learning rate.")] = 1e-4,
    batch_size: Annotated[int, typer.Option(help="Pairs per step.")] = 4,
    max_length: Annotated[int, typer.Option(help="Longest conversation in tokens; longer pairs are dropped.")] = 512,
    lora_r: Annotated[int, typer.Option(help="LoRA rank (0: full fine-tune).")] = 16,
    margin: Annotated[float, typer.Option(help="BT margin: loss -log s(r_c - r_r - margin).")] = 0.0,
    length_balance: Annotated[bool, typer.Option(help="As many chosen-longer as chosen-shorter pairs.")] = False,
    noise: Annotated[float, typer.Option(help="Flip a seeded fraction of training labels (robustness runs).")] = 0.0,
    label_smoothing: Annotated[float, typer.Option(help="Label-smoothed BT loss, eps in [0, 0.5).")] = 0.0,
    collaborative: Annotated[bool, typer.Option(help="Two peer RMs filter each other's implausible pairs.")] = False,
    drop: Annotated[float, typer.Option(help="--collaborative: fraction of each half the peer drops.")] = 0.2,
    seed: Annotated[int, typer.Option(help="Seed of subsets, noise, halves and training.")] = 0,
    evaluate: Annotated[bool, typer.Option("--eval/--no-eval", help="Score the held-out side afterwards.")] = True,
    eval_limit: Annotated[int | None, typer.Option(help="Evaluate on a seeded subset of N held-out pairs.")] = None,
) -> None:
    """Train a Bradley-Terry scalar reward model (TRL RewardTrainer) on the shared data's training side."""
    with user_errors():
        shared = shared_data_dir(data_dir)
        names = tuple(s.strip() for s in sources.split(",") if s.strip())
        problem = data_dir_problem(shared, names)
        if problem is not None:
            flag = "--data-dir" if data_dir is not None else "$JUDGEKIT_SHARED_DATA (or ../shared/data)"
            raise ConfigError(f"{flag} {problem}")
        if not split.is_file():
            raise ConfigError(f"--split {split}: not found")
        opts = RMOptions(model=model, sources=names,
                         limit=limit, epochs=epochs, max_steps=max_steps, learning_rate=learning_rate,
                         batch_size=batch_size, max_length=max_length, lora_r=lora_r, margin=margin,
                         length_balance=length_balance, noise=noise, label_smoothing=label_smoothing,
                         collaborative=collaborative, drop=drop, seed=seed, eval_limit=eval_limit)
        report = train_rm(shared, split, out, opts, evaluate=evaluate, log=console.print)
    stdout.print(f"reward model: {out}  (judge with: judgekit judge FILE -p scalar-rm --model {out})")
    ev = report.get("eval")
    if ev:
        rows = ev["rows"]
        for name, row in rows.items():
            stdout.print(f"  {name:13s} acc {_f(row['accuracy'])} [{_f(row['ci95'][0])}, {_f(row['ci95'][1])}] "
                         f"n={row['n']}  length-controlled {_f(row['length_controlled'])}")
        verdict = "beats" if ev["beats_best_baseline"] else "does NOT beat"
        stdout.print(f"  the RM {verdict} the best baseline ({ev['best_baseline']}) beyond its 95% interval")


def _f(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"
