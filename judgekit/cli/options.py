"""The judge flags shared by every command that runs a judge.

``judge``, ``probe``, ``eval``, ``scale`` and the training commands all accept the
same model/backend/protocol/decoding flags. :func:`with_judge_options` adds them to
a typer command's signature and hands the command one :class:`JudgeOptions`.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from judgekit.core.data import Columns, load_samples
from judgekit.core.runner import Runner
from judgekit.core.types import Sample
from judgekit.protocols.base import JudgeConfig, Protocol, get_protocol

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class JudgeOptions:
    """Parsed judge flags (see ``judgekit judge --help``)."""

    protocol: str = "pairwise"
    method: str = "generative"
    constrain: bool = True
    backend: str = "transformers"
    model: str | None = None
    base_url: str | None = None
    api_mode: str = "chat"
    chat_template: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    concurrency: int = 8
    timeout: float = 60.0
    max_retries: int = 5
    constraint_style: str = "auto"
    tensor_parallel_size: int = 1
    device: str = "cpu"
    dtype: str = "float32"
    batch_size: int = 8
    samples: int = 1
    temperature: float | None = None
    seed: int = 0
    max_new_tokens: int = 96
    both_orders: bool = True
    inconsistency: str = "tie"
    reduce: str = "majority"
    meta_rm: Path | None = None
    k_meta: int | None = None
    esfp_model: Path | None = None
    rubric: str | None = None
    principle: tuple[str, ...] = ()
    principles: Path | None = None
    option: tuple[str, ...] = ()
    output: Path | None = None
    cache: bool = True
    cache_dir: Path | None = None
    resume: bool = True
    limit: int | None = None
    id_col: str | None = None
    prompt_col: str | None = None
    response_cols: str | None = None
    label_col: str | None = None
    reference_col: str | None = None


_OPTS = [
    ("protocol", Annotated[str, typer.Option("--protocol", "-p", help="Judging protocol (see `judgekit protocols`).")]),
    ("method", Annotated[str, typer.Option(help="generative (reason, then verdict) or logit (one forward pass).")]),
    ("constrain", Annotated[bool, typer.Option("--constrain/--no-constrain", help="Constrain the verdict format.")]),
    ("backend", Annotated[str, typer.Option(help="transformers, openai, vllm or fake.")]),
    ("model", Annotated[str | None, typer.Option(help="Model path or name; default: embedded SmolLM2-135M.")]),
    ("base_url", Annotated[str | None, typer.Option(help="Server URL for --backend openai.")]),
    ("api_mode", Annotated[str, typer.Option(help="--backend openai: chat or completions (needed for logit mode).")]),
    ("chat_template", Annotated[str | None, typer.Option(
        help="Completions mode: chat template from 'embedded', a .gguf, a model directory or a Jinja file.")]),
    ("api_key_env", Annotated[str, typer.Option(help="Environment variable holding the API key ('' for none).")]),
    ("concurrency", Annotated[int, typer.Option(help="--backend openai: requests in flight.")]),
    ("timeout", Annotated[float, typer.Option(help="--backend openai: seconds per request.")]),
    ("max_retries", Annotated[int, typer.Option(help="--backend openai: retries on 429/5xx/connection errors.")]),
    ("constraint_style", Annotated[str, typer.Option(
        help="--backend openai: auto, vllm, vllm-legacy, openai (response_format), llamacpp (llama-cpp-python), "
        "llama-server or none.")]),
    ("tensor_parallel_size", Annotated[int, typer.Option(help="--backend vllm: GPUs per model replica.")]),
    ("device", Annotated[str, typer.Option(help="cpu, cuda, cuda:1 ...")]),
    ("dtype", Annotated[str, typer.Option(help="float32 or bfloat16.")]),
    ("batch_size", Annotated[int, typer.Option(help="Prompts per forward batch.")]),
    ("samples", Annotated[int, typer.Option(help="Sampled judgments per item and order (k).")]),
    ("temperature", Annotated[float | None, typer.Option(help="Sampling temperature (default 0, or 0.7 with k>1).")]),
    ("seed", Annotated[int, typer.Option(help="Sampling seed.")]),
    ("max_new_tokens", Annotated[int, typer.Option(help="Generation budget per turn.")]),
    ("both_orders", Annotated[bool, typer.Option("--both-orders/--single-order", help="Judge A/B and B/A.")]),
    ("inconsistency", Annotated[str, typer.Option(help="Order disagreement policy: tie, first or average.")]),
    ("reduce", Annotated[str, typer.Option(help="Reducer over k samples: majority, score-sum, mean-prob or meta.")]),
    ("meta_rm", Annotated[Path | None, typer.Option(help="Trained meta-RM directory (for --reduce meta).")]),
    ("k_meta", Annotated[int | None, typer.Option(help="Samples kept by the meta-RM before voting.")]),
    ("esfp_model", Annotated[Path | None, typer.Option(help="Trained ESFP slot-prediction model directory.")]),
    ("rubric", Annotated[str | None, typer.Option(help="Rubric text, or a rubrics/*.yaml name or path.")]),
    ("principle", Annotated[list[str] | None, typer.Option(help="User principle (repeatable).")]),
    ("principles", Annotated[Path | None, typer.Option(help="File of principles (one per line, or YAML list).")]),
    ("option", Annotated[list[str] | None, typer.Option(help="Protocol option key=value (repeatable).")]),
    ("output", Annotated[Path | None, typer.Option("--output", "-o", help="Run directory.")]),
    ("cache", Annotated[bool, typer.Option("--cache/--no-cache", help="Use the on-disk call cache.")]),
    ("cache_dir", Annotated[Path | None, typer.Option(help="Cache directory (default $JUDGEKIT_CACHE).")]),
    ("resume", Annotated[bool, typer.Option("--resume/--restart", help="Continue an interrupted run.")]),
    ("limit", Annotated[int | None, typer.Option(help="Judge only the first N items.")]),
    ("id_col", Annotated[str | None, typer.Option(help="Column holding item ids.")]),
    ("prompt_col", Annotated[str | None, typer.Option(help="Column holding the prompt.")]),
    ("response_cols", Annotated[str | None, typer.Option(help="Comma-separated response columns.")]),
    ("label_col", Annotated[str | None, typer.Option(help="Column holding the label.")]),
    ("reference_col", Annotated[str | None, typer.Option(help="Column holding the reference answer.")]),
]


def with_judge_options(fn: F) -> F:
    """Add the shared judge flags to a typer command; it receives ``opts: JudgeOptions``."""
    sig = inspect.signature(fn)
    # Resolve string annotations (``from __future__ import annotations``) so typer sees
    # the real ``Annotated[..., typer.Option(...)]`` objects of the command's own options.
    own = [p.replace(annotation=_resolve(fn, p.annotation)) for p in sig.parameters.values() if p.name != "opts"]
    defaults = JudgeOptions()
    added = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=ann,
                          default=_cli_default(getattr(defaults, name)))
        for name, ann in _OPTS
    ]

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        values = {name: kwargs.pop(name) for name, _ in _OPTS}
        for key in ("principle", "option"):
            values[key] = tuple(values[key] or ())
        return fn(*args, opts=JudgeOptions(**values), **kwargs)

    params = [p.replace(kind=inspect.Parameter.POSITIONAL_OR_KEYWORD) if p.kind == p.POSITIONAL_ONLY else p
              for p in own]
    new_sig = sig.replace(parameters=[*params, *added])
    wrapper.__signature__ = new_sig  # type: ignore[attr-defined]
    # typer reads type hints too: give it the resolved ones, without ``opts``.
    wrapper.__annotations__ = {p.name: p.annotation for p in new_sig.parameters.values()}
    return wrapper  # type: ignore[return-value]


def _resolve(fn: Callable[..., Any], annotation: Any) -> Any:
    """Evaluate a postponed (string) annotation in the command's module namespace."""
    if not isinstance(annotation, str):
        return annotation
    return typing._eval_type(typing.ForwardRef(annotation), fn.__globals__, None)  # type: ignore[attr-defined]


