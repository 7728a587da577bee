"""Distil judge traces into an SFT dataset (same as ``judgekit train distill``).

    python training/distill.py data/train.jsonl --samples 4 --temperature 0.8 --out runs/distill/sft.jsonl
    python training/distill.py data/train.jsonl --backend openai --base-url http://127.0.0.1:8000/v1 \
        --model Qwen2.5-72B-Instruct --samples 8 --out runs/distill/sft.jsonl
    python training/distill.py data/train.jsonl --traces teacher_results.jsonl --out runs/distill/sft.jsonl

Every ``judgekit judge`` flag works (--protocol, --backend, --model, --samples,
--temperature, --max-new-tokens, column flags...). The teacher writes --samples traces
per item and order; a trace is kept only when its verdict matches the label in the
order it was shown, and only for items the teacher got right in both orders.
A report of kept/rejected counts is written next to the dataset (``*.report.json``).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str] | None = None) -> None:
    """Run ``judgekit train distill`` with these arguments."""
    from judgekit.cli import app

    app(["train", "distill", *(sys.argv[1:] if argv is None else argv)], prog_name="training/distill.py")


if __name__ == "__main__":
    main()
