"""The learned combination as a judge: likelihood signals and text features, weighted by a fitted file.

The weights come from ``eval/likelihood_judges.py table`` (logistic regression on per-pair
differences, trained on the train side, chosen on dev; :mod:`judgekit.core.combination`).
``--option weights=PATH`` picks another file; the shipped one is
``judgekit/protocols/combination.json``. Each likelihood feature is computed by its own
protocol on the run's model (so the cache serves them all), the text features from the
responses. The features were measured on the raw embedded model, which is this protocol's
default model. A missing feature (a missing log-prob) is a recorded failure, never a verdict.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from judgekit.core.combination import Combination, text_features
from judgekit.core.errors import ConfigError
from judgekit.core.likelihood import pair_verdict
from judgekit.core.runner import Runner
from judgekit.core.types import Judgment, Sample, Turn
from judgekit.protocols.base import JudgeConfig, Protocol, get_protocol
from judgekit.protocols.single import skipped

SHIPPED = Path(__file__).with_name("combination.json")
#: feature name -> (protocol, its options): the likelihood signals a combination may use
SIGNALS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "pmi-token": ("pmi", (("norm", "token"),)), "pmi-char": ("pmi", (("norm", "char"),)),
    "pmi-none": ("pmi", (("norm", "none"),)), "forward-token": ("likelihood", (("norm", "token"),)),
    "forward-char": ("likelihood", (("norm", "char"),)), "forward-none": ("likelihood", (("norm", "none"),)),
    "flip-token": ("flip", (("norm", "token"),)), "endogenous": ("endogenous", (("norm", "token"),)),
    "endogenous-none": ("endogenous", (("norm", "none"),)),
}
TEXT = ("log-length", "refusal")


def load_combination(path: Path) -> tuple[Combination, dict[str, Any]]:
    """The weights file: the combination and its provenance; unknown features are a ConfigError."""
    if path == SHIPPED and not path.is_file():
        raise ConfigError("protocol 'combined': no combination is shipped (on dev none beat every single signal, see "
                          "docs/likelihood_judges.md); fit one with eval/likelihood_judges.py and pass "
                          "--option weights=PATH")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"--option weights={path}: cannot read a combination file ({exc})") from exc
    combo = Combination.from_dict(data)
    unknown = [f for f in combo.features if f not in SIGNALS and f not in TEXT]
    if unknown:
        raise ConfigError(f"{path}: features {', '.join(unknown)} cannot be computed by this protocol "
                          f"(known: {', '.join([*SIGNALS, *TEXT])})")
    return combo, data


class CombinedProtocol(Protocol):
    """Logistic combination of likelihood signals and text features (order-free)."""

    name: ClassVar[str] = "combined"
    option_names: ClassVar[tuple[str, ...]] = ("weights",)
    flag_options: ClassVar[tuple[str, ...]] = ()
    description: ClassVar[str] = "learned combination of PMI/likelihood/FLIP/endogenous + length/refusal; order-free"
    task: ClassVar[str] = "pairwise"
    templates: ClassVar[tuple[str, ...]] = ("likelihood", "flip")
    methods: ClassVar[tuple[str, ...]] = ()  # no verdict prompt: --method does not apply
    scored: ClassVar[bool] = True
    default_model: ClassVar[str | None] = "smollm2"  # the features were measured on the raw base

    def check(self) -> None:
        """Only ``weights`` as an option; the file must name computable features."""
        if self.config.method != "generative":
            raise ConfigError(f"protocol {self.name!r} scores log-probs; --method does not apply (leave it unset)")
        super().check()
        self.combination()

    def combination(self) -> tuple[Combination, dict[str, Any]]:
        """The fitted weights (``--option weights=PATH`` or the shipped file)."""
        return load_combination(Path(str(self.config.option("weights", SHIPPED))))

    def judge(self, samples: Sequence[Sample], runner: Runner) -> list[Judgment]:
        """Every needed signal over the batch (one protocol each, cached), then the weighted margin."""
        combo, data = self.combination()
        signals: dict[str, list[Judgment]] = {}
        for feat in combo.features:
            if feat in SIGNALS:
                proto, options = SIGNALS[feat]
                signals[feat] = get_protocol(proto, JudgeConfig(options=options)).judge(samples, runner)
        out = []
        for i, s in enumerate(samples):
            if len(s.responses) != 2:
                raise ConfigError(f"sample {s.id}: protocol 'combined' judges pairs, got {len(s.responses)} responses")
            skip = next((j.extra["skipped"] for js in signals.values() if "skipped" in (j := js[i]).extra), None)
            if skip:
                out.append(skipped(s.id, skip))
                continue
            feats: dict[str, float | None] = dict(text_features(*s.responses))
            failures = []
            for feat, js in signals.items():
                sc = js[i].scores
                feats[feat] = None if sc is None else sc[0] - sc[1]
                if sc is None:
                    failures.append(f"{feat}: {js[i].failure_reason}")
            margin = combo.margin(feats)
            trace = (Turn(name=self.name, prompt=f"combined ({data.get('name', 'weights')})", output="",
                          parsed={"features": feats, "margin": margin}),)
            if margin is None:
                out.append(Judgment(sample_id=s.id, verdict=None, reward=None, parse_failure=True,
                                    failure_reason="; ".join(failures) or "a feature is missing", trace=trace))
                continue
            label, probs = pair_verdict([margin, 0.0])
            extra: dict[str, Any] = {"features": feats}
            if label == "tie":
                extra["tie_reason"] = "exact tie: the weighted margin is 0"
            out.append(Judgment(sample_id=s.id, verdict=label, reward=0.5 if label == "tie" else probs["A"],
                                probs=probs, scores=(margin, -margin), trace=trace, extra=extra))
        return out
