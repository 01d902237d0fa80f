"""Carry tables kept between builds: each carry group's last instant before a window's start of whole days.

A recompute by days reads, per carry group, the input's rows at the group's last instant before the window's start
(`incremental._carried`); finding those instants is a GROUP BY over every older row of the input (10M trades: ~0.05
s). Every pull of one day recomputes a model by days from the same start (that day's midnight), and the older rows
do not change between those pulls, so the table of last instants a build made serves the next build as it is.

Kept: `_kalshi_carry_<input>_<digest>` (digest of the input, carry expressions, `by` expression and start), listed in
`_kalshi_build_carries` (name, input, start as a day ordinal, built_at). A build keeps for the next one only the tables
it read or made: a build whose input changed before a table's start (a late row for an older day) recomputes from an
earlier start, which names another table, so it does not read that one and drops it; a later build can never read a
table made before older rows changed. (A table is also read only while the input's dirt is at or after its start.)
Written in the build's transaction; trusted only when stamped by the last recorded build (`stamped.py`: another
build, say an older kalshi-lake, may have changed the input without knowing of it). Windows
starting at an instant (an `instant` model's) differ every pull: their carry tables stay temporary. A keyed model's
`fold` input keeps its folded rows before the window the same way (`incremental._folded`), named and trusted alike."""

from __future__ import annotations

import math

from . import stamped

PREFIX = "_kalshi_carry_"
RECORD_TABLE = "_kalshi_build_carries"


class Carries:
    """The kept carry tables of one build: those the last build left (trusted ones), the ones this build reads or
    makes, and the inputs' dirt (the runner's dict, filled as models are built)."""

    def __init__(self, con, existing: set[str], dirt: dict[str, float]):
        self._dirt = dirt
        self._kept: dict[str, tuple[str, float]] = {}
        self._used: dict[str, tuple[str, float]] = {}
        rows = stamped.last_build_rows(con, RECORD_TABLE, existing, "r.name, r.input, r.start")
        self._kept = {name: (d, start) for name, d, start in rows if name in existing}
        self._existing = {t for t in existing if t.startswith(PREFIX)}

    @staticmethod
    def table_name(d: str, digest: str) -> str:
        """The kept table of input `d`'s carry named by `digest` (of its carry, `by` and start)."""
        return f"{PREFIX}{d}_{digest}"

    def _valid(self, d: str, start: float) -> bool:
        return self._dirt.get(d, -math.inf) >= start

    def find(self, name: str, d: str, start: float) -> bool:
        """Whether the kept table `name` (input `d`, window start `start`) holds what this build would compute; it is
        then kept for the next build too (if still valid after every model)."""
        if name in self._used:  # made or found by an earlier model of this build
            return True
        if name in self._kept and self._kept[name] == (d, start) and self._valid(d, start):
            self._used[name] = (d, start)
            return True
        return False

    def made(self, name: str, d: str, start: float) -> None:
        """This build made the table `name` (a `create or replace`)."""
        self._used[name] = (d, start)

    def record(self, con) -> None:
        """Drop the kept tables this build did not read or make, or whose input changed before their start, and list
        the rest as written by this build (`stamped.restamp`)."""
        keep = {name: v for name, v in self._used.items() if self._valid(*v)}
        names = sorted(keep)
        stamped.restamp(
            con,
            RECORD_TABLE,
            (self._existing | set(self._used)) - set(keep),
            {
                "name": ("varchar", names),
                "input": ("varchar", [keep[n][0] for n in names]),
                "start": ("double", [keep[n][1] for n in names]),
            },
        )
