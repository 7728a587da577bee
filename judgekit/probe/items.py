"""The nouns every attack shares: a probed item, a measured rate, and the helpers that build and count them."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from judgekit.core.stats import Z95_ROUNDED, wilson_interval
from judgekit.core.types import Judgment, Sample


@dataclass(frozen=True)
class ProbeItem:
    """One probed sample: what was judged, how it was made, what the attacker wants."""

    sample: Sample
    source_id: str
    variant: str
    group: str
    target: str | None = None


@dataclass(frozen=True)
class Rate:
    """``k`` of ``n`` judged items did the measured thing (with a Wilson 95% CI)."""

    metric: str
    group: str
    name: str
    k: int
    n: int
    parse_failures: int = 0

    @property
    def rate(self) -> float | None:
        """``k / n`` (None when nothing was judged)."""
        return self.k / self.n if self.n else None

    @property
    def ci95(self) -> tuple[float, float]:
        """Wilson score interval."""
        return wilson_interval(self.k, self.n, z=Z95_ROUNDED)


def _tag(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


_KEEP = "\x00keep"


def _probe(sample: Sample, attack: str, variant: str, group: str, target: str | None,
           responses: tuple[str, ...] | None = None, label: str | None = _KEEP) -> ProbeItem:
    responses = sample.responses if responses is None else responses
    new = replace(
        sample, id=f"{sample.id}::{attack}::{_tag(variant + chr(0) + chr(0).join(responses))}",
        responses=responses, label=sample.label if label == _KEEP else label,
        metadata={**sample.metadata, "probe": {"attack": attack, "variant": variant, "group": group,
                                               "source_id": sample.id}},
    )
    return ProbeItem(sample=new, source_id=sample.id, variant=variant, group=group, target=target)


def swap_seeded(sample_id: str, seed: int) -> bool:
    """Whether this item's order is swapped (reproducible per id and seed)."""
    return random.Random(f"{seed}:{sample_id}").random() < 0.5


Pairs = Sequence[tuple[ProbeItem, Judgment]]


def _judged(pairs: Pairs) -> list[tuple[ProbeItem, Judgment]]:
    return [(it, j) for it, j in pairs if "skipped" not in j.extra]


def _rate(metric: str, group: str, name: str, pairs: Pairs, hit: Callable[[ProbeItem, Judgment], bool]) -> Rate:
    judged = _judged(pairs)
    return Rate(metric, group, name, k=sum(1 for it, j in judged if hit(it, j)), n=len(judged),
                parse_failures=sum(1 for _, j in judged if j.parse_failure))
