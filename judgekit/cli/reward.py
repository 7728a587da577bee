"""``judgekit reward`` and ``judgekit reward-serve``: a judge as a policy's reward.

``judgekit reward FILE -o DIR`` scores rows ``id, prompt, completion[, reference]``
with exactly the reward a trainer gets from :mod:`judgekit.reward.policy_adapters`;
``judgekit reward-serve`` serves it to OpenRLHF (``--remote_rm_url``). Without
``-p`` rows with a reference answer get the hybrid verifier's reward (``-p verify``): a
completion is checked against the reference by the rules first and by the model only
where the rules cannot read it, so a correct solution gets 1.0 and a bare ``":"`` 0.0.
``judgekit reward`` on rows without references follows ``judgekit judge``'s pairwise
default: its pointwise twin ``pmi-pointwise`` on the raw base (``pointwise``, the 1-10
score, when ``--model``/``--method`` name a verdict judge). ``reward-serve`` cannot see
its requests in advance and keeps the verifier (``-p pmi-pointwise`` for the other).
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from judgekit.cli.common import console, fail, out, progress_bar, summary_table, user_errors
from judgekit.cli.options import with_judge_options
from judgekit.options import DEFAULT_PROTOCOL, JudgeOptions, default_protocol, protocol_of, refuse_unsupported
from judgekit.reward.policy import load_reward_items, run_reward_file
from judgekit.reward.policy_adapters import (
    DEFAULT_REWARD_PROTOCOL,
    OpenRLHFJudgeService,
    policy_reward_from_options,
)
from judgekit.reward.server import ServerLimits, make_reward_server, serve_until_interrupted

#: The reward of a row without a reference: the pointwise twin of the pairwise default.
POINTWISE_DEFAULT = f"{DEFAULT_PROTOCOL}-pointwise"


def reward_cmd(
    file: Annotated[Path, typer.Argument(help="JSONL/JSON/CSV/Parquet rows: id, prompt, completion[, reference].")],
    opts: JudgeOptions,
    completion_col: Annotated[str, typer.Option(help="Column holding the policy completion.")] = "completion",
) -> None:
    """Score policy completions with a judge: rewards.jsonl (one row per input id), summary, manifest."""
    with user_errors():
        refuse_unsupported(opts, "reward", "sample")
        if opts.protocol is None:
            rows = load_reward_items(file, False, prompt_col=opts.prompt_col or "prompt",
                                     completion_col=completion_col, reference_col=opts.reference_col or "reference",
                                     id_col=opts.id_col or "id", limit=opts.limit)
            opts = reward_defaults(opts, has_reference=any(r.reference for r in rows))
        reward = policy_reward_from_options(opts)
        items = load_reward_items(file, reward.needs_reference, prompt_col=opts.prompt_col or "prompt",
                                  completion_col=completion_col, reference_col=opts.reference_col or "reference",
                                  id_col=opts.id_col or "id", limit=opts.limit)
        run_dir = opts.output or Path("runs") / f"{file.stem}-reward-{protocol_of(opts)}-{opts.method}"
        with progress_bar(f"rewarding ({protocol_of(opts)}, {opts.method})") as update:
            summary = run_reward_file(items, reward, run_dir, input_path=file, progress=update,
                                      resume=opts.resume)
    out.print(summary_table(summary, title="judgekit reward"))
    out.print(f"mean reward {summary['mean_reward']}, failures {summary['failures']} of {summary['items']}")
    console.print(f"rewards: {run_dir / 'rewards.jsonl'}  manifest: {run_dir / 'manifest.json'}")


def reward_serve_cmd(
    opts: JudgeOptions,
    host: Annotated[str, typer.Option(help="Interface to bind; anything but loopback needs --token-env.")] = (
        "127.0.0.1"),
    port: Annotated[int, typer.Option(help="Port (OpenRLHF: --remote_rm_url http://HOST:PORT/get_reward).")] = 5000,
    token_env: Annotated[str, typer.Option(help="Environment variable holding the bearer token ('' for none).")] = "",
    batch_window_ms: Annotated[float, typer.Option(help="Dynamic batching window; 0 with --no-batching.")] = 10.0,
    batching: Annotated[bool, typer.Option("--batching/--no-batching", help="Batch concurrent requests.")] = True,
    deadline_s: Annotated[float, typer.Option(help="Per-request deadline (504 after it).")] = 300.0,
    read_timeout_s: Annotated[float, typer.Option(help="Drop a client that stalls this long.")] = 10.0,
    request_timeout_s: Annotated[float, typer.Option(help="Drop a client whose whole request (headers and body) "
                                                     "takes longer.")] = 30.0,
    max_connections: Annotated[int, typer.Option(help="Connections at once (more get 503).")] = 64,
    max_per_client: Annotated[int, typer.Option(help="Connections at once from one client address.")] = 16,
    max_request_items: Annotated[int, typer.Option(help="Items in one request (more: 400).")] = 4096,
    max_body_mb: Annotated[float, typer.Option(help="Request body cap in MiB.")] = 16.0,
    failure_reward: Annotated[float, typer.Option(help="Reward sent for a failed judgment (flagged).")] = 0.0,
) -> None:
    """Serve a judge as an OpenRLHF remote reward model with dynamic batching."""
    if opts.output is not None:
        fail("reward-serve writes no files: drop -o/--out")
    token = token_from_env(token_env)
    opts = reward_defaults(opts)
    with user_errors():
        limits = ServerLimits(
            max_body=int(max_body_mb * 1024 * 1024), read_timeout_s=read_timeout_s,
            request_timeout_s=request_timeout_s, max_connections=max_connections, max_per_client=max_per_client,
            max_request_items=max_request_items,
            deadline_s=deadline_s, batch_window_s=batch_window_ms / 1000 if batching else 0.0,
            max_batch_requests=64 if batching else 1, token=token)
        limits.check(host)
        reward = policy_reward_from_options(opts)
        server = make_reward_server(OpenRLHFJudgeService(reward, failure_reward), host, port, limits)
    bound = f"http://{server.server_address[0]!s}:{server.server_address[1]}/get_reward"
    console.print(f"serving judge reward ({opts.protocol}, {opts.method}) at {bound} - Ctrl-C to stop")
    serve_until_interrupted(server)
    console.print("stopped")


def reward_defaults(opts: JudgeOptions, has_reference: bool = True) -> JudgeOptions:
    """The reward without ``-p``: the hybrid verifier's with reference answers, else the pointwise default.

    Without references it is ``pmi-pointwise`` (the pointwise twin of ``judgekit judge``'s
    pairwise default) unless ``--model``/``--method`` ask for a verdict judge: then ``pointwise``.
    """
    if opts.protocol is not None:
        return opts
    if has_reference:
        return replace(opts, protocol=DEFAULT_REWARD_PROTOCOL)
    pointwise = POINTWISE_DEFAULT if default_protocol(opts) == DEFAULT_PROTOCOL else "pointwise"
    return replace(opts, protocol=pointwise)


def token_from_env(token_env: str) -> str | None:
    """The bearer token named by ``--token-env`` (None for ''); an unset variable exits 2."""
    token = os.environ.get(token_env) if token_env else None
    if token_env and not token:
        fail(f"--token-env {token_env}: the variable is empty or unset")
    return token


def register(app: typer.Typer) -> None:
    """Attach ``judgekit reward`` and ``judgekit reward-serve``."""
    app.command("reward")(with_judge_options(reward_cmd))
    app.command("reward-serve")(with_judge_options(reward_serve_cmd))
