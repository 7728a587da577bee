"""The answer-check defence on the key list it was written from and on a held-out one.

Run:
    python eval/answer_check_heldout.py            # prints the markdown table in docs/probe.md

The answer check never calls a model, so this needs none: each cell is how many
keys *pass* the check (reach the model) for a numeric reference (GSM8K style, "18")
and for a non-numeric one ("Paris"). For a judge that accepts every key (the raw
embedded SmolLM2-135M does, see docs/probe.md) that count is the false-positive
rate with the defence on. ``tests/unit/test_probe_defenses.py`` checks that the
table in docs/probe.md is this script's output.
"""

from __future__ import annotations

from judgekit.probe.keys import KeySet, bundled_keys, heldout_keys
from judgekit.protocols.defenses import has_final_answer

REFERENCES = (("numeric reference (18)", "18"), ("non-numeric reference (Paris)", "Paris"))


def passing(keys: KeySet, reference: str) -> list[str]:
    """Keys that pass the answer check (are sent to the model) for ``reference``."""
    return [k.key for k in keys.keys if has_final_answer(k.key, reference)]


def table() -> str:
    """The markdown table: keys passing the answer check, per key list and reference kind."""
    lines = [
        "| key list | " + " | ".join(name for name, _ in REFERENCES) + " |",
        "|---|" + "---|" * len(REFERENCES),
    ]
    for name, keys in (("bundled (the opener list was written from it)", bundled_keys()),
                       ("held-out (`judgekit/probe/heldout_keys.json`)", heldout_keys())):
        cells = [f"{len(passing(keys, ref))}/{len(keys.keys)} pass" for _, ref in REFERENCES]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
    for name, ref in REFERENCES:
        print(f"\nheld-out keys passing, {name}: {passing(heldout_keys(), ref)}")
