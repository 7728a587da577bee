"""What a protocol is, its run configuration, and the protocol registry.

A protocol decides which prompts to render, in which order, and how to combine the
parsed answers into a Judgment. It never calls a model directly: it asks the
:class:`~judgekit.core.runner.Runner` for whole batches, turn by turn.
"""

from __future__ import annotations

import difflib
import importlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from judgekit.core.errors import ConfigError
from judgekit.core.formats import Format
from judgekit.core.runner import Runner
from judgekit.core.types import GenerationParams, Judgment, Sample
from judgekit.scaling.meta_rm import overlap_warning
from judgekit.scaling.reducers import canonical_reducer

Method = Literal["generative", "logit"]
Inconsistency = Literal["tie", "first", "average"]
INCONSISTENCY = ("tie", "first", "average")


@dataclass(frozen=True)
class JudgeConfig:
    """Everything about a judging run that is not the data or the model."""

    method: Method = "generative"
    constrain: bool = True
    both_orders: bool = True
    inconsistency: Inconsistency = "tie"
    max_new_tokens: int = 96
    temperature: float = 0.0
    top_p: float = 1.0
    samples: int = 1
    seed: int = 0
    reduce: str = "majority"
    rubric: str | None = None
    principles: tuple[str, ...] = ()
    options: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        """Refuse k > 1 greedy samples up front (k identical answers; vLLM rejects n > 1 at T = 0)."""
        if self.method == "generative" and self.samples > 1 and self.temperature == 0:
            raise ConfigError(
                f"samples={self.samples} needs temperature > 0: greedy decoding gives {self.samples} identical "
                "answers (and vLLM refuses n > 1 at temperature 0); set --temperature, e.g. 0.7"
            )

    def option(self, name: str, default: Any = None) -> Any:
        """Protocol-specific option (``--option key=value`` on the CLI)."""
        return dict(self.options).get(name, default)

    def params(self, constraint: Any = None, max_new_tokens: int | None = None) -> GenerationParams:
        """Decoding parameters for one generative turn."""
        return GenerationParams(
            max_new_tokens=max_new_tokens or self.max_new_tokens,
            temperature=self.temperature,
            top_p=self.top_p,
            n=self.samples,
            seed=self.seed,
            constraint=constraint if self.constrain else None,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view for the manifest."""
        d = asdict(self)
        d["options"] = dict(self.options)
        return d


# options the shared flags set on every protocol (``--meta-rm``, ``--k-meta``, ``--esfp-model``)
FLAG_OPTIONS = ("meta_rm", "k_meta", "esfp_model")


def check_option_names(options: Sequence[tuple[str, Any]], allowed: Sequence[str], protocol: str,
                       flags: Sequence[str] = FLAG_OPTIONS) -> None:
    """A misspelt or inapplicable ``--option`` is a :class:`ConfigError`, never silently ignored.

    ``flags``: the shared flags' options the protocol honours (none, for a one-pass scorer).
    """
    unknown = [k for k, _ in options if k not in allowed and k not in flags]
    if not unknown:
        return
    close = difflib.get_close_matches(unknown[0], allowed, n=1)
    takers = [n for n in protocol_names() if unknown[0] in protocol_class(n).option_names]
    hint = (f" (did you mean {close[0]!r}?)" if close else
            f" (it applies to -p {', '.join(takers)})" if takers else "")
    takes = f"it takes {', '.join(allowed)}" if allowed else "it takes none"
    raise ConfigError(f"protocol {protocol!r}: unknown --option {', '.join(unknown)}{hint}; {takes}")


@dataclass
class Protocol(ABC):
    """Base class: subclasses set the class variables and implement :meth:`judge`."""

    name: ClassVar[str]
    description: ClassVar[str]
    task: ClassVar[str] = "pairwise"
    templates: ClassVar[tuple[str, ...]] = ()
    methods: ClassVar[tuple[str, ...]] = ("generative",)  # () : scores without a verdict prompt, --method n/a
    verdict_format: ClassVar[Format | None] = None
    scored: ClassVar[bool] = False  # verdicts carry per-response scores (``--reduce score-sum`` works)
    default_model: ClassVar[str | None] = None  # the model it was measured with, when --model is not given
    # the ``--option`` keys it reads; a key outside them (and flag_options) is a ConfigError, never ignored
    option_names: ClassVar[tuple[str, ...]] = ()
    # the shared flags' options it honours (--meta-rm, --k-meta, --esfp-model); () for one-pass scorers
    flag_options: ClassVar[tuple[str, ...]] = FLAG_OPTIONS
    config: JudgeConfig = field(default_factory=JudgeConfig)

    def __post_init__(self) -> None:  # noqa: B027 - an optional hook, deliberately empty here
        """Hook: a subclass may make its defaults explicit in ``config`` here (verify records its mode)."""

    def decoding(self) -> dict[str, Any]:
        """Decoding parameters of the verdict turn, as recorded in the manifest."""
        if self.config.method == "logit":
            fmt = self.verdict_format
            return {"method": "logit", "prefix": fmt.logit_prefix if fmt else None,
                    "choices": dict(fmt.logit_choices) if fmt else None}
        constraint = self.verdict_format.constraint() if self.verdict_format else None
        return {"method": "generative", **self.config.params(constraint).to_dict()}

    def check(self) -> None:
        """Raise :class:`ConfigError` if the config does not suit this protocol."""
        if not self.methods:
            if self.config.method != "generative":  # the default: --method was not given
                raise ConfigError(f"protocol {self.name!r} scores without a verdict prompt: --method does not apply "
                                  "(leave it unset)")
        elif self.config.method not in self.methods:
            raise ConfigError(
                f"protocol {self.name!r} supports method(s) {', '.join(self.methods)}, "
                f"not {self.config.method!r}"
            )
        check_option_names(self.config.options, self.option_names, self.name, self.flag_options)
        if self.config.inconsistency not in INCONSISTENCY:
            raise ConfigError(f"--inconsistency {self.config.inconsistency!r}: choose {', '.join(INCONSISTENCY)}")

        try:
            reduce = canonical_reducer(self.config.reduce)
        except ValueError as exc:
            raise ConfigError(f"--reduce: {exc}") from exc
        if reduce == "score-sum" and not self.scored:
            raise ConfigError(
                f"--reduce score-sum needs per-response scores, which protocol {self.name!r} does not give "
                "(use it with pointwise or spct; majority or mean-prob here)"
            )

    def check_samples(self, samples: Sequence[Sample]) -> list[str]:
        """Warnings about judging these samples with this config; ConfigError when unsound.

        The base check: a meta-RM (``--reduce meta``) trained on items being judged
        (see :func:`judgekit.scaling.meta_rm.training_overlap`) is a warning.
        """
        path = self.config.option("meta_rm")
        if self.config.reduce not in ("meta", "meta-rm") or not path:
            return []

        found = overlap_warning(Path(str(path)), [s.id for s in samples])
        return [found] if found else []

    @classmethod
    def variant(cls, config: JudgeConfig) -> type[Protocol]:
        """The class that judges with ``config``: itself, unless an option switches the task (rubric listwise)."""
        return cls

    @abstractmethod
    def judge(self, samples: Sequence[Sample], runner: Runner) -> list[Judgment]:
        """Judge a batch of samples; one Judgment per sample, in order."""


_PROTOCOLS: dict[str, str] = {
    "pairwise": "judgekit.protocols.pairwise:PairwiseProtocol",
    "pointwise": "judgekit.protocols.pointwise:PointwiseProtocol",
    "listwise": "judgekit.protocols.listwise:ListwiseProtocol",
    "prm": "judgekit.protocols.prm:PRMProtocol",
    "verify": "judgekit.protocols.verify:VerifyProtocol",
    "rubric": "judgekit.protocols.rubric.protocol:RubricProtocol",
    "br-rm": "judgekit.protocols.rethink:BranchRethinkProtocol",
    "spct": "judgekit.protocols.spct:SPCTProtocol",
    "rm-r1": "judgekit.protocols.chain_rubrics:ChainOfRubricsProtocol",
    "esfp": "judgekit.esfp.protocol:ESFPProtocol",
    "esfp-pointwise": "judgekit.esfp.protocol:ESFPPointwiseProtocol",
    "tool-verify": "judgekit.protocols.tooluse:ToolVerifyProtocol",
    "tool-pairwise": "judgekit.protocols.tooluse:ToolPairwiseProtocol",
    "commit-first": "judgekit.protocols.commit_first:CommitFirstProtocol",
    "commit-first-pairwise": "judgekit.protocols.commit_first:CommitFirstPairwiseProtocol",
    "likelihood": "judgekit.protocols.likelihood:LikelihoodProtocol",
    "pmi": "judgekit.protocols.likelihood:PMIProtocol",
    "flip": "judgekit.protocols.likelihood:FlipProtocol",
    "flip-gen": "judgekit.protocols.likelihood:FlipGenerativeProtocol",
    "endogenous": "judgekit.protocols.likelihood:EndogenousProtocol",
    "likelihood-pointwise": "judgekit.protocols.likelihood:LikelihoodPointwise",
    "pmi-pointwise": "judgekit.protocols.likelihood:PMIPointwise",
    "flip-pointwise": "judgekit.protocols.likelihood:FlipPointwise",
    "flip-gen-pointwise": "judgekit.protocols.likelihood:FlipGenerativePointwise",
    "endogenous-pointwise": "judgekit.protocols.likelihood:EndogenousPointwise",
    "dpo": "judgekit.protocols.likelihood:DPOProtocol",
    "dpo-pointwise": "judgekit.protocols.likelihood:DPOPointwise",
    "combined": "judgekit.protocols.combined:CombinedProtocol",
    "scalar-rm": "judgekit.protocols.scalar_rm:ScalarRMProtocol",
    "scalar-rm-pointwise": "judgekit.protocols.scalar_rm:ScalarRMPointwiseProtocol",
    "rlbff": "judgekit.protocols.rlbff:RLBFFProtocol",
    "rlbff-pointwise": "judgekit.protocols.rlbff:RLBFFPointwiseProtocol",
    "activation-rm": "judgekit.protocols.activation_rm:ActivationRMProtocol",
    "activation-rm-pointwise": "judgekit.protocols.activation_rm:ActivationRMPointwiseProtocol",
}


def register_protocol(name: str, target: str) -> None:
    """Register ``"module:Class"`` as protocol ``name`` (imported lazily)."""
    _PROTOCOLS[name] = target


def protocol_class(name: str) -> type[Protocol]:
    """Import and return the protocol class registered as ``name``."""
    if name not in _PROTOCOLS:
        raise ConfigError(f"unknown protocol {name!r}; choose from {', '.join(sorted(_PROTOCOLS))}")
    module, _, cls = _PROTOCOLS[name].partition(":")
    found: type[Protocol] = getattr(importlib.import_module(module), cls)
    return found


def get_protocol(name: str, config: JudgeConfig | None = None) -> Protocol:
    """Instantiate a protocol with a config and validate the pair."""
    config = config or JudgeConfig()
    proto = protocol_class(name).variant(config)(config=config)
    proto.check()
    return proto


def protocol_names() -> list[str]:
    """Registered protocol names."""
    return sorted(_PROTOCOLS)
