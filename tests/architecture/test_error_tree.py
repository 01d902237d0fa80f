"""The exception tree drawn in kalshi_extract.errors is complete and true, and `retriable` follows it."""

from __future__ import annotations

import importlib
import pkgutil
import re

import kalshi_extract
import kalshi_lake
from kalshi_extract import errors


def _import_all() -> None:
    for package in (kalshi_extract, kalshi_lake):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            importlib.import_module(info.name)


def _subclasses(cls: type) -> list[type]:
    out = []
    for sub in cls.__subclasses__():
        out.append(sub)
        out.extend(_subclasses(sub))
    return out


def _drawn() -> dict[str, tuple[int, bool]]:
    """Class name -> (depth in the drawing, drawn as not retriable)."""
    tree = errors.__doc__.split("```")[1]
    out = {}
    for line in tree.splitlines():
        m = re.match(r"^([│├└─ ]*)(\w+)\s*(no\b)?", line)
        if m and m.group(2)[0].isupper():
            out[m.group(2)] = (len(m.group(1)) // 4, bool(m.group(3)))
    return out


def test_every_error_class_is_drawn_with_its_parent_and_retriable_flag():
    _import_all()
    drawn = _drawn()
    classes = [errors.KalshiLakeError, *_subclasses(errors.KalshiLakeError)]
    names = {c.__name__ for c in classes}
    assert names == set(drawn), f"drawn but missing: {set(drawn) - names}; not drawn: {names - set(drawn)}"
    for cls in classes:
        depth, not_retriable = drawn[cls.__name__]
        assert cls.retriable is not not_retriable, f"{cls.__name__}: drawing and retriable disagree"
        if cls is errors.KalshiLakeError:
            continue
        parent = next(b for b in cls.__mro__[1:] if issubclass(b, errors.KalshiLakeError))
        assert drawn[parent.__name__][0] == depth - 1, f"{cls.__name__} is drawn under the wrong parent"


def test_retriable_decides_by_type_not_text():
    assert errors.retriable(errors.ServerError("x", status=503))
    assert errors.retriable(errors.TransportError("reset"))
    assert errors.retriable(OSError("disk full"))
    assert not errors.retriable(errors.AuthenticationError("ServerError: looks retriable", status=401))
    assert not errors.retriable(errors.ConfigError("x"))
    assert not errors.retriable(KeyError("bug"))
