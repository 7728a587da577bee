"""The root command imports a command group's module only when one of its commands is used."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import typer
import typer.main
from typer.testing import CliRunner

from judgekit.cli import app
from judgekit.cli.app import RootGroup

ROOT = Path(__file__).resolve().parents[2]


def _first_paragraph(text: str | None) -> str:
    return inspect.cleandoc(text or "").split("\n\n")[0].replace("\n", " ").strip()


def test_every_lazy_line_is_its_commands_own_help() -> None:
    modules = {entry.module for entry in RootGroup.lazy.values()}
    defined: dict[str, str] = {}
    for module in sorted(modules):
        sub = typer.Typer()
        __import__(module, fromlist=["register"]).register(sub)
        for name, command in typer.main.get_group(sub).commands.items():
            assert RootGroup.lazy[name].module == module, name  # listed, under the module that defines it
            defined[name] = _first_paragraph(command.help)
    assert set(defined) == set(RootGroup.lazy)
    assert {name: entry.help for name, entry in RootGroup.lazy.items()} == defined


def test_root_help_lists_every_command_without_importing_a_group() -> None:
    code = (
        "import sys\n"
        "from judgekit.cli import main\n"
        "sys.argv = ['judgekit', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('LOADED', sorted(m for m in sys.modules if m.startswith('judgekit.cli.')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    loaded = done.stdout.split("LOADED", 1)[1]
    assert all(entry.module not in loaded for entry in RootGroup.lazy.values()), loaded
    for name in ["judge", "protocols", "show", *RootGroup.lazy]:
        assert f" {name} " in done.stdout, name


def test_a_lazy_command_runs_and_shows_its_own_help() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["cache", "--help"])
    assert result.exit_code == 0 and "prune" in result.output and "info" in result.output
    result = runner.invoke(app, ["eval", "--list"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(app, ["no-such-command"]).exit_code == 2
