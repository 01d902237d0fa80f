"""docs/CONTRACTS.md lists every mart (fct_*, dim_*) with every one of its columns, so the docs stay true."""

from __future__ import annotations

import re
from pathlib import Path

from kalshi_lake import warehouse

CONTRACTS = Path(__file__).resolve().parents[2] / "docs" / "CONTRACTS.md"


def documented() -> dict[str, list[str]]:
    text = CONTRACTS.read_text()
    section = text.split("### The marts: grain, columns, assumptions", 1)[1].split("\n### ", 1)[0]
    marts = {}
    for match in re.finditer(r"- \*\*`(\w+)`\*\*.*?\n  Columns: (.*?)\.\n", section, re.S):
        marts[match.group(1)] = [c.strip() for c in match.group(2).replace("\n", " ").split(",")]
    return marts


def test_every_mart_and_column_is_documented(tmp_path):
    (tmp_path / "lake").mkdir()
    con = warehouse.build_in_memory(tmp_path / "lake")
    built = {
        table: columns
        for table, columns in con.execute(
            "select table_name, list(column_name order by ordinal_position) from information_schema.columns "
            "where table_name like 'fct\\_%' escape '\\' or table_name like 'dim\\_%' escape '\\' "
            "group by table_name"
        ).fetchall()
    }
    docs = documented()
    assert sorted(built) == sorted(docs), "marts built vs documented differ"
    for table, columns in built.items():
        assert docs[table] == columns, table
