"""Chat templates on the client side: render a model's Jinja template, check it, find it.

The OpenAI-compatible backend's ``mode="completions"`` builds the raw prompt itself
with the model's chat template; :func:`load_chat_template` finds that template in a
GGUF header, a Hugging Face model directory or a file. Jinja is imported only when a
template is rendered.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from judgekit.core.models import default_model_path
from judgekit.core.special_tokens import neutralise_messages
from judgekit.core.types import Message


def render_chat_template(
    template: str, messages: Sequence[Message], assistant_prefix: str = "", bos_token: str = "", eos_token: str = ""
) -> str:
    """Render a Jinja chat template (as in ``tokenizer_config.json`` or a GGUF) + prefix.

    Used in completions mode, where the client builds the raw prompt. ``bos_token``
    defaults to empty because servers add BOS when they tokenize a completion prompt.
    Special-token strings inside message contents are neutralised (the server parses
    specials in the raw prompt; only the template's own must count).
    """
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message: str) -> None:
        raise ValueError(message)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.filters["tojson"] = lambda x, **kw: json.dumps(x, ensure_ascii=False, **kw)
    rendered = env.from_string(template).render(
        messages=neutralise_messages([(m.role, m.content) for m in messages]),
        add_generation_prompt=True,
        bos_token=bos_token,
        eos_token=eos_token,
        raise_exception=raise_exception,
    )
    return rendered + assistant_prefix


_GGUF_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}


def check_chat_template(template: str) -> str:
    """Render ``template`` once on a sample conversation; raise ValueError if it cannot work.

    Syntax errors, sandbox violations and undefined names surface here, when the
    backend is set up, instead of at the first request. Returns ``template``.
    """
    import jinja2

    sample = [Message("system", "s"), Message("user", "u")]  # the shape judgekit sends
    try:
        render_chat_template(template, sample, "p")
    except jinja2.TemplateError as exc:
        raise ValueError(f"chat template does not render: {type(exc).__name__}: {exc}") from exc
    return template


def chat_template_from_gguf(path: str) -> str | None:
    """Read the ``tokenizer.chat_template`` stored in a GGUF file's header (``None`` if absent).

    Reads only the metadata key/value section (no tensors), so it is fast even for
    large files. Use it to build ``OpenAIBackend(mode="completions", chat_template=...)``
    for a llama.cpp server serving that file.
    """
    import struct

    with open(path, "rb") as f:

        def read(fmt: str) -> Any:
            size = struct.calcsize(fmt)
            return struct.unpack(fmt, f.read(size))[0]

        def read_str() -> bytes:
            return f.read(read("<Q"))

        def skip(vtype: int) -> None:
            if vtype == 8:
                f.seek(read("<Q"), 1)
            elif vtype == 9:
                etype, count = read("<I"), read("<Q")
                if etype in _GGUF_SCALARS:
                    f.seek(struct.calcsize(_GGUF_SCALARS[etype]) * count, 1)
                else:
                    for _ in range(count):
                        skip(etype)
            else:
                f.seek(struct.calcsize(_GGUF_SCALARS[vtype]), 1)

        if f.read(4) != b"GGUF":
            raise ValueError(f"{path} is not a GGUF file")
        read("<I")  # version
        read("<Q")  # tensor count
        for _ in range(read("<Q")):
            key = read_str().decode("utf-8", "replace")
            vtype = read("<I")
            if key == "tokenizer.chat_template" and vtype == 8:
                return read_str().decode("utf-8")
            skip(vtype)
    return None


def load_chat_template(spec: str) -> str:
    """The Jinja chat template named by ``spec``, for ``mode="completions"``.

    ``spec`` is ``"embedded"`` (the embedded SmolLM2 GGUF), a ``.gguf`` file (its
    ``tokenizer.chat_template``), a Hugging Face model directory (``chat_template.jinja``
    or ``tokenizer_config.json``'s ``chat_template``), or a file holding the template.
    Raises ``ValueError`` saying what was looked for when nothing is found.
    """
    path = default_model_path() if spec == "embedded" else Path(spec).expanduser()
    if path.is_dir():
        jinja, config = path / "chat_template.jinja", path / "tokenizer_config.json"
        if jinja.is_file():
            return jinja.read_text(encoding="utf-8")
        if config.is_file():
            template = json.loads(config.read_text(encoding="utf-8")).get("chat_template")
            if isinstance(template, str) and template:
                return template
        raise ValueError(f"{path}: no chat_template.jinja and no chat_template in tokenizer_config.json")
    if not path.is_file():
        raise ValueError(f"chat template {spec!r}: no such file or directory")
    if path.suffix.lower() == ".gguf":
        template = chat_template_from_gguf(str(path))
        if not template:
            raise ValueError(f"{path}: the GGUF header has no tokenizer.chat_template")
        return template
    return path.read_text(encoding="utf-8")
