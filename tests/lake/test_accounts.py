"""Several accounts in one lake: each keeps all its rows, and re-runs stay cheap for each (issue 19, item 1)."""

from __future__ import annotations

import json

import pytest

from kalshi_extract.errors import LakeStateError
from kalshi_extract.ingest.pull import Selection, pull
from kalshi_extract.lake.store import Lake
from tests.lake.helpers import client_and_lake, content, trade_some

PRIVATE = ["fills", "orders"]


def _client(acct, label, lake_dir):
    acct.env["KALSHI_ACCOUNT"] = label
    return client_and_lake(acct, lake_dir)


def _mine(lake, stream, label) -> dict:
    return {k: v for k, v in content(lake, stream).items() if v["_account"] == label}


@pytest.mark.slow
def test_second_account_with_older_fills_keeps_all_its_rows(fresh_exchange, tmp_path):
    ex = fresh_exchange
    b = ex.create_account(balance_cents=1_000_000)
    a = ex.create_account(balance_cents=1_000_000)
    cb, _, _ = _client(b, "b", tmp_path / "shared")
    assert trade_some(cb, n=3) == 3  # B's fills and orders are older ...
    ex.advance(seconds=6 * 3600)
    ca, lake, _ = _client(a, "a", tmp_path / "shared")
    assert trade_some(ca, n=2) == 2  # ... than A's
    assert pull(ca, lake, PRIVATE, Selection()).ok
    second = pull(cb, lake, PRIVATE, Selection())
    assert second.ok, [(s.stream, s.error) for s in second.streams]

    # B alone in its own lake: the reference
    cb2, own, _ = _client(b, "b", tmp_path / "own")
    assert pull(cb2, own, PRIVATE, Selection()).ok
    for stream in PRIVATE:
        ref = content(own, stream)
        assert len(ref) >= 3, (stream, len(ref))
        assert _mine(lake, stream, "b") == ref, stream
        assert len(_mine(lake, stream, "a")) >= 2, stream

    # re-runs are cheap for both accounts: nothing new, and for B as few requests as a re-run of its own lake
    # (orders re-check the resting ones: a few requests more than the two of a bare no-change run)
    own_again = {s.stream: s.requests for s in pull(cb2, own, PRIVATE, Selection()).streams}
    for client in (ca, cb):
        again = pull(client, lake, PRIVATE, Selection())
        for s in again.streams:
            assert s.ok and s.rows == 0, (s.stream, s.rows, s.error)
            assert s.requests <= 4, (s.stream, s.requests)
            if client is cb:
                assert s.requests == own_again[s.stream], (s.stream, s.requests, own_again)


def _old_layout(lake: Lake, stream: str) -> dict:
    """Move a per-account state file back to the single-file layout of earlier versions."""
    new = lake._state_path(stream, "a")
    doc = json.loads(lake._read_bytes(new))
    lake.fs.delete_file(new)
    lake._write_bytes(lake._join("_state", f"{stream}.json"), json.dumps(doc).encode())
    return doc


@pytest.mark.slow
def test_old_single_account_state_migrates_to_its_account(fresh_exchange, tmp_path):
    a = fresh_exchange.create_account(balance_cents=1_000_000)
    ca, lake, _ = _client(a, "a", tmp_path / "lake")
    assert trade_some(ca, n=2) == 2
    assert pull(ca, lake, ["fills"], Selection()).ok
    doc = _old_layout(lake, "fills")
    again = pull(ca, lake, ["fills"], Selection())
    assert again.ok and again.rows == 0 and again.streams[0].requests <= 3, again.streams[0]
    assert not lake._exists(lake._join("_state", "fills.json"))
    assert lake.read_state("fills", "a")["partitions"] == {
        **doc["partitions"],
        "all": {**doc["partitions"]["all"], **lake.read_state("fills", "a")["partitions"]["all"]},
    }

    # a second account's rows in the lake: an old file cannot be attributed → refuse, change nothing
    b = fresh_exchange.create_account(balance_cents=1_000_000)
    cb, _, _ = _client(b, "b", tmp_path / "lake")
    assert trade_some(cb, n=1) == 1
    assert pull(cb, lake, ["fills"], Selection()).ok
    _old_layout(lake, "fills")
    before = lake.files("fills")
    failed = pull(cb, lake, ["fills"], Selection()).streams[0]
    assert failed.outcome == "failed" and failed.error_type == "LakeStateError"
    assert "_state/fills.json" in failed.error and "'a'" in failed.error and "'b'" in failed.error
    assert lake.files("fills") == before and lake._exists(lake._join("_state", "fills.json"))


def test_account_label_cannot_escape_the_state_folder(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    path = lake._state_path("fills", "../../x")
    assert path.startswith(lake._join("_state", "fills") + "/") and path.count("/") == lake._join(
        "_state", "fills", "x"
    ).count("/")
    with pytest.raises(LakeStateError):
        lake.read_state("fills")  # a private stream's state needs its account
