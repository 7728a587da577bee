"""The rubric judge in listwise mode (``-p rubric --option listwise=true``): N responses, one ranking.

The item's rubric (``--rubric FILE`` for the run, or ``--option rubric_dir=DIR`` per item) is
shown with the N responses in the listwise prompt, and the judge ranks them under the
listwise constraint (only permutations of the N labels; strict parser). Everything else is
the listwise protocol's machinery, not a copy: display orders (``--option permutations=``,
``k``), mean-rank (Borda) combining, ties (``min_agreement``), rank rewards (``reward``),
logit mode (best-of-N from label probabilities). Each judgment records its rubric in
``extra["rubric"]``.

``--option rubric=generate`` writes a rubric from a *pair* of responses, so it is refused
here; an item without a rubric file is skipped, and rubrics a folder kept because they
reproduced the item's own gold label are refused unless ``allow_label_rubrics=true``
(:mod:`judgekit.protocols.rubric.sources`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

from judgekit.core.errors import ConfigError
from judgekit.core.runner import Runner
from judgekit.core.types import Judgment, Sample
from judgekit.protocols.base import JudgeConfig
from judgekit.protocols.listwise import OPTIONS, ListwiseProtocol
from judgekit.protocols.rubric.schema import Rubric, parse_rubric_text
from judgekit.protocols.rubric.sources import NoRubric, label_rubric_warnings, own_label, rubric_from_dir
from judgekit.protocols.single import skipped

RUBRIC_OPTIONS = ("listwise", "rubric", "rubric_dir", "allow_label_rubrics")


def listwise_requested(config: JudgeConfig) -> bool:
    """``--option listwise=true|false`` (default false); any other value is an error."""
    raw = str(config.option("listwise", "false")).lower()
    if raw not in ("true", "false"):
        raise ConfigError(f"--option listwise={raw!r}: expected true or false")
    return raw == "true"


class RubricListwiseProtocol(ListwiseProtocol):
    """Rank N responses against a rubric in one prompt, over several display orders."""

    name: ClassVar[str] = "rubric"
    description: ClassVar[str] = "rubric judge, listwise mode: N responses ranked against a rubric in one prompt"
    task: ClassVar[str] = "listwise"
    option_names: ClassVar[tuple[str, ...]] = (*OPTIONS, *RUBRIC_OPTIONS)

    def check(self) -> None:
        """The listwise checks, plus a rubric source that works for N responses."""
        super().check()
        listwise_requested(self.config)
        if self.config.option("rubric") is not None:
            raise ConfigError(f"--option rubric={self.config.option('rubric')}: rubric generation writes a rubric "
                              "from a pair of responses; with listwise=true use --rubric FILE or "
                              "--option rubric_dir=DIR")
        if not self.config.option("rubric_dir") and not self.config.rubric:
            raise ConfigError("protocol 'rubric' with listwise=true needs --rubric FILE or --option rubric_dir=DIR")

    def decoding(self) -> dict[str, Any]:
        """The listwise record, marked as the rubric judge's listwise mode."""
        return {**super().decoding(), "rubric_mode": "listwise"}

    def check_samples(self, samples: Sequence[Sample]) -> list[str]:
        """Refuse (or, when allowed, warn about) rubrics filtered on the items' own labels."""
        return [*super().check_samples(samples), *label_rubric_warnings(self.config, samples)]

    def judge(self, samples: Sequence[Sample], runner: Runner) -> list[Judgment]:
        """Find each item's rubric, then rank every item with a rubric in one listwise batch."""
        self.check()
        self.check_samples(samples)
        folder = self.config.option("rubric_dir")
        rubrics: list[Rubric | NoRubric]
        if folder:
            rubrics = [rubric_from_dir(Path(str(folder)), s) for s in samples]
        else:
            rubrics = [parse_rubric_text(self.config.rubric or "", name="run rubric")] * len(samples)
        keep = [i for i, r in enumerate(rubrics) if isinstance(r, Rubric)]
        texts = [r.to_text() for r in rubrics if isinstance(r, Rubric)]
        judged = iter(self.judge_lists([samples[i] for i in keep], runner, texts))
        out = []
        for sample, rubric in zip(samples, rubrics, strict=True):
            if isinstance(rubric, NoRubric):
                out.append(skipped(sample.id, rubric.reason))
                continue
            j = next(judged)
            extra = {**j.extra, "rubric": rubric.to_dict(),
                     **({"rubric_from_own_label": True} if own_label(rubric, sample) else {})}
            out.append(replace(j, extra=extra))
        return out
