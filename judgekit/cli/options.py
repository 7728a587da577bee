"""The judge flags shared by every command that runs a judge.

``judge``, ``probe``, ``eval``, ``scale`` and the training commands all accept the
same model/backend/protocol/decoding flags. :func:`with_judge_options` adds them to
a typer command's signature and hands the command one :class:`~judgekit.options.JudgeOptions`.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from judgekit.options import JudgeOptions

F = TypeVar("F", bound=Callable[..., Any])


def _out_path(text: str) -> Path:
    """``-o`` as a path; an empty value is a usage error (it would silently mean the current directory)."""
    if not text.strip():
        raise typer.BadParameter("is empty: name where to write")
    return Path(text)


_OPTS = [
    ("protocol", Annotated[str | None, typer.Option("--protocol", "-p", help=(
        "Judging protocol (see `judgekit protocols`). `judge` default: pmi on the raw base for pairs, pairwise when "
        "--model or --method names the judge (docs/judge.md#the-default-protocol)."))]),
    ("method", Annotated[str, typer.Option(help="generative (reason, then verdict) or logit (one forward pass).")]),
    ("constrain", Annotated[bool, typer.Option("--constrain/--no-constrain", help="Constrain the verdict format.")]),
    ("backend", Annotated[str, typer.Option(help="transformers, openai, vllm or scalar-rm (a reward model).")]),
    ("model", Annotated[str | None, typer.Option(
        help="Model path or name; default: the protocol's measured model (pmi: smollm2, the raw base), else "
        "judgekit-135m (the shipped trained judge). Without -p, --model means that model's own verdict.")]),
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
    ("max_model_len", Annotated[int | None, typer.Option(
        help="--backend vllm: context length in tokens (default: the model's); longer prompts are skipped.")]),
    ("engine_arg", Annotated[list[str] | None, typer.Option(
        help="--backend vllm: an engine argument key=value (repeatable), e.g. enforce_eager=true.")]),
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
    ("verify_mode", Annotated[str | None, typer.Option(
        help="-p verify: hybrid (rules first, the model for what they cannot read; default), rule or model.")]),
    ("output", Annotated[Path | None, typer.Option(
        "--out", "-o", "--output", parser=_out_path,
        help="Where to write (each command names its default under runs/).")]),
    ("cache", Annotated[bool, typer.Option("--cache/--no-cache", help="Use the on-disk call cache.")]),
    ("cache_dir", Annotated[Path | None, typer.Option(help="Cache directory (default $JUDGEKIT_CACHE).")]),
    ("resume", Annotated[bool, typer.Option("--resume/--restart", help="Continue an interrupted run.")]),
    ("limit", Annotated[int | None, typer.Option(help="Judge only the first N items.")]),
    ("sample", Annotated[int | None, typer.Option(
        help="Judge N items drawn at random with --seed (kept in file order); with --limit, from the first N.")]),
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
        for key in ("principle", "option", "engine_arg"):
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