def _cli_default(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def judge_config(opts: JudgeOptions) -> JudgeConfig:
    """Build the protocol configuration from the flags."""
    temperature = opts.temperature if opts.temperature is not None else (0.7 if opts.samples > 1 else 0.0)
    options: list[tuple[str, Any]] = []
    for name in ("meta_rm", "k_meta", "esfp_model"):
        value = getattr(opts, name)
        if value is not None:
            options.append((name, str(value) if isinstance(value, Path) else value))
    for item in opts.option:
        key, sep, value = item.partition("=")
        if not sep:
            from judgekit.protocols.base import ConfigError

            raise ConfigError(f"--option {item!r}: expected key=value")
        options.append((key.strip(), value.strip()))
    return JudgeConfig(
        method=opts.method,  # type: ignore[arg-type]
        constrain=opts.constrain,
        both_orders=opts.both_orders,
        inconsistency=opts.inconsistency,  # type: ignore[arg-type]
        max_new_tokens=opts.max_new_tokens,
        temperature=temperature,
        samples=opts.samples,
        seed=opts.seed,
        reduce=opts.reduce,
        rubric=_rubric_text(opts.rubric),
        principles=_principles(opts),
        options=tuple(options),
    )


def _rubric_text(value: str | None) -> str | None:
    if value is None:
        return None
    from judgekit.protocols.rubric.schema import resolve_rubric_text

    return resolve_rubric_text(value)


def _principles(opts: JudgeOptions) -> tuple[str, ...]:
    found = list(opts.principle)
    if opts.principles is not None:
        from judgekit.protocols.rubric.schema import load_principles

        found += load_principles(opts.principles)
    return tuple(found)


def build_protocol(opts: JudgeOptions) -> Protocol:
    """Instantiate and validate the protocol named by the flags."""
    return get_protocol(opts.protocol, judge_config(opts))


def backend_kwargs(opts: JudgeOptions) -> dict[str, Any]:
    """Constructor arguments for the chosen backend (a bad choice raises ConfigError)."""
    from judgekit.core.backend import backend_names

    if opts.backend not in backend_names():
        from judgekit.protocols.base import ConfigError

        raise ConfigError(f"--backend {opts.backend!r}: choose from {', '.join(backend_names())}")
    if opts.backend == "transformers":
        return {"model": opts.model, "device": opts.device, "dtype": opts.dtype, "batch_size": opts.batch_size}
    from judgekit.protocols.base import ConfigError

    if opts.backend == "openai":
        if not opts.base_url or not opts.model:
            raise ConfigError("--backend openai needs --base-url and --model")
        if opts.api_mode not in ("chat", "completions"):
            raise ConfigError(f"--api-mode {opts.api_mode!r}: choose chat or completions")
        from judgekit.backends.openai_requests import STYLES

        if opts.constraint_style not in ("auto", *STYLES):
            choices = ", ".join(STYLES)
            raise ConfigError(f"--constraint-style {opts.constraint_style!r}: choose auto or one of {choices}")
        if opts.concurrency < 1 or opts.timeout <= 0 or opts.max_retries < 0:
            raise ConfigError("--concurrency must be >= 1, --timeout > 0 and --max-retries >= 0")
        template = None
        if opts.chat_template:
            from judgekit.backends.http_util import check_chat_template, load_chat_template

            try:
                template = check_chat_template(load_chat_template(opts.chat_template))
            except ValueError as err:
                raise ConfigError(f"--chat-template: {err}") from err
        elif opts.api_mode == "completions":
            raise ConfigError("--api-mode completions needs --chat-template (embedded, a .gguf, a model dir or a file)")
        return {"base_url": opts.base_url, "model": opts.model, "mode": opts.api_mode, "chat_template": template,
                "api_key_env": opts.api_key_env, "concurrency": opts.concurrency, "timeout": opts.timeout,
                "max_retries": opts.max_retries, "constraint_style": opts.constraint_style}
    if opts.backend == "vllm":
        if not opts.model:
            raise ConfigError("--backend vllm needs --model")
        return {"model": opts.model, "tensor_parallel_size": opts.tensor_parallel_size, "seed": opts.seed}
    return {}


def build_runner(opts: JudgeOptions, console: Console | None = None) -> Runner:
    """Backend (loaded lazily) + call cache, as the flags ask."""
    from judgekit.core.backend import get_backend
    from judgekit.core.cache import CallCache, default_call_cache_path

    if console is not None and opts.backend == "transformers":
        console.print(f"loading model {opts.model or 'embedded SmolLM2-135M-Instruct'} ...")
    backend = get_backend(opts.backend, **backend_kwargs(opts))
    path = opts.cache_dir / "calls.sqlite" if opts.cache_dir else default_call_cache_path()
    cache = CallCache(path) if opts.cache else None
    return Runner(backend=backend, cache=cache)


def columns_from(opts: JudgeOptions) -> Columns | None:
    """Explicit column mapping, when flags give one."""
    if not (opts.prompt_col or opts.response_cols):
        others = [f"--{n.replace('_', '-')}" for n in ("label_col", "id_col", "reference_col") if getattr(opts, n)]
        if others:
            from judgekit.protocols.base import ConfigError

            raise ConfigError(f"{', '.join(others)} needs --prompt-col and --response-cols (a full column mapping)")
        return None
    if not (opts.prompt_col and opts.response_cols):
        from judgekit.protocols.base import ConfigError

        raise ConfigError("column mapping needs both --prompt-col and --response-cols")
    return Columns(
        prompt=opts.prompt_col,
        responses=tuple(c.strip() for c in opts.response_cols.split(",") if c.strip()),
        label=opts.label_col,
        reference=opts.reference_col,
        id=opts.id_col,
    )


def load_for_protocol(file: Path, proto: Protocol, opts: JudgeOptions) -> list[Sample]:
    """Load FILE with the schema of the protocol's task."""
    return load_samples(file, task=proto.task, columns=columns_from(opts), limit=opts.limit,  # type: ignore[arg-type]
                        seed=opts.seed)

