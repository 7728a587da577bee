"""The request pool of the OpenAI-compatible backend: every prompt's request, none sinking the others.

Requests run on a thread pool with at most ``concurrency`` in flight; results come
back in input order. Prompts may go in *chains* (those sharing a prefix, one after the
other on one worker) so a llama.cpp server's prompt cache prefills the shared part once.
A server that refuses every connection stops the rest of the batch from being sent
(no retry storm against a dead server).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from judgekit.backends.http_util import ContextTooLong, RequestFailure, ServerUnreachable
from judgekit.backends.prefix import prompt_chains
from judgekit.core.backend import ProgressFn
from judgekit.core.types import Prompt

T = TypeVar("T")


def run_all(
    prompts: Sequence[Prompt],
    work: Callable[[Prompt], T],
    *,
    concurrency: int,
    chains: bool,
    progress: ProgressFn | None,
    server: str,
) -> tuple[list[T | None], dict[int, str], set[int]]:
    """Run ``work`` on every prompt; a failing prompt (whatever the reply) never sinks the others.

    Returns ``(results, errors, too_long)``: a result or ``None`` per prompt, the error
    line of each failed prompt by index, and the indices refused as too long for the
    server's context. ``chains`` sends prompts sharing a prefix consecutively;
    ``server`` (the public URL) names the server in the error lines.
    """
    results: list[T | None] = [None] * len(prompts)
    errors: dict[int, str] = {}
    too_long: set[int] = set()
    unreachable: list[str] = []  # set once a request finds the server refusing every connection

    def one(i: int) -> None:
        try:
            if unreachable:  # fail fast: no retry storm against a dead server
                errors[i] = f"not sent: {unreachable[0]}"
            else:
                results[i] = work(prompts[i])
        except ContextTooLong as exc:
            errors[i] = f"too long for the server's context: {exc}"
            too_long.add(i)
        except ServerUnreachable as exc:
            errors[i] = (
                f"{server} refused every connection: the server is not running or has "
                f"crashed ({exc}); a llama.cpp server that dies on its first request: see docs/engines.md, "
                "'llama.cpp on AMX CPUs'"
            )
            unreachable[:] = [errors[i]]
        except (RequestFailure, ValueError) as exc:
            errors[i] = str(exc)
        except Exception as exc:  # noqa: BLE001 - an unexpected reply shape: record it, keep the rest
            errors[i] = f"unreadable reply ({type(exc).__name__}: {exc})"
        if progress:
            progress(1)

    def chain(members: list[int]) -> None:
        for i in members:
            one(i)

    if chains:
        groups = prompt_chains(["\n".join(f"{m.role}\n{m.content}" for m in p.messages) + "\n" + p.assistant_prefix
                                for p in prompts])
    else:
        groups = [[i] for i in range(len(prompts))]
    with ThreadPoolExecutor(max_workers=min(concurrency, max(len(groups), 1))) as pool:
        for fut in [pool.submit(chain, c) for c in groups]:
            fut.result()
    return results, errors, too_long
