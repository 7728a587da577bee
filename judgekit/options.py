"""The judge settings every entry point shares, and what they build: a protocol, a runner, samples.

The CLI's judge flags (:mod:`judgekit.cli.options`), an arena panel file and the
policy-reward adapters all describe a judge with one :class:`JudgeOptions`;
:func:`build_protocol`, :func:`build_runner` and :func:`load_for_protocol` turn it
into the objects of the data path.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rich.console import Console

from judgekit.backends.chat_template import check_chat_template, load_chat_template
from judgekit.backends.openai_requests import STYLES
from judgekit.core.backend import backend_names, open_backend
from judgekit.core.cache import CallCache, default_call_cache_path
from judgekit.core.data import Columns, load_samples
from judgekit.core.errors import ConfigError
from judgekit.core.models import DEFAULT_JUDGE, conversion_pending
from judgekit.core.runner import Runner
from judgekit.core.types import Sample
from judgekit.protocols.base import JudgeConfig, Protocol, get_protocol, protocol_class
from judgekit.protocols.rubric.schema import load_principles, resolve_rubric_text


@dataclass(frozen=True)
class JudgeOptions:
    """Parsed judge flags (see ``judgekit judge --help``)."""

    protocol: str | None = None  # None: not given; :func:`resolved` picks the default (docs/judge.md)
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
    max_model_len: int | None = None
    engine_arg: tuple[str, ...] = ()
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
    verify_mode: str | None = None
    output: Path | None = None
    cache: bool = True
    cache_dir: Path | None = None
    resume: bool = True
    limit: int | None = None
    sample: int | None = None
    id_col: str | None = None
    prompt_col: str | None = None
    response_cols: str | None = None
    label_col: str | None = None
    reference_col: str | None = None


#: The pairwise default of ``judgekit judge`` and ``Judge.compare``: chosen on dev by length-controlled
#: accuracy (docs/likelihood_judges.md, "Default"), run on the model it was measured with.
DEFAULT_PROTOCOL = "pmi"
#: What an explicit ``--model`` (or ``--method``) without ``-p`` means: that model's own judgment.
VERDICT_PROTOCOL = "pairwise"


def default_protocol(opts: JudgeOptions) -> str:
    """The protocol a run without ``-p`` uses.

    ``pmi`` on its measured model (the raw base), unless ``--model`` or ``--method`` is given:
    naming a model asks for that model's judgment, and ``--method`` only applies to a
    verdict-generating judge, so either means ``pairwise`` (the judgment as before the switch).
    """
    if opts.model is not None or opts.method != "generative":
        return VERDICT_PROTOCOL
    return DEFAULT_PROTOCOL


def resolved(opts: JudgeOptions, default: str | None = None) -> JudgeOptions:
    """``opts`` with a protocol: the one given, else ``default``, else :func:`default_protocol`."""
    if opts.protocol is not None:
        return opts
    return replace(opts, protocol=default or default_protocol(opts))


def protocol_of(opts: JudgeOptions) -> str:
    """The protocol name a run with ``opts`` uses (given or defaulted)."""
    return str(resolved(opts).protocol)


def judge_config(opts: JudgeOptions) -> JudgeConfig:
    """Build the protocol configuration from the flags."""
    opts = resolved(opts)
    temperature = opts.temperature if opts.temperature is not None else (0.7 if opts.samples > 1 else 0.0)
    options: list[tuple[str, Any]] = []
    for name in ("meta_rm", "k_meta", "esfp_model"):
        value = getattr(opts, name)
        if value is not None:
            options.append((name, str(value) if isinstance(value, Path) else value))
    if opts.verify_mode is not None:
        if opts.protocol != "verify":
            raise ConfigError(f"--verify-mode applies to -p verify, not -p {opts.protocol}")
        options.append(("verify_mode", opts.verify_mode))
    for item in opts.option:
        key, sep, value = item.partition("=")
        if not sep:
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

    return resolve_rubric_text(value)


def _principles(opts: JudgeOptions) -> tuple[str, ...]:
    found = list(opts.principle)
    if opts.principles is not None:
        found += load_principles(opts.principles)
    return tuple(found)


def build_protocol(opts: JudgeOptions) -> Protocol:
    """Instantiate and validate the protocol named by the flags (the default one without ``-p``).

    A flag the default protocol cannot honour (``--samples 4`` with ``pmi``) is an error that
    says the protocol was the default and how to ask for the generative judge.
    """
    if opts.protocol is not None:
        return get_protocol(opts.protocol, judge_config(opts))
    name = protocol_of(opts)
    try:
        return get_protocol(name, judge_config(opts))
    except ConfigError as exc:
        if name != DEFAULT_PROTOCOL:
            raise
        raise ConfigError(f"{exc} (without -p the protocol is {DEFAULT_PROTOCOL}, the dev-chosen default; "
                          f"pass -p {VERDICT_PROTOCOL} for the generative judge)") from exc


def user_backends() -> list[str]:
    """Backends a judge flag may name: every registered one but the scripted test double.

    ``fake`` (canned answers, for tests) is accepted only with ``JUDGEKIT_FAKE_BACKEND=1``
    in the environment (tests/conftest.py sets it), so a user never judges with it by accident.
    """
    hidden = () if os.environ.get("JUDGEKIT_FAKE_BACKEND") == "1" else ("fake",)
    return [name for name in backend_names() if name not in hidden]


def protocol_default_model(name: str) -> str | None:
    """The model a protocol was measured with (likelihood judges: the raw base), or None for the shared default."""
    try:
        return protocol_class(name).default_model
    except ConfigError:
        return None  # an unknown protocol is reported by build_protocol


# Protocols that score with their own kind of model: the default backend switches to it.
OWN_BACKEND = {"scalar-rm": "scalar-rm", "scalar-rm-pointwise": "scalar-rm"}


def effective(opts: JudgeOptions) -> JudgeOptions:
    """``opts`` with its protocol resolved and the backend it needs (``-p scalar-rm`` reads --model as an RM)."""
    opts = resolved(opts)
    need = OWN_BACKEND.get(str(opts.protocol))
    if need and opts.backend == "transformers":
        return replace(opts, backend=need)
    return opts


def backend_kwargs(opts: JudgeOptions) -> dict[str, Any]:
    """Constructor arguments for the chosen backend (a bad choice raises ConfigError)."""
    opts = effective(opts)
    if opts.backend not in user_backends():
        raise ConfigError(f"--backend {opts.backend!r}: choose from {', '.join(user_backends())}")
    if (opts.max_model_len is not None or opts.engine_arg) and opts.backend != "vllm":
        raise ConfigError("--max-model-len and --engine-arg apply to --backend vllm only")
    if opts.backend == "transformers":
        model = opts.model or protocol_default_model(str(opts.protocol)) or DEFAULT_JUDGE
        return {"model": model, "device": opts.device, "dtype": opts.dtype, "batch_size": opts.batch_size}

    if opts.backend == "openai":
        if not opts.base_url or not opts.model:
            raise ConfigError("--backend openai needs --base-url and --model")
        if opts.api_mode not in ("chat", "completions"):
            raise ConfigError(f"--api-mode {opts.api_mode!r}: choose chat or completions")

        if opts.constraint_style not in ("auto", *STYLES):
            choices = ", ".join(STYLES)
            raise ConfigError(f"--constraint-style {opts.constraint_style!r}: choose auto or one of {choices}")
        if opts.concurrency < 1 or opts.timeout <= 0 or opts.max_retries < 0:
            raise ConfigError("--concurrency must be >= 1, --timeout > 0 and --max-retries >= 0")
        template = None
        if opts.chat_template:
            try:
                template = check_chat_template(load_chat_template(opts.chat_template))
            except ValueError as err:
                raise ConfigError(f"--chat-template: {err}") from err
        elif opts.api_mode == "completions":
            raise ConfigError("--api-mode completions needs --chat-template (embedded, a .gguf, a model dir or a file)")
        return {"base_url": opts.base_url, "model": opts.model, "mode": opts.api_mode, "chat_template": template,
                "api_key_env": opts.api_key_env, "concurrency": opts.concurrency, "timeout": opts.timeout,
                "max_retries": opts.max_retries, "constraint_style": opts.constraint_style}
    if opts.backend == "scalar-rm":
        if not opts.model:
            raise ConfigError("--backend scalar-rm needs --model DIR (a sequence-classification reward model)")
        return {"model": opts.model, "device": opts.device, "dtype": opts.dtype, "batch_size": opts.batch_size}
    if opts.backend == "vllm":
        if opts.max_model_len is not None and opts.max_model_len < 1:
            raise ConfigError(f"--max-model-len {opts.max_model_len}: must be at least 1")
        model = opts.model or protocol_default_model(str(opts.protocol)) or DEFAULT_JUDGE
        kwargs = {"model": model, "tensor_parallel_size": opts.tensor_parallel_size,
                  "seed": opts.seed, "dtype": opts.dtype}
        if opts.max_model_len is not None:
            kwargs["max_model_len"] = opts.max_model_len
        if opts.engine_arg:
            kwargs["engine_extra"] = engine_args(opts.engine_arg)
        return kwargs
    return {}


def engine_args(items: tuple[str, ...]) -> dict[str, Any]:
    """``--engine-arg key=value`` pairs as vLLM engine arguments (values read as JSON where they parse)."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--engine-arg {item!r}: expected key=value (a vllm.EngineArgs field)")
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        out[key.strip()] = value
    return out


