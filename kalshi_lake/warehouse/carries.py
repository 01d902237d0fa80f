"""Carry tables kept between builds: each carry group's last instant before a window's start of whole days.

A recompute by days reads, per carry group, the input's rows at the group's last instant before the window's start
(`incremental._carried`); finding those instants is a GROUP BY over every older row of the input (10M trades: ~0.05
s). Every pull of one day recomputes a model by days from the same start (that day's midnight), and the older rows
do not change between those pulls, so the table of last instants a build made serves the next build as it is.

Kept: `_kalshi_carry_<input>_<digest>` (digest of the input, carry expressions, `by` expression and start), listed in
`_kalshi_build_carries` (name, input, start as a day ordinal, family, built_at). A build keeps for the next one only
the tables it read or made: a build whose input changed before a table's start (a late row for an older day)
recomputes from an earlier start, which names another table, so it does not read that one and drops it; a later
build can never read a table made before older rows changed. (A table is also read only while the input's dirt is at
or after its start.) Written in the build's transaction; trusted only when stamped by the last recorded build
(`stamped.py`: another build, say an older kalshi-lake, may have changed the input without knowing of it). Windows
starting at an instant (an `instant` model's) differ every pull: their carry tables stay temporary. A keyed model's
`fold` input keeps its folded rows before the window the same way (`incremental._folded`), named and trusted alike.

Rolled forward: a table for a new start is made from a valid table of the same family (input, carry or fold, `by`;
`family` in the registry) for an earlier start and the input's rows between the two starts, not from every older
row: the day's first pull reads yesterday's table and yesterday's rows, so making the day's tables does not grow with
the lake's history. Exact for the same reason reading a kept table is: the rows before the earlier start have not
changed since it was made (its input's dirt is at or after that start)."""

from __future__ import annotations

import math

from . import stamped

PREFIX = "_kalshi_carry_"
RECORD_TABLE = "_kalshi_build_carries"


class Carries:
    """The kept carry tables of one build: those the last build left (trusted ones), the ones this build reads or
    makes, and the inputs' dirt (the runner's dict, filled as models are built). Each table is listed as (input,
    start, family)."""

    def __init__(self, con, existing: set[str], dirt: dict[str, float]):
        self._dirt = dirt
        self._used: dict[str, tuple[str, float, str]] = {}
        rows = (
            stamped.last_build_rows(con, RECORD_TABLE, existing, "r.name, r.input, r.start, r.family")
            if _has_family(con, existing)
            else []  # a registry written before tables were rolled forward: its tables are made again, once
        )
        self._kept = {name: (d, start, family) for name, d, start, family in rows if name in existing}
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
        kept = self._kept.get(name)
        if kept and kept[:2] == (d, start) and self._valid(d, start):
            self._used[name] = kept
            return True
        return False

    def earlier(self, family: str, d: str, start: float) -> tuple[str, float] | None:
        """The valid table of `family` (input `d`) with the latest start before `start`, kept by the last build or
        made by this one, and that start: what a table for `start` is rolled forward from. None when there is none."""
        found = [
            (s, name)
            for name, (dd, s, f) in (self._kept | self._used).items()
            if f == family and dd == d and s < start and self._valid(d, s)
        ]
        if not found:
            return None
        s, name = max(found)
        return name, s

    def made(self, name: str, d: str, start: float, family: str) -> None:
        """This build made the table `name` (a `create or replace`) of `family`."""
        self._used[name] = (d, start, family)

    def record(self, con) -> None:
        """Drop the kept tables this build did not read or make, or whose input changed before their start, and list
        the rest as written by this build (`stamped.restamp`)."""
        keep = {name: v for name, v in self._used.items() if self._valid(*v[:2])}
        names = sorted(keep)
        stamped.restamp(
            con,
            RECORD_TABLE,
            (self._existing | set(self._used)) - set(keep),
            {
                "name": ("varchar", names),
                "input": ("varchar", [keep[n][0] for n in names]),
                "start": ("double", [keep[n][1] for n in names]),
                "family": ("varchar", [keep[n][2] for n in names]),
            },
        )


def _has_family(con, existing: set[str]) -> bool:
    """Whether the registry lists each table's family (asked, not tried: a failed statement would abort the build's
    transaction)."""
    return RECORD_TABLE in existing and bool(
        con.execute(
            "select count(*) from duckdb_columns() where schema_name = 'main' and table_name = ? "
            "and column_name = 'family' and database_name = current_database()",
            [RECORD_TABLE],
        ).fetchone()[0]
    )
