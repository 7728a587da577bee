"""Render Jinja templates from ``prompts/`` into chat prompts, safely.

Templates render in a sandboxed environment with ``StrictUndefined``: a missing
variable is an error, not an empty string. User text (prompts, responses,
references) is only ever passed as variables, never concatenated into template
source, so ``{{ ... }}`` inside a response is printed as text.

A template is one file whose body holds ``[system]`` / ``[user]`` sections::

    {# vars: question, response_a, response_b, instructions #}
    [system]
    You are a fair judge.
    [user]
    ...
"""

from __future__ import annotations

import hashlib
import os
import re
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, TemplateNotFound, UndefinedError
from jinja2.sandbox import SandboxedEnvironment

from judgekit.core.types import Message, Prompt

_SECTION = re.compile(r"^\[(system|user|assistant)\]\s*$", re.MULTILINE)


class TemplateError(ValueError):
    """A template is missing, malformed, or was rendered without a variable."""


def prompt_dirs() -> list[Path]:
    """Directories searched for templates, first match wins.

    ``$JUDGEKIT_PROMPTS`` (colon separated) first, then the copy installed inside the
    package, then the repository's ``prompts/`` (editable installs).
    """
    dirs = [Path(p) for p in os.environ.get("JUDGEKIT_PROMPTS", "").split(os.pathsep) if p]
    here = Path(__file__).resolve().parents[1]
    dirs += [here / "_data" / "prompts", here.parent / "prompts"]
    return [d for d in dirs if d.is_dir()]


def data_dir(name: str) -> Path:
    """Locate a bundled data folder (``rubrics``, ``examples``...) installed or in-repo."""
    here = Path(__file__).resolve().parents[1]
    for cand in (here / "_data" / name, here.parent / name):
        if cand.is_dir():
            return cand
    raise FileNotFoundError(f"bundled folder {name!r} not found next to {here}")


@lru_cache(maxsize=1)
def _env() -> SandboxedEnvironment:
    from jinja2 import FileSystemLoader

    return SandboxedEnvironment(
        loader=FileSystemLoader([str(d) for d in prompt_dirs()]),
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@cache
def template_source(name: str) -> tuple[str, str]:
    """Return ``(source, sha256[:16])`` of ``prompts/<name>.j2``."""
    env = _env()
    assert env.loader is not None
    try:
        source, _, _ = env.loader.get_source(env, f"{name}.j2")
    except TemplateNotFound as exc:
        raise TemplateError(
            f"template {name!r} not found in {', '.join(map(str, prompt_dirs()))}"
        ) from exc
    return source, hashlib.sha256(source.encode()).hexdigest()[:16]


def template_hash(name: str) -> str:
    """Short content hash of a template (recorded in manifests and cache keys)."""
    return template_source(name)[1]


def render(name: str, assistant_prefix: str = "", **variables: Any) -> Prompt:
    """Render template ``name`` with ``variables`` into a :class:`Prompt`."""
    _, digest = template_source(name)
    try:
        safe = {key: _protect(value) for key, value in variables.items()}
        text = _env().get_template(f"{name}.j2").render(**safe)
    except UndefinedError as exc:
        raise TemplateError(f"template {name!r}: {exc.message}") from exc
    return Prompt(
        messages=split_sections(text, name),
        template=name,
        template_hash=digest,
        assistant_prefix=assistant_prefix,
    )


def split_sections(text: str, name: str = "<text>") -> tuple[Message, ...]:
    """Split rendered text on ``[role]`` header lines into chat messages.

    Headers are only recognised in the template source's own lines; a response that
    contains ``[user]`` on a line of its own cannot create a turn because
    :func:`render` neutralises such headers in every variable before rendering.
    """
    parts = _SECTION.split(text)
    if parts[0].strip():
        raise TemplateError(f"template {name!r}: text before the first [role] header")
    messages = []
    for role, body in zip(parts[1::2], parts[2::2], strict=True):
        messages.append(Message(role=role, content=_unprotect(body.strip())))  # type: ignore[arg-type]
    if not messages:
        raise TemplateError(f"template {name!r}: no [system]/[user] sections")
    return tuple(messages)


# Role headers inside user data are neutralised with a zero-width marker before
# rendering and restored after splitting, so data can never open a new turn.
_GUARD = "\u2060"


def _protect(value: Any) -> Any:
    if isinstance(value, str):
        return _SECTION.sub(lambda m: f"[{_GUARD}{m.group(1)}]", value)
    if isinstance(value, (list, tuple)):
        return type(value)(_protect(v) for v in value)
    if isinstance(value, dict):
        return {k: _protect(v) for k, v in value.items()}
    return value


def _unprotect(text: str) -> str:
    return text.replace(f"[{_GUARD}", "[")

