"""Run attacks through the same judging path as ``judgekit judge``.

:func:`plan_probe` turns the user's samples, attacks and protocol into phases: one
per attack and defence setting (the raw model always first; for verification the
raw model and each defence run with ``verify_mode=model``, and the verifier as
configured - the hybrid by default - comes last). :func:`run_phase`
judges a phase with :func:`~judgekit.judge.run_judge` (or
:func:`~judgekit.judge.judge_samples` without a directory), so batching,
constraints, the call cache and resume all apply, and every phase directory is an
ordinary run directory (``results.jsonl``, ``manifest.json``, ``summary.json``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from judgekit.core.errors import ConfigError
from judgekit.core.metrics import summarize
from judgekit.core.runner import Runner
from judgekit.core.types import Sample
from judgekit.judge import judge_samples, run_judge
from judgekit.probe.attacks import ATTACKS, Attack, AttackSettings, ProbeItem, Rate
from judgekit.protocols.base import JudgeConfig, Protocol, get_protocol
from judgekit.protocols.defenses import DEFENSE_OPTION, config_defenses, with_defenses
from judgekit.protocols.verify import MODE_OPTION

RAW = "raw"


@dataclass(frozen=True)
class Phase:
    """One attack judged under one defence setting (``raw``: no defence)."""

    attack: Attack
    defense: str
    protocol: Protocol
    items: tuple[ProbeItem, ...]

    @property
    def dirname(self) -> str:
        """Sub-directory of the probe directory holding this phase's run."""
        return f"{self.attack.name}-{self.defense}"


@dataclass(frozen=True)
class PhaseResult:
    """A judged phase: its rates and the judging run's summary."""

    phase: Phase
    rates: tuple[Rate, ...]
    summary: dict[str, Any]
    run_dir: Path | None


def defense_settings(protocol: Protocol) -> list[tuple[str, ...]]:
    """Raw model first, then each enabled defence alone, then all together (if several)."""
    enabled = config_defenses(protocol.config)
    if enabled and not getattr(type(protocol), "defenses", ()):
        raise ConfigError(f"protocol {protocol.name!r} has no defences; --option {DEFENSE_OPTION}=... "
                          "applies to the verify protocol")
    settings: list[tuple[str, ...]] = [()] + [(d,) for d in enabled]
    if len(enabled) > 1:
        settings.append(enabled)
    return settings


def _variant(protocol: Protocol, config: JudgeConfig) -> Protocol:
    proto = type(protocol)(config=config)
    proto.check()
    return proto


def attack_protocol(attack: Attack, protocol: Protocol) -> Protocol:
    """Pick the protocol an attack runs with (single order for ``position``; pairwise for ``bias-suite``)."""
    config = protocol.config
    if attack.own_data and protocol.task not in attack.tasks:
        plain = with_defenses(config, ())
        plain = replace(plain, options=tuple((k, v) for k, v in plain.options if k != MODE_OPTION))
        protocol = get_protocol(attack.tasks[0], plain)
        config = protocol.config
    if protocol.task not in attack.tasks:
        raise ConfigError(f"attack {attack.name!r} needs a {' or '.join(attack.tasks)} protocol; "
                          f"{protocol.name!r} is a {protocol.task} protocol (choose one with --protocol)")
    if attack.single_order and config.both_orders:
        protocol = _variant(protocol, replace(config, both_orders=False))
    return protocol


def plan_probe(
    samples: Sequence[Sample],
    attacks: Sequence[str],
    protocol: Protocol,
    settings: AttackSettings | None = None,
    bias_samples: Sequence[Sample] | None = None,
) -> list[Phase]:
    """Phases for the requested attacks (validated before any model call)."""
    settings = settings or AttackSettings(seed=protocol.config.seed)
    unknown = [a for a in attacks if a not in ATTACKS]
    if unknown:
        raise ConfigError(f"unknown attack(s) {', '.join(unknown)}; choose from {', '.join(ATTACKS)}")
    phases: list[Phase] = []
    for name in dict.fromkeys(attacks):
        attack = ATTACKS[name]
        proto = attack_protocol(attack, protocol)
        data = bias_samples if attack.own_data else samples
        if data is None:
            raise ConfigError(f"attack {name!r} needs its data set (bias_samples)")
        items = tuple(attack.build(data, settings))
        if not items:
            raise ConfigError(f"attack {name!r}: no item of the input can be attacked "
                              "(it needs labelled items: incorrect candidates, or pairs with a better response)")
        mode = proto.config.option(MODE_OPTION)  # set on verification protocols only
        for enabled in defense_settings(proto):
            config = with_defenses(proto.config, enabled)
            if mode is not None:  # the raw model and each defence measure the model, not the rules
                config = _with_mode(config, "model")
            phases.append(Phase(attack, "+".join(enabled) or RAW, _variant(proto, config), items))
        if mode not in (None, "model"):  # then the verifier as configured (the hybrid by default)
            enabled = config_defenses(proto.config)
            phases.append(Phase(attack, "+".join((*enabled, str(mode))), _variant(proto, proto.config), items))
    return phases


def _with_mode(config: JudgeConfig, mode: str) -> JudgeConfig:
    kept = tuple((k, v) for k, v in config.options if k != MODE_OPTION)
    return replace(config, options=(*kept, (MODE_OPTION, mode)))


def run_phase(
    phase: Phase,
    runner: Runner,
    probe_dir: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    resume: bool = True,
    chunk_size: int = 32,
) -> PhaseResult:
    """Judge one phase and measure it."""
    samples = [it.sample for it in phase.items]
    if probe_dir is None:
        done = 0

        def on_chunk(chunk: list[Any]) -> None:
            nonlocal done
            done += len(chunk)
            if progress:
                progress(done, len(samples))

        judgments = judge_samples(samples, phase.protocol, runner, chunk_size, on_chunk)

        summary, run_dir = summarize(samples, judgments), None
    else:
        run_dir = probe_dir / phase.dirname
        result = run_judge(samples, phase.protocol, runner, run_dir, progress=progress, resume=resume,
                           chunk_size=chunk_size, extra_manifest={"probe": {"attack": phase.attack.name,
                                                                            "defense": phase.defense}})
        judgments, summary = result.judgments, result.summary
    pairs = list(zip(phase.items, judgments, strict=True))
    return PhaseResult(phase, tuple(phase.attack.measure(pairs)), summary, run_dir)
