"""Throughput of the OpenRLHF judge reward server: 1, 4 and 16 clients, batching on vs off.

Run (the README table):
    nice -n 19 python eval/bench_reward_server.py --requests-per-client 2 --items 2
    nice -n 19 python eval/bench_reward_server.py --fake-latency-ms 50 --fake-per-item-ms 2 --requests-per-client 4

The server runs in-process on 127.0.0.1 (``judgekit reward-serve``'s code path) with
the embedded SmolLM2-135M verifier in logit mode and the call cache off, so every
item is judged. Each client thread posts ``--requests-per-client`` requests of
``--items`` GSM8K (question, candidate solution, reference) items, one after the
other. ``--fake-latency-ms`` replaces the model with the fake backend that sleeps
that long per backend call plus ``--fake-per-item-ms`` per prompt: a labelled
simulation of a batched (GPU-served) judge, for machines where the model is too
slow (the latencies are assumptions, not measurements). Nothing here is a test; the numbers are
read, not asserted. Prints a markdown table; ``--json`` also writes it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import threading
import time
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))



def data_file() -> Path:
    """The GSM8K verification rows under ``$JUDGEKIT_SHARED_DATA`` (else ``../shared/data``)."""
    shared = Path(os.environ.get("JUDGEKIT_SHARED_DATA", ROOT.parent / "shared" / "data"))
    return shared / "gsm8k_verification" / "gsm8k_verification.jsonl"


HEADER = ("| clients | batching | judgments/s | p50 latency (s) | p95 latency (s) | judge batches |",
          "|---|---|---|---|---|---|")


def table(rows: Sequence[dict[str, Any]]) -> list[str]:
    """The markdown table this script prints (docs/reward_server.md holds its output verbatim)."""
    return [*HEADER, *(f"| {r['clients']} | {'on' if r['batching'] else 'off'} | {r['judgments_per_s']} | "
                       f"{r['p50_s']} | {r['p95_s']} | {r['batches']} / {r['requests']} requests |" for r in rows)]


def payloads(n_requests: int, items: int) -> list[dict[str, Any]]:
    """Distinct OpenRLHF payloads from GSM8K candidate solutions."""
    rows = [json.loads(line) for line in data_file().read_text(encoding="utf-8").splitlines()[: n_requests * items]]
    out = []
    for start in range(0, len(rows), items):
        chunk = rows[start : start + items]
        prompts = [r["question"] for r in chunk]
        out.append({"query": [p + "\n" + r["candidate_solution"] for p, r in zip(prompts, chunk, strict=True)],
                    "prompts": [p + "\n" for p in prompts], "labels": [r["reference_answer"] for r in chunk]})
    return out


def slow_fake(latency_s: float, per_item_s: float) -> Any:
    """The fake backend, sleeping ``latency_s`` per call plus ``per_item_s`` per prompt (simulated cost)."""
    from judgekit.backends.fake import FakeBackend

    class SlowFake(FakeBackend):
        def score_choices(self, prompts: Sequence[Any], choices: Sequence[str]) -> list[dict[str, float]]:
            time.sleep(latency_s + per_item_s * len(prompts))
            return super().score_choices(prompts, choices)

    return SlowFake(model_id=f"fake-{latency_s * 1000:.0f}ms")


def post(url: str, body: dict[str, Any]) -> float:
    """Seconds for one request (raises on a non-200)."""
    started = time.perf_counter()
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as resp:
        json.loads(resp.read())
    return time.perf_counter() - started


def measure(backend: Any, clients: int, batching: bool, work: list[dict[str, Any]], per_client: int) -> dict[str, Any]:
    """One configuration: judgments/s and request latency percentiles."""
    from judgekit.core.runner import Runner
    from judgekit.protocols.base import JudgeConfig
    from judgekit.reward.policy import PolicyReward, judge_protocol
    from judgekit.reward.policy_adapters import OpenRLHFJudgeService
    from judgekit.reward.server import ServerLimits, make_reward_server

    runner = Runner(backend=backend, chunk_size=1024)
    reward = PolicyReward(judge_protocol("verify", JudgeConfig(method="logit")), runner)
    limits = ServerLimits(batch_window_s=0.01 if batching else 0.0, max_batch_requests=64 if batching else 1)
    server = make_reward_server(OpenRLHFJudgeService(reward), port=0, limits=limits)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/get_reward"
    jobs = [work[(c * per_client + i) % len(work)] for c in range(clients) for i in range(per_client)]
    try:
        started = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            per = list(pool.map(lambda c: [post(url, jobs[c * per_client + i]) for i in range(per_client)],
                                range(clients)))
        wall = time.perf_counter() - started
    finally:
        server.shutdown()
        server.server_close()
    latencies = sorted(x for xs in per for x in xs)
    judged = sum(len(j["query"]) for j in jobs)

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))]

    return {"clients": clients, "batching": batching, "requests": len(jobs), "judgments": judged,
            "judgments_per_s": round(judged / wall, 2), "p50_s": round(pct(0.5), 3), "p95_s": round(pct(0.95), 3),
            "batches": server.batcher.batches}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", default="1,4,16")
    parser.add_argument("--requests-per-client", type=int, default=2)
    parser.add_argument("--items", type=int, default=2, help="Items per request.")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--fake-latency-ms", type=float, default=None)
    parser.add_argument("--fake-per-item-ms", type=float, default=2.0)
    parser.add_argument("--json", type=Path, default=None)
    ns = parser.parse_args()
    if ns.fake_latency_ms is not None:
        backend = slow_fake(ns.fake_latency_ms / 1000, ns.fake_per_item_ms / 1000)
        label = f"SIMULATED: fake backend, {ns.fake_latency_ms} ms per call + {ns.fake_per_item_ms} ms per prompt"
    else:
        from judgekit.backends import get_backend

        backend, label = get_backend("transformers", batch_size=ns.batch_size), "embedded SmolLM2-135M, logit, CPU"
    counts = [int(c) for c in ns.clients.split(",")]
    work = payloads(max(counts) * ns.requests_per_client, ns.items)
    measure(backend, 1, True, work[:1], 1)  # warm-up
    rows = [measure(backend, c, b, work, ns.requests_per_client) for c in counts for b in (False, True)]
    print(f"judge: {label}; {ns.items} items/request, {ns.requests_per_client} requests/client; "
          f"{platform.processor() or platform.machine()}")
    print("\n".join(table(rows)))
    if ns.json:
        ns.json.write_text(json.dumps({"judge": label, "rows": rows}, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
