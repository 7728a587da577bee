"""``judgekit compare-rewards``: STARC distance between judges' rewards on the same items.

Thin command over :mod:`judgekit.arena.starc`; reads two or more ``judgekit judge``
run directories (or their ``results.jsonl``) and prints one row per pair of runs.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from judgekit.arena.starc import rewards_of, starc_distance
from judgekit.cli.common import out, user_errors
from judgekit.core.data import DataError
from judgekit.evaluation.formatting import fmt


def load_rewards(run: Path) -> dict[str, list[float | None]]:
    """Per-response rewards of every judged item of a run (unusable rows are left out)."""
    path = run / "results.jsonl" if run.is_dir() else run
    if not path.is_file():
        raise DataError(path, "not found (give a run directory or its results.jsonl)")
    found: dict[str, list[float | None]] = {}
    with path.open(encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise DataError(path, f"not JSON ({exc})", line=line_no) from exc
            if not isinstance(row, dict) or "sample_id" not in row:
                raise DataError(path, "not a judgment row", line=line_no, field="sample_id")
            rewards = rewards_of(row)
            if rewards is not None:
                found[str(row["sample_id"])] = rewards
    return found


def compare_rewards(
    runs: Annotated[list[Path], typer.Argument(help="Two or more `judgekit judge` run directories (same items).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """STARC distance (Skalse et al. 2024) between each pair of runs' rewards: 0 same, 1 opposite."""
    with user_errors():
        if len(runs) < 2:
            raise DataError(runs[0] if runs else Path("."), "compare-rewards needs at least two runs")
        loaded = {str(r): load_rewards(r) for r in runs}
    rows: list[dict[str, Any]] = []
    for a, b in itertools.combinations(loaded, 2):
        rows.append({"first": a, "second": b, **starc_distance(loaded[a], loaded[b]).to_dict()})
    if as_json:
        out.print_json(json.dumps(rows))
        return
    table = Table(title="STARC distance (bandit canonicalisation, L2, halved: 0 same, 1 opposite)",
                  header_style="bold")
    for col in ("first", "second", "STARC", "items", "responses", "skipped", "same top response"):
        table.add_column(col, justify="left" if col in ("first", "second") else "right")
    for r in rows:
        table.add_row(r["first"], r["second"], fmt(r["starc"]), str(r["items"]), str(r["responses"]),
                      str(r["skipped"]), fmt(r["top_agreement"]))
    out.print(table)


def register(app: typer.Typer) -> None:
    """Attach ``judgekit compare-rewards``."""
    app.command("compare-rewards")(compare_rewards)
