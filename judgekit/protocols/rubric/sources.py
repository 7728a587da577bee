"""Where a rubric judge's per-item rubric comes from, shared by the pairwise and the listwise rubric judge.

* :func:`rubric_from_dir`: the file ``judgekit rubrics generate`` saved for an item, or
  :class:`NoRubric` (the item is skipped, not a parse failure);
* :func:`label_rubric_warnings`: rubrics that a folder kept because judging the *same* item
  with them reproduced its gold label are refused (accuracy on them is correct by
  construction) unless ``--option allow_label_rubrics=true``, and then flagged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from judgekit.core.errors import ConfigError
from judgekit.core.types import Sample
from judgekit.protocols.base import JudgeConfig
from judgekit.protocols.rubric.generate import rubric_filename
from judgekit.protocols.rubric.schema import Rubric, RubricError, load_rubric


@dataclass(frozen=True)
class NoRubric:
    """Why an item has no usable rubric (the item is skipped, not a parse failure)."""

    reason: str


def rubric_from_dir(folder: Path, sample: Sample) -> Rubric | NoRubric:
    """The item's saved rubric, or why there is none."""
    path = folder / rubric_filename(sample.id)
    if not path.is_file():
        return NoRubric(f"no rubric file {path}")
    try:
        return load_rubric(path)
    except RubricError as exc:
        return NoRubric(str(exc))


def own_label(rubric: Rubric, sample: Sample) -> bool:
    """Whether ``rubric`` was generated and label-filtered on ``sample`` itself."""
    return bool(rubric.source.get("labeled")) and rubric.source.get("sample_id") == sample.id


def _from_own_label(folder: Path, sample: Sample) -> bool:
    path = folder / rubric_filename(sample.id)
    try:
        return path.is_file() and own_label(load_rubric(path), sample)
    except RubricError:
        return False


def label_rubric_warnings(config: JudgeConfig, samples: Sequence[Sample]) -> list[str]:
    """Refuse (or, when allowed, warn about) items whose ``rubric_dir`` rubric was filtered on their own label."""
    folder = config.option("rubric_dir")
    if not folder or config.option("rubric") == "generate":
        return []
    own = [s.id for s in samples if _from_own_label(Path(folder), s)]
    if not own:
        return []
    allow = str(config.option("allow_label_rubrics", "false")).lower()
    if allow not in ("true", "false"):
        raise ConfigError(f"--option allow_label_rubrics={allow!r}: expected true or false")
    msg = (f"{len(own)} of {len(samples)} items are judged with rubrics that {folder} kept because they "
           f"reproduced these items' gold labels (e.g. {', '.join(own[:3])}): accuracy on them is correct "
           "by construction")
    if allow != "true":
        raise ConfigError(msg + "; judge held-out items, or pass --option allow_label_rubrics=true "
                          "to run anyway (flagged in the manifest, the summary and each judgment)")
    return [msg]
