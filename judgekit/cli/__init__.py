"""The ``judgekit`` command line: an app, its shared options and one module per command group."""

from judgekit.cli.app import app, main

__all__ = ["app", "main"]
