"""The Python API: a :class:`Judge` judges a pair, a verification, a response or a whole file.

```python
import judgekit

j = judgekit.Judge()                                   # the defaults: pmi on the raw base for pairs, cached
j.compare("What is 2+2?", "4", "5").verdict            # "A", "B", "tie" or None (with its reason)
j.verify("What is 2+2?", "2+2 = 4", "4").verdict       # "correct" / "incorrect" (hybrid, judgekit-135m)
judgekit.Judge(protocol="pairwise")                    # judgekit-135m's own verdict, both orders
j.judge("examples/pairs.jsonl").summary["accuracy"]    # a run directory, as `judgekit judge` writes
```

A :class:`Judge` takes every ``judgekit judge`` flag as a keyword (``--max-new-tokens 48``
is ``max_new_tokens=48``, ``--out`` is ``output``, ``--single-order`` is
``both_orders=False``, ``--no-cache`` is ``cache=False``); a misspelt keyword is a
:class:`TypeError` naming it. It goes through the same code as the CLI: the same
:class:`~judgekit.options.JudgeOptions`, protocols, call cache, both orders,
constrained decoding and, for files, the same resumable run directory and manifest
(``judgekit judge`` itself calls :func:`judge_file`). Without ``protocol`` the judge
follows ``judgekit judge``'s defaults (:func:`judgekit.options.default_protocol`): pairs
are judged by ``pmi`` on the raw base, verification by the hybrid verifier on
judgekit-135m; each model loads once, on first use, and serves every method that runs
on it. Nothing is printed.
"""

from __future__ import annotations

import asyncio
import difflib
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from judgekit.core.backend import Backend
from judgekit.core.cache import CallCache, default_call_cache_path
from judgekit.core.data import samples_from_rows, seeded_subset
from judgekit.core.errors import ConfigError
from judgekit.core.metrics import summarize
from judgekit.core.runner import Runner, RunnerStats
from judgekit.core.types import Judgment, Sample
from judgekit.judge import Progress, RunResult, judge_samples, run_judge
from judgekit.options import (
    VERDICT_PROTOCOL,
    JudgeOptions,
    backend_kwargs,
    build_protocol,
    build_runner,
    columns_from,
    judge_config,
    load_for_protocol,
    protocol_of,
    resolved,
    selection,
)
from judgekit.protocols.base import Protocol, protocol_class, protocol_names

#: The protocol each single-item method uses when the judge's own protocol is for another task.
TASK_PROTOCOLS = {"pairwise": "pairwise", "verify": "verify", "pointwise": "pointwise", "listwise": "listwise"}
OPTION_NAMES = tuple(f.name for f in fields(JudgeOptions))


@dataclass(frozen=True)
class Results:
    """What :meth:`Judge.judge` returns: one judgment per item, in input order, and the run summary.

    ``run_dir`` and ``manifest`` are set when the run wrote a run directory (a file
    input, or ``output=`` given): ``results.jsonl``, ``manifest.json`` and ``summary.json``
    as ``judgekit judge`` writes them.
    """

    judgments: tuple[Judgment, ...]
    summary: Mapping[str, Any]
    run_dir: Path | None = None
    manifest: Mapping[str, Any] | None = None

    def __len__(self) -> int:
        return len(self.judgments)

    def __iter__(self) -> Iterator[Judgment]:
        return iter(self.judgments)

    def __getitem__(self, index: int) -> Judgment:
        return self.judgments[index]

    @property
    def verdicts(self) -> list[str | None]:
        """The final verdict of each item (None where none could be read; see ``failure_reason``)."""
        return [j.verdict for j in self.judgments]

    def to_rows(self) -> list[dict[str, Any]]:
        """The judgments as JSON-ready dicts (the rows of ``results.jsonl``)."""
        return [j.to_dict() for j in self.judgments]

    def to_pandas(self) -> Any:
        """A pandas DataFrame with one row per judgment (needs pandas)."""
        import pandas as pd

        return pd.DataFrame(self.to_rows())

    @classmethod
    def from_run(cls, result: RunResult) -> Results:
        """Wrap what :func:`judgekit.judge.run_judge` returned."""
        return cls(tuple(result.judgments), result.summary, result.run_dir, result.manifest)


