"""What every `lockgate` command shares: the consoles, the common options, output helpers, and the
one place an error a user can cause becomes one sentence and exit code 1 (:class:`LockgateGroup`)."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import requests
import typer
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError
from lockgate.errors import LockgateError
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.core import TyperGroup

from lockgate_cli.target import CliError, Target, resolve_target

console = Console()
err = Console(stderr=True)

StackOpt = Annotated[
    str | None,
    typer.Option("--stack", help="Operate an AWS stack (reads its outputs) instead of the local cloud."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def target(stack: str | None) -> Target:
    return resolve_target(stack)


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, default=str) + "\n")


def table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    t = Table(title=title, title_justify="left")
    for c in columns:
        t.add_column(c, overflow="fold")  # wrap long ids and paths; never hide them
    for r in rows:
        t.add_row(*[("" if v is None else escape(str(v))) for v in r])  # data, not markup
    console.print(t)


def user_error(exc: Exception) -> str | None:
    """The one sentence for what a user can cause (a refused request, an unknown model, a refused
    state change, an unreachable cloud, AWS refusing a call); None for a bug, which keeps its traceback."""
    if isinstance(exc, CliError):
        return str(exc)
    if isinstance(exc, LockgateError):
        return exc.message
    if isinstance(exc, EndpointConnectionError):
        return (
            f"cannot reach {exc.kwargs.get('endpoint_url', 'the endpoint')}: is the local cloud "
            "running (`lockgate up`)?"
        )
    if isinstance(exc, NoCredentialsError):
        return "no AWS credentials found; configure them (aws configure / AWS_PROFILE)"
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"AWS refused {exc.operation_name}: {error.get('Code', '?')}: {error.get('Message', '')}"
    if isinstance(exc, requests.ConnectionError):
        url = exc.request.url if exc.request is not None else "the API"
        return f"cannot reach {url}; is the stack's API up?"
    return None


class LockgateGroup(TyperGroup):
    """Prints an error a user can cause (:func:`user_error`), raised by any (sub)command, as one
    sentence and exits 1, however the app is run (the ``lockgate`` script, ``CliRunner``, embedding)."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            message = user_error(exc)
            if message is None:
                raise
            err.print("[red]error:[/]", escape(message), soft_wrap=True)
            raise typer.Exit(1) from None
