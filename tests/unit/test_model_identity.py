"""Issue 29 item 3: a local model's identity covers every byte that changes an output.

Three tiny model directories - a random Llama, the same with one MLP matrix zeroed,
the same with an edited ``chat_template.jinja`` - and more single-file edits
(generation config, tokenizer config's template, an adapter file) must each get their
own identity, so a cache hit never crosses them.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from judgekit.core import models
from judgekit.core.cache import CallCache
from judgekit.core.models import file_digest, resolve_model, weights_hash
from judgekit.core.runner import Runner
from judgekit.core.types import Message, Prompt

CHATML = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
WORDS = ["[PAD]", "[UNK]", "<|im_start|>", "<|im_end|>", "user", "assistant", "A", "B", "is", "better", "which"]


def _unsampled_matrix(path: Path) -> str:
    """An MLP matrix lying wholly outside the first, middle and last MiB of a safetensors file."""
    raw = path.read_bytes()
    header_len = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + header_len])
    size, mib = len(raw), 1 << 20
    windows = [(0, mib), (size // 2 - mib // 2, size // 2 + mib // 2), (size - mib, size)]
    for name, meta in sorted(header.items()):
        if "mlp" not in name:
            continue
        start, end = (8 + header_len + o for o in meta["data_offsets"])
        if all(end <= lo or start >= hi for lo, hi in windows):
            return str(name)
    raise AssertionError("no MLP matrix outside the sampled windows; make the model larger")


@pytest.fixture(scope="module")
def tiny_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file, save_file
    from tokenizers import Tokenizer, pre_tokenizers
    from tokenizers import models as tok_models
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    root = tmp_path_factory.mktemp("identity")
    base = root / "a" / "judge"  # the copies share the directory name, as copies do
    tok = Tokenizer(tok_models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", eos_token="<|im_end|>",
                                   additional_special_tokens=["<|im_start|>"])
    fast.chat_template = CHATML
    fast.save_pretrained(str(base))
    (base / "chat_template.jinja").write_text(CHATML)
    torch.manual_seed(0)
    # 3 layers of 64 x 2048 MLP matrices: several MiB, so a zeroed matrix can sit outside the
    # first, middle and last MiB the old identity sampled
    config = LlamaConfig(vocab_size=len(WORDS), hidden_size=64, intermediate_size=2048, num_hidden_layers=3,
                         num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=64, pad_token_id=0)
    LlamaForCausalLM(config).save_pretrained(str(base))
    dirs = {"judge": base}
    zeroed = root / "b" / "judge"
    shutil.copytree(base, zeroed)
    weights = load_file(str(zeroed / "model.safetensors"))
    name = _unsampled_matrix(zeroed / "model.safetensors")
    weights[name] = torch.zeros_like(weights[name])
    save_file(weights, str(zeroed / "model.safetensors"), metadata={"format": "pt"})
    dirs["zeroed"] = zeroed
    template = root / "c" / "judge"
    shutil.copytree(base, template)
    (template / "chat_template.jinja").write_text(CHATML.replace("assistant\n", "assistant\nVerdict: "))
    dirs["template"] = template
    return dirs


def test_three_copies_get_three_identities_and_never_share_cache_hits(tiny_dirs: dict[str, Path],
                                                                     tmp_path: Path) -> None:
    from judgekit.backends.transformers import TransformersBackend

    ids = {name: resolve_model(str(path)).model_id for name, path in tiny_dirs.items()}
    assert len(set(ids.values())) == 3, ids
    prompt = Prompt((Message("user", "which is better A B"),), template="t", template_hash="h")
    cache = CallCache(tmp_path / "calls.sqlite")
    first = Runner(TransformersBackend(str(tiny_dirs["judge"]), batch_size=1), cache=cache)
    first.score_choices([prompt], ["A", "B"])
    assert first.stats.cache_misses == 1
    for name in ("zeroed", "template"):
        other = Runner(TransformersBackend(str(tiny_dirs[name]), batch_size=1), cache=cache)
        other.score_choices([prompt], ["A", "B"])
        assert other.stats.cache_hits == 0, name
    again = Runner(TransformersBackend(str(tiny_dirs["judge"]), batch_size=1), cache=cache)
    again.score_choices([prompt], ["A", "B"])
    assert again.stats.cache_hits == 1  # the same model still hits


@pytest.mark.parametrize("name,edit", [
    ("generation_config.json", lambda t: t.replace("}", ', "temperature": 0.5}', 1)),
    ("tokenizer_config.json", lambda t: json.dumps({**json.loads(t), "chat_template": "{{ messages }}"})),
    ("tokenizer.json", lambda t: t.replace('"which"', '"whichever"')),
    ("adapter_config.json", lambda t: '{"r": 8, "lora_alpha": 16}'),
])
def test_every_output_affecting_file_counts(tmp_path: Path, tiny_dirs: dict[str, Path], name: str, edit) -> None:  # type: ignore[no-untyped-def]
    copy = tmp_path / "copy"
    shutil.copytree(tiny_dirs["judge"], copy)
    before = weights_hash(copy)
    path = copy / name
    path.write_text(edit(path.read_text() if path.exists() else "{}"))
    assert weights_hash(copy) != before
    (copy / "README.md").write_text("notes")  # documentation does not change an output
    after = weights_hash(copy)
    (copy / "README.md").write_text("other notes")
    assert weights_hash(copy) == after


def test_a_byte_outside_the_old_samples_changes_the_identity(tmp_path: Path) -> None:
    d = tmp_path / "m"
    d.mkdir()
    (d / "config.json").write_text("{}")
    blob = bytearray(5 << 20)
    (d / "model.safetensors").write_bytes(bytes(blob))
    before = weights_hash(d)
    blob[(3 << 20) + 12345] = 1  # between the middle and the last MiB
    (d / "model.safetensors").write_bytes(bytes(blob))
    assert weights_hash(d) != before


def test_the_digest_is_computed_once_per_file_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUDGEKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(models, "_DIGESTS", {})
    f = tmp_path / "w.bin"
    f.write_bytes(b"x" * 1000)
    reads: list[str] = []
    real_open = open

    def counting_open(path, mode="r", *a, **kw):  # type: ignore[no-untyped-def]
        if str(path) == str(f.resolve()) and "b" in mode:
            reads.append(mode)
        return real_open(path, mode, *a, **kw)

    monkeypatch.setattr("builtins.open", counting_open)
    digest = file_digest(f)
    monkeypatch.setattr(models, "_DIGESTS", {})  # a new process: the on-disk digest is reused
    assert file_digest(f) == digest and len(reads) == 1
    f.write_bytes(b"y" * 1000)  # same size, new content: a new version
    assert file_digest(f) != digest and len(reads) == 2


def test_vllm_identity_of_a_local_directory_is_its_content(tiny_dirs: dict[str, Path]) -> None:
    from judgekit.backends.vllm import vllm_model_id

    ids = {vllm_model_id(str(path)) for path in tiny_dirs.values()}
    assert len(ids) == 3  # same directory name, different weights / chat template
    assert vllm_model_id("Org/Model", "abc") == "vllm:Org/Model@abc"
    assert vllm_model_id(str(tiny_dirs["judge"]), tokenizer=str(tiny_dirs["template"])) != vllm_model_id(
        str(tiny_dirs["judge"]), tokenizer=str(tiny_dirs["judge"]))