def make_options(**kwargs: Any) -> JudgeOptions:
    """:class:`JudgeOptions` from keywords; an unknown keyword is a TypeError naming it (and the closest one)."""
    unknown = [k for k in kwargs if k not in OPTION_NAMES]
    if unknown:
        name = unknown[0]
        close = difflib.get_close_matches(name, OPTION_NAMES, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise TypeError(f"unknown judge option {name!r}{hint}; options: {', '.join(OPTION_NAMES)}")
    for key in ("principle", "option"):
        if key in kwargs:
            value = kwargs[key]
            kwargs[key] = (value,) if isinstance(value, str) else tuple(value or ())
    for key in ("output", "cache_dir", "meta_rm", "esfp_model", "principles"):
        if isinstance(kwargs.get(key), str):
            kwargs[key] = Path(kwargs[key])
    return JudgeOptions(**kwargs)


def default_run_dir(file: Path, protocol: Protocol) -> Path:
    """Where a file's run goes when no output is named: ``runs/<stem>-<protocol>-<method>``."""
    return Path("runs") / f"{file.stem}-{protocol.name}-{protocol.config.method}"


def judge_file(
    file: Path | str,
    opts: JudgeOptions,
    make_runner: Callable[[JudgeOptions], Runner] = build_runner,
    progress: Progress | None = None,
) -> RunResult:
    """Judge every item of ``file`` into a run directory: what ``judgekit judge FILE`` does.

    The protocol and the data are checked before ``make_runner`` loads a model, so a
    bad flag or a bad row fails at once.
    """
    file = Path(file)
    proto = build_protocol(opts)
    chosen = "given" if opts.protocol is not None else "default"
    opts = resolved(opts)
    samples = load_for_protocol(file, proto, opts)
    runner = make_runner(opts)
    run_dir = opts.output or default_run_dir(file, proto)
    return run_judge(samples, proto, runner, run_dir, input_path=file, progress=progress, resume=opts.resume,
                     extra_manifest={"selection": selection(opts, len(samples)), "protocol_choice": chosen})


class Judge:
    """A judge: a model behind a backend, a protocol, and the settings of ``judgekit judge``.

    ``backend`` is a backend name (``"transformers"``, ``"openai"``, ``"vllm"``) or a
    backend object (anything with ``model_id``, ``generate`` and, for logit mode,
    ``score_choices``; see :mod:`judgekit.core.backend`). Every other keyword is a
    ``judgekit judge`` flag (see :class:`~judgekit.options.JudgeOptions`). Without
    ``protocol`` the judge follows ``judgekit judge``: ``pmi`` on the raw base for pairs,
    unless ``model``, ``method`` or a backend object names the judge, which then gives its
    own verdict (``pairwise``). Backends are built on first use, one per model, and shared
    by the methods that run on it; calls are serialised (one model, one at a time), so the
    async variants are safe to call concurrently.
    """

    def __init__(self, model: str | None = None, protocol: str | None = None,
                 backend: str | Backend = "transformers", **options: Any) -> None:
        self._backend = None if isinstance(backend, str) else backend
        name = backend if isinstance(backend, str) else str(getattr(backend, "name", type(backend).__name__))
        if protocol is None and self._backend is not None:
            protocol = VERDICT_PROTOCOL  # a backend object names its model, as --model does: its judgment
        self.options = make_options(model=model, protocol=protocol, backend=name, **options)
        self._protocols: dict[str, Protocol] = {}
        self._runners: dict[str | None, Runner] = {}  # by the model a protocol runs on
        self._loaded: dict[str | None, Backend] = {}  # backends kept across close()
        self._lock = threading.Lock()
        # a bad protocol, setting or backend choice fails here, not at the first call
        self.protocol  # noqa: B018
        if self._backend is None:
            backend_kwargs(self.options)

    def __repr__(self) -> str:
        o = self.options
        return (f"Judge(model={o.model!r}, protocol={protocol_of(o)!r}, backend={o.backend!r}, "
                f"method={o.method!r})")

    @property
    def protocol(self) -> Protocol:
        """The judge's own protocol (the one :meth:`judge` uses; the default one without ``protocol=``)."""
        return self._protocol_named(protocol_of(self.options))

    @property
    def runner(self) -> Runner:
        """The runner (backend + call cache) of the judge's own protocol, built on first use."""
        return self.runner_for(protocol_of(self.options))

    def runner_for(self, name: str) -> Runner:
        """The runner protocol ``name`` uses: one per model (a given backend object serves every protocol)."""
        opts = replace(self.options, protocol=name)
        key = None if self._backend is not None else str(backend_kwargs(opts).get("model"))
        if key not in self._runners:
            backend = self._backend if self._backend is not None else self._loaded.get(key)
            if backend is None:
                self._runners[key] = build_runner(opts)
            else:
                o = self.options
                path = o.cache_dir / "calls.sqlite" if o.cache_dir else default_call_cache_path()
                self._runners[key] = Runner(backend=backend, cache=CallCache(path) if o.cache else None)
        return self._runners[key]

    def close(self) -> None:
        """Close the call caches; the next call reopens them and keeps the loaded models."""
        for key, runner in self._runners.items():
            if runner.cache is not None:
                runner.cache.close()
            if self._backend is None:
                self._loaded[key] = runner.backend
        self._runners = {}

    def __enter__(self) -> Judge:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _protocol_named(self, name: str) -> Protocol:
        if name not in self._protocols:
            default = self.options.protocol is None and name == protocol_of(self.options)
            self._protocols[name] = build_protocol(self.options if default else replace(self.options, protocol=name))
        return self._protocols[name]

    def protocol_for(self, task: str) -> Protocol:
        """The judge's protocol when it judges ``task`` items, else the standard protocol of that task."""
        own = protocol_of(self.options)
        if protocol_class(own).variant(judge_config(self.options)).task == task:
            return self._protocol_named(own)
        name = TASK_PROTOCOLS[task]
        if name not in protocol_names():
            raise ConfigError(f"{name} protocol not available in this judgekit")
        return self._protocol_named(name)

    def _one(self, task: str, sample: Sample) -> Judgment:
        proto = self.protocol_for(task)
        proto.check_samples([sample])
        with self._lock:
            return judge_samples([sample], proto, self.runner_for(proto.name))[0]

    def compare(self, prompt: str, a: str, b: str, label: str | None = None) -> Judgment:
        """Which of two responses to ``prompt`` is better: verdict ``"A"``, ``"B"``, ``"tie"`` or None.

        Both orders are judged (unless ``both_orders=False``); when they disagree the
        verdict is ``"tie"`` and ``consistent`` is False. ``label`` (the right answer, if
        known) is kept with the item.
        """
        return self._one("pairwise", Sample(id="compare", prompt=prompt, responses=(a, b), label=label))

    def verify(self, question: str, response: str, reference: str, label: str | None = None) -> Judgment:
        """Whether ``response`` answers ``question`` as ``reference`` does: ``"correct"`` / ``"incorrect"``."""
        return self._one("verify", Sample(id="verify", prompt=question, responses=(response,),
                                          reference=reference, label=label))

    def score(self, prompt: str, response: str) -> Judgment:
        """A 1-10 score for one response (``scores[0]``; ``reward`` is the score / 10)."""
        return self._one("pointwise", Sample(id="score", prompt=prompt, responses=(response,)))

    def rank(self, prompt: str, responses: Sequence[str]) -> Judgment:
        """Rank several responses with the ``listwise`` protocol (ConfigError where it is not registered)."""
        if "listwise" not in protocol_names():
            raise ConfigError("listwise protocol not available in this judgekit (rank needs `-p listwise`)")
        return self._one("listwise", Sample(id="rank", prompt=prompt, responses=tuple(responses)))

    def judge(self, data: Any, output: Path | str | None = None, progress: Progress | None = None) -> Results:
        """Judge many items with the judge's protocol.

        ``data`` is a file path (JSONL/JSON/CSV/Parquet or a saved ``datasets``
        directory), a list of :class:`~judgekit.Sample`, a list of row dicts, a pandas
        DataFrame or a ``datasets.Dataset``; rows are read with the file loader's schema
        detection and the ``limit`` / ``sample`` / column options. A file (or any input
        with ``output`` named) is written to a resumable run directory with its manifest,
        exactly as ``judgekit judge`` does; other inputs are judged in memory.
        ``progress(done, total)`` is called as chunks finish.
        """
        opts = self.options if output is None else replace(self.options, output=Path(output))
        with self._lock:
            self.runner.stats = RunnerStats()  # this run's counts (the summary keeps this object)
            if isinstance(data, (str, Path)):
                return Results.from_run(judge_file(data, opts, lambda _: self.runner, progress))
            proto = self.protocol
            samples = self._samples(data, proto, opts)
            if opts.output is not None:
                result = run_judge(samples, proto, self.runner, opts.output, progress=progress, resume=opts.resume,
                                   extra_manifest={"selection": selection(opts, len(samples))})
                return Results.from_run(result)
            warnings = proto.check_samples(samples)
            started = time.perf_counter()
            total = len(samples)

            def on_chunk(chunk: list[Judgment], done: list[int] = [0]) -> None:  # noqa: B006 - a counter
                done[0] += len(chunk)
                if progress:
                    progress(done[0], total)

            judgments = judge_samples(samples, proto, self.runner, on_chunk=on_chunk)
            summary = summarize(samples, judgments, time.perf_counter() - started)
            summary["runner"] = vars(self.runner.stats)
            if warnings:
                summary["warnings"] = warnings
            return Results(tuple(judgments), summary)

    def _samples(self, data: Any, proto: Protocol, opts: JudgeOptions) -> list[Sample]:
        if opts.sample is not None and opts.sample < 1:
            raise ConfigError(f"sample={opts.sample}: must be at least 1")
        rows, source = _rows(data)
        if isinstance(rows, list):  # Samples: the selection of load_samples
            items = rows[: opts.limit] if opts.limit is not None else rows
            return seeded_subset(items, opts.sample, opts.seed) if opts.sample is not None else items
        return samples_from_rows(rows, source, task=proto.task, columns=columns_from(opts),  # type: ignore[arg-type]
                                 limit=opts.limit, seed=opts.seed, sample=opts.sample)

    async def acompare(self, prompt: str, a: str, b: str, label: str | None = None) -> Judgment:
        """:meth:`compare` in a worker thread."""
        return await asyncio.to_thread(self.compare, prompt, a, b, label)

    async def averify(self, question: str, response: str, reference: str, label: str | None = None) -> Judgment:
        """:meth:`verify` in a worker thread."""
        return await asyncio.to_thread(self.verify, question, response, reference, label)

    async def ascore(self, prompt: str, response: str) -> Judgment:
        """:meth:`score` in a worker thread."""
        return await asyncio.to_thread(self.score, prompt, response)

    async def arank(self, prompt: str, responses: Sequence[str]) -> Judgment:
        """:meth:`rank` in a worker thread."""
        return await asyncio.to_thread(self.rank, prompt, responses)

    async def ajudge(self, data: Any, output: Path | str | None = None, progress: Progress | None = None) -> Results:
        """:meth:`judge` in a worker thread."""
        return await asyncio.to_thread(self.judge, data, output, progress)


def _rows(data: Any) -> tuple[Iterable[tuple[int, Mapping[str, Any]]] | list[Sample], str]:
    """Numbered rows of an in-memory table, or the list itself when it holds Samples."""
    if hasattr(data, "to_dict") and hasattr(data, "columns") and hasattr(data, "iloc"):  # pandas DataFrame
        return enumerate(data.to_dict(orient="records"), start=1), "<DataFrame>"
    if hasattr(data, "column_names") and hasattr(data, "features"):  # datasets.Dataset
        return ((i, dict(row)) for i, row in enumerate(data, start=1)), "<Dataset>"
    if isinstance(data, (Mapping, Sample)):
        raise TypeError("judge() takes a file path, a list of Samples or rows, a DataFrame or a Dataset, "
                        "not a single item (use compare/verify/score for one)")
    items = list(data)
    if all(isinstance(x, Sample) for x in items):
        return items, "<samples>"
    if all(isinstance(x, Mapping) for x in items):
        return enumerate(items, start=1), "<rows>"
    raise TypeError("judge() takes a file path, a list of Samples or of row dicts, a DataFrame or a Dataset")
