"""`lockgate`: run the local cloud and operate Lockgate from a terminal.

Every command works against the local cloud by default and against an AWS deployment with
``--stack NAME``; listings take ``--json`` for scripts. User mistakes print one sentence and exit 1.
"""

from __future__ import annotations

import typer

from lockgate_cli import cloud_commands, demo, ml_commands
from lockgate_cli.common import LockgateGroup

app = typer.Typer(cls=LockgateGroup, add_completion=False, no_args_is_help=True, help=__doc__)
cloud_commands.register(app)
ml_commands.register(app)
demo.register(app)


def main(argv: list[str] | None = None) -> None:
    """The ``lockgate`` script: usage errors and :class:`CliError` print one sentence, never a traceback."""
    app(args=argv, prog_name="lockgate")
