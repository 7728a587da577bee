"""GPU throughput of the transformers backend in one call: batch 1 / 64 / 256 / 1024, eager vs static cache.

Run on a machine with a GPU (one call, nothing downloaded):
    python eval/bench_gpu.py --json "$OUT/bench_gpu.json"
    python eval/bench_gpu.py --device cpu --dtype float32 --layers 2 --batches 1,2 --max-new-tokens 4   # smoke test

Needs torch and transformers only (plus jinja2, which torch installs): no judgekit
extras, no datasets, no outlines, no network. The model is the embedded judge's
architecture (SmolLM2-135M: Llama, 30 layers, hidden 576, 9 heads / 3 KV heads,
vocab 49152) with random weights, and a word-level tokenizer built here; items are
synthetic pairwise prompts of about ``--prompt-words`` words. Random weights make
the verdicts meaningless (nearly all fail to parse): only judgments/s is measured.

Each batch size B judges max(8, B) items, both orders (2 x items prompts, whole
batches), through ``judgekit.judge.judge_samples`` (the ``judgekit judge`` path,
call cache off):

- generative, free decoding, ``--max-new-tokens``: eager (dynamic KV cache) and
  ``static_cache=True`` (transformers then compiles the forward pass with
  ``torch.compile`` on CUDA; the first call per shape compiles, reported apart);
- logit mode (one forward pass per prompt, prefix shared across the two orders).

Every configuration runs once untimed (warm-up, compilation) and once timed. A
configuration that fails (e.g. out of memory) is reported as such and the rest go on.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # judgekit from this checkout, installed or not

import torch  # noqa: E402

from judgekit.backends.transformers import TransformersBackend  # noqa: E402
from judgekit.core.runner import Runner  # noqa: E402
from judgekit.core.types import Sample  # noqa: E402
from judgekit.judge import judge_samples  # noqa: E402
from judgekit.protocols.base import JudgeConfig, get_protocol  # noqa: E402

# SmolLM2-135M-Instruct (the embedded judge); tests/integration/test_bench_gpu.py checks
# these against the embedded model's own config.
EMBEDDED_CONFIG: dict[str, Any] = {
    "vocab_size": 49152, "hidden_size": 576, "intermediate_size": 1536, "num_hidden_layers": 30,
    "num_attention_heads": 9, "num_key_value_heads": 3, "max_position_embeddings": 8192,
    "rope_theta": 100000.0, "rms_norm_eps": 1e-5, "tie_word_embeddings": True, "hidden_act": "silu",
}
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "[UNK]"]
# Words of the verdict formats, so logit mode's choices ("A", "B", "tie") are distinct tokens.
VERDICT_WORDS = ["A", "B", "tie", "[[", "]]", "[", "]", "Verdict", "Reasoning", ":", "."]
CHATML = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def build_model_dir(out: Path, dtype: torch.dtype, layers: int | None, seed: int = 0) -> Path:
    """Save a random-weight model of the embedded architecture and a word-level tokenizer to ``out``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    fixed = SPECIALS + VERDICT_WORDS
    vocab = {tok: i for i, tok in enumerate(fixed)}
    vocab.update({f"w{i}": len(fixed) + i for i in range(EMBEDDED_CONFIG["vocab_size"] - len(fixed))})
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.decoder = decoders.WordPiece(prefix="##")  # joins words with spaces
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                   unk_token="[UNK]", additional_special_tokens=["<|im_start|>"])
    fast.chat_template = CHATML
    fast.save_pretrained(out)
    cfg = dict(EMBEDDED_CONFIG, num_hidden_layers=layers or EMBEDDED_CONFIG["num_hidden_layers"])
    config = LlamaConfig(**cfg, bos_token_id=1, eos_token_id=2, pad_token_id=0)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config).to(dtype)
    model.generation_config.eos_token_id = 2
    model.save_pretrained(out)
    return out


def synthetic_items(n: int, words: int, seed: int = 0) -> list[Sample]:
    """Pairwise items of random vocabulary words: a question and two answers (~``words`` words in all)."""
    rng = random.Random(seed)

    def text(k: int) -> str:
        return " ".join(f"w{rng.randrange(40000)}" for _ in range(k))

    q, a = max(words // 5, 1), max(words * 2 // 5, 1)
    return [Sample(id=f"s{i}", prompt=text(q), responses=(text(a), text(a)), label="A") for i in range(n)]


def run_once(backend: TransformersBackend, samples: list[Sample], config: JudgeConfig) -> float:
    """Seconds to judge ``samples`` through the ``judgekit judge`` path, cache off."""
    if backend.device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    judge_samples(samples, get_protocol("pairwise", config), Runner(backend=backend, chunk_size=2 * len(samples)),
                  chunk_size=len(samples))
    if backend.device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float16", "float32"])
    parser.add_argument("--batches", default="1,64,256,1024")
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--prompt-words", type=int, default=300)
    parser.add_argument("--layers", type=int, default=None, help="Fewer layers (smoke tests only).")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    dtypes = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}
    batches = [int(b) for b in args.batches.split(",")]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = build_model_dir(Path(tmp) / "model", dtypes[args.dtype], args.layers)
        backend = TransformersBackend(str(model_dir), device=args.device, dtype=args.dtype, cache_dir=Path(tmp))
        gen = JudgeConfig(max_new_tokens=args.max_new_tokens, constrain=False)
        cuda = args.device.startswith("cuda")
        static_label = "static cache + compile" if cuda else "static cache (no compile on CPU)"
        modes = [("generative", "eager", gen, False), ("generative", static_label, gen, True),
                 ("logit", "eager", JudgeConfig(method="logit"), False)]
        for b in batches:
            samples = synthetic_items(max(8, b), args.prompt_words)
            backend.batch_size = b
            for mode, variant, config, static in modes:
                backend.static_cache = static
                row: dict[str, Any] = {"mode": mode, "variant": variant, "batch": b, "judgments": len(samples)}
                try:
                    row["warmup_s"] = round(run_once(backend, samples, config), 3)
                    row["seconds"] = round(run_once(backend, samples, config), 3)
                    row["judgments_per_s"] = round(len(samples) / row["seconds"], 2)
                except Exception as exc:  # report and go on: one call must bring back every row it can
                    row["error"] = f"{type(exc).__name__}: {exc}"[:300]
                    traceback.print_exc(limit=3)
                    if args.device.startswith("cuda"):
                        torch.cuda.empty_cache()
                rows.append(row)
                print(json.dumps(row), flush=True)
    device = torch.cuda.get_device_name(0) if args.device.startswith("cuda") else platform.processor() or "cpu"
    print(f"\n# transformers backend, random-weight SmolLM2-135M architecture ({args.layers or 30} layers), "
          f"{args.dtype}, {device}; ~{args.prompt_words}-word prompts, max_new_tokens={args.max_new_tokens}; "
          f"torch {torch.__version__}")
    print("| mode | variant | batch | judgments | warm-up s | s | judgments/s |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        if "error" in r:
            print(f"| {r['mode']} | {r['variant']} | {r['batch']} | {r['judgments']} | | | failed: {r['error'][:80]} |")
        else:
            print(f"| {r['mode']} | {r['variant']} | {r['batch']} | {r['judgments']} | {r['warmup_s']} | "
                  f"{r['seconds']} | {r['judgments_per_s']} |")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"device": device, "dtype": args.dtype, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
