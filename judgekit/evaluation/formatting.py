"""Table-cell text for numbers, intervals and significance, shared by the Markdown and HTML reports."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from judgekit.core.stats import MIN_N_SIGNIFICANT


def fmt(x: Any, digits: int = 3) -> str:
    """Format a number for a table cell (``-`` for missing)."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


def fmt_ci(ci: Sequence[float] | None) -> str:
    """``[lo, hi]`` for a table cell."""
    return f"[{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "-"


def significance_text(m: Mapping[str, Any]) -> str:
    """``yes`` / ``no`` / ``no (n<MIN)`` for a paired comparison entry."""
    if m.get("significant"):
        return "yes"
    if m.get("underpowered"):
        return f"no (n<{m.get('min_n', MIN_N_SIGNIFICANT)})"
    return "no"
