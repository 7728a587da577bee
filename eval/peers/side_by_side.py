"""One table from two harness runs (llama-cpp-python's server and llama-server), with the issue's targets.

    python eval/peers/side_by_side.py /tmp/peers/results-lcp /tmp/peers/results-ls

Each directory is a `run_peers.sh` results folder (`$PEERS_TMP/results`, copied after the
run). Rows: the peers, then judgekit's configurations; cells: judgments/s and strictly
parsed verdicts of 48. Below the table, the ratios the targets are stated in: generative
judgekit over HTTP vs prometheus-eval and the naive loop, logit mode vs TRL 1.0.0.
"""
import json
import os
import sys

ROWS = [
    ("naive", "naive `openai` loop (sequential, max_tokens 128, T=0)"),
    ("trl_default", "TRL 1.0.0 `OpenAIPairwiseJudge`, as shipped (server-default T)"),
    ("trl_t0", "TRL 1.0.0 `OpenAIPairwiseJudge`, T=0"),
    ("prometheus", "prometheus-eval 0.1.20 relative grading (max_tokens 512, T=0)"),
    ("judgekit_http-generative", "judgekit HTTP generative (GBNF-constrained)"),
    ("judgekit_http-logit", "judgekit HTTP logit (completions, top logprobs)"),
    ("judgekit_local-generative", "judgekit in-process generative (transformers, constrained)"),
    ("judgekit_local-logit", "judgekit in-process logit (transformers)"),
]


def read_json(path: str):
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def load(folder: str, name: str):
    return read_json(os.path.join(folder, name + ".json"))


def cell(r, name: str = "") -> str:
    if r is None:
        return "– (in-process: no server; see the other column)" if "local" in name else "did not run"
    return f"{r['judgments_per_s']:.2f} ({r['judgments'] - r['unparsed']}/{r['judgments']})"


def ratio(a, b) -> str:
    return "–" if not (a and b) else f"{a['judgments_per_s'] / b['judgments_per_s']:.2f}×"


def main(lcp: str, ls: str) -> None:
    get = {k: {n: load(d, n) for n, _ in ROWS} for k, d in (("lcp", lcp), ("ls", ls))}
    print("| tool | llama-cpp-python server: judgments/s (parsed of 48) "
          "| llama-server, 4 slots: judgments/s (parsed of 48) |")
    print("|---|---:|---:|")
    for name, label in ROWS:
        print(f"| {label} | {cell(get['lcp'][name], name)} | {cell(get['ls'][name], name)} |")
    print()
    print("| target (same server, same items) | llama-cpp-python server | llama-server |")
    print("|---|---:|---:|")
    gen = "judgekit_http-generative"
    parsed = {k: (f"{g[gen]['judgments'] - g[gen]['unparsed']}/48" if g[gen] else "–") for k, g in get.items()}
    print(f"| generative over HTTP: 48/48 parsed | {parsed['lcp']} | {parsed['ls']} |")
    for peer, want in (("prometheus", "≥ 2×"), ("naive", "≥ 1×")):
        print(f"| generative over HTTP / {peer} ({want}) | {ratio(get['lcp'][gen], get['lcp'][peer])} | "
              f"{ratio(get['ls'][gen], get['ls'][peer])} |")
    for trl in ("trl_default", "trl_t0"):
        for jk in ("judgekit_http-logit", "judgekit_local-logit"):
            where = "HTTP" if "http" in jk else "in-process"
            print(f"| logit ({where}) / {trl.replace('_', ' ')} (≥ 5×) | {ratio(get['lcp'][jk], get['lcp'][trl])} | "
                  f"{ratio(get['ls'][jk], get['ls'][trl])} |")
    print()
    print("| judgekit over HTTP: prompt tokens per judgment (manifest) | llama-cpp-python server | llama-server |")
    print("|---|---:|---:|")
    for cfg in ("http-generative", "http-logit"):
        cells = []
        for folder in (lcp, ls):
            manifest = read_json(os.path.join(folder, "judgekit-work", cfg, "manifest.json")) or {}
            backend = manifest.get("backend", {})
            total, cached = backend.get("prompt_tokens_total"), backend.get("prompt_tokens_cached") or 0
            cells.append(f"{total / 48:.0f} sent, {(total - cached) / 48:.0f} prefilled" if total else "not reported")
        print(f"| {cfg} | {cells[0]} | {cells[1]} |")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
