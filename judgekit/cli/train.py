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
from judgekit.options import JudgeOptions, build_protocol, build_runner, load_for_protocol
from judgekit.reward.server import ServerLimits, serve_until_interrupted
from judgekit.train.adapters import make_server
from judgekit.train.distill import distill, format_of, import_traces, prompt_rows, select_traces, write_jsonl
from judgekit.train.recipe.traces import rationalized_traces
from judgekit.train.rewards import JudgeReward, RewardConfig, load_reward_configs

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
    app.add_typer(train_app, name="train")
