"""Keep pydantic out of commands that pass no typed value (`kalshi-lake status`, `--help`, ...).

Typer (0.2x) converts every option and argument through a pydantic ``TypeAdapter``, built the first time the
parameter is processed — also when its value is None (an option not given, the implicit ``--help`` flag of every
command and of the root group), where the conversion returns None without ever using the adapter. Building it
imports pydantic: ~0.1 s of CPU on each `kalshi-lake status`, a quarter of its start-up on top of pyarrow.

`install()` wraps typer's builder so the adapter is built on the first value that needs converting, and a value
the conversion would return unchanged (a ``str`` for a ``str`` parameter, a ``bool`` for a ``bool`` flag) is
returned as it is (also an ``int`` default): `kalshi-lake sql "select 1"` imports no pydantic either. Conversions
are typer's own, unchanged: a None value gives exactly what typer's ``RuntimeParam.coerce`` gives (``()`` for a
multi-value parameter, else None), and every other value goes through the real coercion. With a typer that has no
such builder (older releases convert through click) `install()` does nothing.
"""

from __future__ import annotations

from typing import Any


class _LazyRuntimeParam:
    """Typer's runtime coercion for one parameter, built on the first non-None value."""

    def __init__(self, build: Any, descriptor: Any) -> None:
        self._build = build
        self._descriptor = descriptor
        self._real: Any = None

    def _runtime(self) -> Any:
        if self._real is None:
            self._real = self._build(self._descriptor)
        return self._real

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        if value is None:
            return () if param.multiple or param.nargs == -1 else None
        if self._identity(value, param):
            return value
        return self._runtime().coerce(value, param=param, ctx=ctx)

    def _identity(self, value: Any, param: Any) -> bool:
        """True when typer's conversion would return ``value`` itself: a ``str`` for a ``str`` parameter (typer's
        ``_parse_cli_str`` is ``str(value)``, pydantic's ``str`` keeps it), a ``bool`` for a ``bool`` one
        (``_parse_cli_bool`` passes a non-string through), an ``int`` for an ``int`` one without min/max/clamp (a
        plain pydantic ``int``: an option's default); one value, no custom parser, not a file."""
        d = self._descriptor
        annotation = getattr(d, "annotation", None)
        info = getattr(d, "parameter_info", None)
        if annotation not in (str, bool, int) or type(value) is not annotation:
            return False
        if param.multiple or param.nargs == -1 or getattr(d, "file_annotation", None) is not None:
            return False
        if getattr(info, "parser", True) is not None:
            return False
        return annotation is not int or (
            getattr(info, "min", 0) is None
            and getattr(info, "max", 0) is None
            and not getattr(info, "clamp", True)
        )

    def __getattr__(self, name: str) -> Any:  # anything else typer asks of it: the real one
        return getattr(self._runtime(), name)


def install() -> bool:
    """Make typer build each parameter's coercion lazily (see the module docstring); True if installed."""
    try:
        from typer import core
    except ImportError:  # pragma: no cover - typer is a dependency
        return False
    build = getattr(core, "build_runtime_param", None)
    if build is None or getattr(build, "_kalshi_lazy", False):
        return build is not None

    def lazy_build(descriptor: Any) -> _LazyRuntimeParam:
        return _LazyRuntimeParam(build, descriptor)

    lazy_build._kalshi_lazy = True  # type: ignore[attr-defined]
    core.build_runtime_param = lazy_build
    return True