def build_runner(opts: JudgeOptions, console: Console | None = None) -> Runner:
    """Backend (loaded lazily) + call cache, as the flags ask."""
    opts = effective(opts)
    kwargs = backend_kwargs(opts)
    announce = None
    if console is not None and opts.backend == "transformers":
        pending = conversion_pending(kwargs["model"])
        if pending is not None:
            console.print(f"first run: preparing {kwargs['model']} once "
                          f"(GGUF conversion / adapter merge, about a minute) into {pending} ...")

        def announce() -> None:
            console.print(f"loading model {kwargs['model']} ...")

    backend = open_backend(opts.backend, on_load=announce, **kwargs)
    path = opts.cache_dir / "calls.sqlite" if opts.cache_dir else default_call_cache_path()
    cache = CallCache(path) if opts.cache else None
    return Runner(backend=backend, cache=cache)


def columns_from(opts: JudgeOptions) -> Columns | None:
    """Explicit column mapping, when flags give one."""
    if not (opts.prompt_col or opts.response_cols):
        others = [f"--{n.replace('_', '-')}" for n in ("label_col", "id_col", "reference_col") if getattr(opts, n)]
        if others:
            raise ConfigError(f"{', '.join(others)} needs --prompt-col and --response-cols (a full column mapping)")
        return None
    if not (opts.prompt_col and opts.response_cols):
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
    if opts.sample is not None and opts.sample < 1:
        raise ConfigError(f"--sample {opts.sample}: must be at least 1")
    return load_samples(file, task=proto.task, columns=columns_from(opts), limit=opts.limit,  # type: ignore[arg-type]
                        seed=opts.seed, sample=opts.sample)


def selection(opts: JudgeOptions, items: int) -> dict[str, Any]:
    """Which rows of the input a run judged (for its manifest): --limit, --sample with its seed, the count."""
    return {"limit": opts.limit, "sample": opts.sample, "seed": opts.seed, "items": items}


def refuse_unsupported(opts: JudgeOptions, command: str, *names: str) -> None:
    """ConfigError when a shared flag that ``command`` cannot honour was given (rather than ignoring it)."""
    given = [n for n in names if getattr(opts, n) not in (None, (), False)]
    if given:
        flags = ", ".join(f"--{n.replace('_', '-')}" for n in given)
        raise ConfigError(f"`judgekit {command}` does not support {flags}")

