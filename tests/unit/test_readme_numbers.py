"""Every measured table names the command that regenerates it, and that command exists.

The README keeps no measured tables (issue 32 moved them to the docs page of their
topic); any table it grows must still carry a ``<!-- numbers: COMMAND -->`` comment. In
``docs/*.md`` every such comment must name an existing script or judgekit command and
flags, and the tables that left the README must have kept theirs.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

from typer.testing import CliRunner

from judgekit.cli import app

ROOT = Path(__file__).resolve().parents[2]
COMMENT = re.compile(r"<!-- numbers: (.+?) -->")
WINDOW = 20  # lines between the comment and a table it covers (a table's companion table included)
PAGES = ["README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))]
# Tables that moved out of the README, by page: (a phrase of the table's header row, how many such tables).
MOVED = {
    "docs/judge.md": [("| configuration | seconds | judgments/s |", 1), ("| prefill (batch 1) |", 1)],
    "docs/probe.md": [("| setting | FPR over the 80 key items", 1)],
    "docs/training.md": [("| model | held-out items | position-consistent accuracy", 1)],
    "docs/judge_recipe.md": [("| model | source | mode | items | accuracy [95% CI]", 1)],
    "docs/policy_reward.md": [("| judge | step | mean reward |", 1), ("| clients | batching |", 1)],
    "docs/engines.md": [("| engine and configuration |", 1), ("| machine | configuration | median s |", 1)],
    "docs/peers.md": [("| tool | llama-cpp-python server", 1)],
    "docs/eval.md": [("| benchmark (slice) | headline | value | 95% CI | tie rate", 1)],
    "docs/arena.md": [("| system | judge rating [95% CI]", 1)],
    "docs/esfp.md": [("| method | accuracy | 95% CI (bootstrap)", 1)],
}


def commented_tables(page: str, require: bool) -> list[tuple[int, str, str]]:
    """(line, header row, command of the nearest comment above) for each table of ``page``.

    With ``require`` every table must have a comment; otherwise tables without one are left out.
    """
    lines = (ROOT / page).read_text(encoding="utf-8").splitlines()
    found = []
    for i, line in enumerate(lines):
        if line.startswith("|") and (i == 0 or not lines[i - 1].startswith("|")):
            above = [(j, COMMENT.search(lines[j])) for j in range(max(0, i - WINDOW), i)]
            hits = [(j, m.group(1)) for j, m in above if m]
            assert hits or not require, f"{page}:{i + 1}: table without a <!-- numbers: COMMAND --> comment above it"
            if hits:
                found.append((i + 1, line, hits[-1][1]))
    return found


def all_comments() -> list[tuple[str, int, str]]:
    """(page, line, command) of every numbers comment."""
    out = []
    for page in PAGES:
        for i, line in enumerate((ROOT / page).read_text(encoding="utf-8").splitlines()):
            for m in COMMENT.finditer(line):
                out.append((page, i + 1, m.group(1)))
    return out


def test_readme_tables_name_their_command() -> None:
    commented_tables("README.md", require=True)


def test_tables_moved_out_of_the_readme_kept_their_command() -> None:
    for page, tables in MOVED.items():
        headers = [header for _, header, _ in commented_tables(page, require=False)]
        for phrase, count in tables:
            assert sum(phrase in h for h in headers) >= count, f"{page}: no commented table starting {phrase!r}"


def test_every_comment_names_a_command_that_exists() -> None:
    comments = all_comments()
    assert len(comments) >= 20
    for page, line, command in comments:
        if command.startswith("none"):
            continue
        for part in command.split(" && "):
            argv = shlex.split(part)
            while argv and re.fullmatch(r"[A-Z_]+=\S*", argv[0]):  # VAR=value prefixes
                argv = argv[1:]
            if argv[0] in ("python", "bash"):
                assert (ROOT / argv[1]).is_file(), f"{page}:{line}: {argv[1]} does not exist"
                continue
            assert argv[0] == "judgekit", f"{page}:{line}: {part!r} is neither a script nor judgekit"
            words = [a for a in argv[1:3] if re.fullmatch(r"[a-z][a-z-]*", a)]
            sub = words[:2] if words[:1] == ["esfp"] else words[:1]
            result = CliRunner().invoke(app, [*sub, "--help"], env={"COLUMNS": "200"})
            assert result.exit_code == 0, f"{page}:{line}: judgekit {' '.join(sub)}: {result.output[-300:]}"
            for flag in (a.split("=")[0] for a in argv if a.startswith("--")):
                assert flag in result.output, f"{page}:{line}: judgekit {' '.join(sub)} has no {flag}"


def test_the_regeneration_script_lists_every_command() -> None:
    listed = subprocess.run(["bash", str(ROOT / "scripts" / "docs_numbers.sh")], capture_output=True, text=True,
                            check=True).stdout.splitlines()
    expected = {(f"{page}:{line}", c) for page, line, c in all_comments() if not c.startswith("none")}
    assert {tuple(row.split("\t", 1)) for row in listed} == expected


def test_the_readme_fits_on_about_four_screens() -> None:
    assert len((ROOT / "README.md").read_text(encoding="utf-8").splitlines()) <= 250
