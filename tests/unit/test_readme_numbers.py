"""Every table of numbers in README.md names the command that regenerates it, and that command exists."""

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


def tables_and_commands() -> list[tuple[int, str]]:
    """(README line of each table, the command of the nearest comment above it)."""
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    found = []
    for i, line in enumerate(lines):
        if line.startswith("|") and not lines[i - 1].startswith("|"):
            above = [(j, COMMENT.search(lines[j])) for j in range(max(0, i - WINDOW), i)]
            hits = [(j, m.group(1)) for j, m in above if m]
            assert hits, f"README.md:{i + 1}: table without a <!-- numbers: COMMAND --> comment above it"
            found.append((i + 1, hits[-1][1]))
    return found


def test_every_table_names_a_command_that_exists() -> None:
    tables = tables_and_commands()
    assert len(tables) >= 10
    for line, command in tables:
        if command.startswith("none"):
            continue
        for part in command.split(" && "):
            argv = shlex.split(part)
            if argv[0] in ("python", "bash"):
                assert (ROOT / argv[1]).is_file(), f"README.md:{line}: {argv[1]} does not exist"
                continue
            assert argv[0] == "judgekit", f"README.md:{line}: {part!r} is neither a script nor judgekit"
            words = [a for a in argv[1:3] if re.fullmatch(r"[a-z][a-z-]*", a)]
            sub = words[:2] if words[:1] == ["esfp"] else words[:1]
            result = CliRunner().invoke(app, [*sub, "--help"], env={"COLUMNS": "200"})
            assert result.exit_code == 0, f"README.md:{line}: judgekit {' '.join(sub)}: {result.output[-300:]}"
            for flag in (a.split("=")[0] for a in argv if a.startswith("--")):
                assert flag in result.output, f"README.md:{line}: judgekit {' '.join(sub)} has no {flag}"


def test_the_regeneration_script_lists_every_command() -> None:
    listed = subprocess.run(["bash", str(ROOT / "scripts" / "readme_numbers.sh")], capture_output=True, text=True,
                            check=True).stdout.splitlines()
    commands = {c for _, c in tables_and_commands() if not c.startswith("none")}
    assert {row.split("\t", 1)[1] for row in listed} == commands
