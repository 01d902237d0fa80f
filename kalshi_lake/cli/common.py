"""Helpers every CLI command module shares: one-line errors, exit codes, settings, consoles, JSON output.

Library warnings print as one ``warning: …`` line. Errors a user can cause end as ONE line on stderr (``error: …``) and a non-zero exit, never a traceback:
1 failed / refused / invalid input, 3 outcome unknown (an order write whose answer was lost: look it up before
retrying), 4 not confirmed, 130 interrupted. Decimals print as strings in JSON (exact money, never floats).
"""

from __future__ import annotations

import functools
import json
import warnings
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import typer

# typer is imported where used: `kalshi-lake status` runs without it (kalshi_lake.cli.status_view)

EXIT_FAILED = 1
EXIT_UNKNOWN = 3
EXIT_NOT_CONFIRMED = 4
EXIT_INTERRUPTED = 130


def one_line(message: Any) -> str:
    """The text of a message or exception folded onto one line (the exception's type if it has no text)."""
    text = str(message).strip()
    if not text and isinstance(message, BaseException):
        text = type(message).__name__
    return " ".join(text.split())


def fail(message: Any, code: int = EXIT_FAILED) -> typer.Exit:
    """Print ``error: <message>`` on one line to stderr; return the Exit to raise."""
    import typer

    typer.echo(f"error: {one_line(message)}", err=True)
    return typer.Exit(code)


def handle_errors(fn: Callable, *, interrupt_exits_at_once: bool = False) -> Callable:
    """Library errors → one line on stderr and a non-zero exit (no traceback); see the module docstring.

    ``OSError`` (disk full, permission denied, a lake dir that is a file) is one line too. With
    ``interrupt_exits_at_once`` Ctrl-C leaves the process at once (``os._exit(130)``) instead of waiting for
    worker threads: right for pulls, whose lake writes are crash-safe."""

    import typer

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from kalshi_extract.errors import KalshiLakeError, OrderOutcomeUnknown

        try:
            with warnings.catch_warnings():  # restores Python's own display afterwards
                warnings.showwarning = _one_line_warning
                return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except OrderOutcomeUnknown as exc:
            raise fail(exc, EXIT_UNKNOWN) from None
        except (KalshiLakeError, OSError) as exc:
            raise fail(exc) from None
        except KeyboardInterrupt:
            if not interrupt_exits_at_once:
                raise fail("interrupted", EXIT_INTERRUPTED) from None
            import os
            import sys

            typer.echo("error: interrupted", err=True)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(EXIT_INTERRUPTED)

    return wrapper


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Library warnings (e.g. a private key file readable by others) as ``warning: …`` on one line, without
    Python's file/line and source excerpt."""
    import typer

    typer.echo(f"warning: {one_line(message)}", err=True)


def load_settings():
    """Settings from the environment / kalshi-lake.toml (a bad setting raises ConfigError: one line)."""
    from kalshi_extract.settings import Settings

    return Settings.load()


def console(err: bool = False):
    """A rich console on stdout (or stderr). Piped or captured output is not folded into 80 columns, unless
    ``COLUMNS`` is set (the user asked for that width)."""
    import os

    from rich.console import Console

    con = Console(stderr=err, soft_wrap=False)
    if not con.is_terminal and not os.environ.get("COLUMNS"):
        con.width = max(con.width, 220)
    return con


def jsonable(value: Any) -> Any:
    """Plain JSON values: Decimal → exact string, datetimes → ISO text, result objects → their ``to_dict()``."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "to_dict"):
        return jsonable(value.to_dict())
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def print_json(value: Any) -> None:
    """Print ``value`` as indented JSON with sorted keys on stdout."""
    import typer

    typer.echo(json.dumps(jsonable(value), indent=2, sort_keys=True))
