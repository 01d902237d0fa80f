"""quote_source_set(bit_or(quote_source_bit(source))) (sql/macros.sql): the distinct quote sources of a group as the
sorted list `list(distinct source order by source)` gives (null for a group without one), without a DISTINCT
aggregate; an unknown source is an error, as in quote_source_code."""

import random

import duckdb
import pytest

from kalshi_lake.warehouse import SQL_DIR


@pytest.fixture(scope="module")
def con():
    con = duckdb.connect()
    con.execute((SQL_DIR / "macros.sql").read_text())
    return con


def test_equals_the_sorted_distinct_list_on_random_groups(con):
    rng = random.Random(5)
    sources = [*con.execute("select quote_sources()").fetchone()[0], None]
    rows = [(g, rng.choice(sources)) for g in range(2000) for _ in range(rng.randint(0, 6))]
    rows += [(2000, None), (2001, "ws_book"), (2001, "candle"), (2001, "ws_book")]
    con.execute("create or replace temp table quotes (g int, source varchar)")
    con.executemany("insert into quotes values (?, ?)", rows)
    differing = con.execute(
        """
        select count(*), count(*) filter (where fast is not null and len(fast) > 1)
        from (
            select
                g,
                quote_source_set(bit_or(quote_source_bit(source))) as fast,
                list(distinct source order by source) filter (where source is not null) as slow
            from quotes
            group by g
        )
        where fast is distinct from slow
        """
    ).fetchone()
    assert differing == (0, 0)
    assert con.execute(
        "select quote_source_set(bit_or(quote_source_bit(source))) from quotes where g = 2001"
    ).fetchone()[0] == ["candle", "ws_book"]
    assert (
        con.execute(
            "select quote_source_set(bit_or(quote_source_bit(source))) from quotes where g in (2000, -1)"
        ).fetchone()[0]
        is None
    )


def test_an_unknown_source_is_an_error(con):
    with pytest.raises(duckdb.Error, match="unknown quote source: trade"):
        con.execute(
            "select quote_source_set(bit_or(quote_source_bit(s))) from (values ('trade')) t(s)"
        ).fetchall()
