"""Command groups imported only when one of their commands runs: a lazily filled root command.

Each command group lives in a module of :mod:`judgekit.cli` with a ``register(app)``
function. Importing them all costs as much as a fully cached re-run (evaluation
reports, arena, training, the reward server...), so the root command knows them by
name and one-line help only (:data:`LazyCommand`); the module is imported, and its
commands registered, when one of them is looked up to run or to show its own help.
``judgekit --help`` lists every command from the one-line helps without importing
any group (``tests/unit/test_cli_lazy.py`` checks the lines against the commands).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any, NamedTuple

import typer
import typer.main
from typer.core import TyperCommand, TyperGroup


class LazyCommand(NamedTuple):
    """A command known by name before its module is imported."""

    module: str  # "judgekit.cli.eval": its register(app) adds this command
    help: str  # the first paragraph of the command's help, shown by the root --help


class LazyGroup(TyperGroup):
    """A typer root group whose :attr:`lazy` commands are imported on first lookup.

    Subclasses set :attr:`lazy` (command name -> :class:`LazyCommand`, in the order
    ``--help`` lists them, after the commands defined with the app itself).
    """

    lazy: Mapping[str, LazyCommand] = {}
    _listing = False  # while the root help is formatted: one-line placeholders, nothing imported

    # ctx is typer's click Context (typer vendors click): typed Any to stay off its private module.
    def list_commands(self, ctx: Any) -> list[str]:
        """The app's own commands, then the lazy ones, in registration order."""
        return [*super().list_commands(ctx), *(n for n in self.lazy if n not in self.commands)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        """The command called ``cmd_name``, importing its module first if it is a lazy one."""
        if cmd_name in self.commands or cmd_name not in self.lazy:
            return super().get_command(ctx, cmd_name)
        entry = self.lazy[cmd_name]
        if self._listing:
            return TyperCommand(cmd_name, help=entry.help)
        self.load(entry.module)
        return super().get_command(ctx, cmd_name)

    def load(self, module: str) -> None:
        """Import ``module`` and add every command its ``register(app)`` defines."""
        app = typer.Typer()
        importlib.import_module(module).register(app)
        for name, command in typer.main.get_group(app).commands.items():
            self.add_command(command, name)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        """The root help, listing lazy commands by their one-line help (no module imported)."""
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False
