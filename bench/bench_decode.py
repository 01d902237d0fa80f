"""Trades page decoders side by side: CPU per row, body bytes → the lake's record batch, on the same page bodies.

Contenders (each ends in the record batch :meth:`Converter.convert` returns, meta columns included):

- ``body_decoder``: :class:`kalshi_extract.lake.convert.BodyDecoder` as the pull uses it: the strict page scanner
  (:mod:`kalshi_extract.lake.scan`) for pages in the API's compact form, else pyarrow's JSON reader;
- ``body_decoder_reader``: the same with the scanner off (pyarrow's JSON reader, strict schema, for every page);
- ``row_path``: ``orjson.loads`` + :meth:`Converter.convert` on the dicts (column lists by ``itemgetter``): what a
  page the body decoder refuses costs, and contender (c) of issue #20 ("orjson + column lists");
- ``msgspec_str``: ``msgspec.json.Decoder`` into a typed ``Struct`` (``forbid_unknown_fields=True``), decimals and
  times as ``str``, columns by ``attrgetter`` + transpose, then the body decoder's own vectorised casts;
- ``msgspec_decimal``: the same with the decimal fields typed ``decimal.Decimal`` (``pa.array`` of Decimals).

msgspec is not a dependency: run with ``uv run --frozen --with msgspec python -m bench.bench_decode``; without
it only the first two run. Pages: 1,000 trades each, built by cycling the recorded trades in
``/work/shared/real-data`` (new ``trade_id`` per row) and read from the local exchange (``/markets/trades``).
Every contender's batch is checked equal to the row path's on every page before it is timed, and adversarial
pages (unknown field, number for a string, extra decimals, nulls, huge values …) must be refused (``None``: the
caller takes the row path) or decoded to the row path's batch.
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from kalshi_extract.lake.convert import _ARROW_ERRORS, BodyDecoder, Converter, PageColumns
from kalshi_extract.lake.schemas import TRADE, arrow_schema

REAL = Path("/work/shared/real-data")
PAGE = 1000
STREAM = "trades"


def _schema() -> pa.Schema:
    return arrow_schema(STREAM)


def real_pages(n_pages: int) -> list[bytes]:
    trades = []
    for p in sorted(REAL.rglob("*trades*.json")):
        if p.name.endswith(".meta.json"):
            continue
        data = json.loads(p.read_text())
        if isinstance(data, dict) and isinstance(data.get("trades"), list):
            trades += data["trades"]
    if not trades:
        raise SystemExit("no recorded trades pages under /work/shared/real-data")
    pages = []
    k = 0
    for _ in range(n_pages):
        items = []
        for _ in range(PAGE):
            t = dict(trades[k % len(trades)])
            t["trade_id"] = str(uuid.UUID(int=k + 1))
            items.append(t)
            k += 1
        pages.append(orjson.dumps({"cursor": f"c{k}", "trades": items}))
    return pages


def sim_pages(n_pages: int) -> list[bytes]:
    import requests

    from kalshi_sim import LocalExchange

    pages: list[bytes] = []
    with LocalExchange(seed=7, size=(n_pages + 2) * PAGE, subprocess=True) as sim:
        for path in ("/historical/trades", "/markets/trades"):
            cursor = None
            while len(pages) < n_pages:
                params = {"limit": PAGE} | ({"cursor": cursor} if cursor else {})
                r = requests.get(sim.base_url + path, params=params, timeout=60)
                if r.status_code != 200:
                    break
                body = r.content
                data = orjson.loads(body)
                if len(data.get("trades") or []) == PAGE:
                    pages.append(body)
                cursor = data.get("cursor")
                if not cursor:
                    break
    return pages


# -- contenders ------------------------------------------------------------------------------------------------


def make_converter() -> Converter:
    return Converter(STREAM, TRADE, _schema(), run_id="bench", loaded_at=datetime(2026, 1, 1, tzinfo=UTC))


def row_path(conv: Converter):
    def run(body: bytes) -> pa.RecordBatch:
        return conv.convert(orjson.loads(body)["trades"])

    return run


def body_decoder(conv: Converter, scanner: bool = True):
    dec = BodyDecoder.for_stream(STREAM, TRADE, "trades")
    if not scanner:
        dec._scanner = None  # pyarrow's strict JSON reader for every page (the decoder before the scanner)

    def run(body: bytes) -> pa.RecordBatch | None:
        got = dec.decode(body)
        return None if got is None else conv.convert(got[0])

    return run


def _msgspec(conv: Converter, decimals_as_decimal: bool):
    import msgspec

    names = [c.name for c in TRADE]
    py = {"str": str, "ts": str, "bool": bool, "usd": str, "fp": str}
    if decimals_as_decimal:
        py |= {"usd": Decimal, "fp": Decimal}
    fields = [(c.name, py[c.kind] | None, None) for c in TRADE]
    item = msgspec.defstruct("Trade", fields, forbid_unknown_fields=True, gc=False)
    page = msgspec.defstruct(
        "Page", [("trades", list[item]), ("cursor", str | None, None)], forbid_unknown_fields=True
    )
    decoder = msgspec.json.Decoder(page)
    # one list comprehension per column (3.11's specialised attribute loads beat attrgetter + a transpose)
    src = "def columns(tr):\n    return [" + ", ".join(f"[x.{n} for x in tr]" for n in names) + "]\n"
    scope: dict = {}
    exec(compile(src, "<msgspec columns>", "exec"), scope)
    columns = scope["columns"]
    kinds = list(TRADE)

    def run(body: bytes) -> pa.RecordBatch | None:
        try:
            got = decoder.decode(body)
        except (msgspec.ValidationError, msgspec.DecodeError):
            return None
        trades = got.trades
        cols = columns(trades)
        arrays = []
        try:
            for col, values in zip(kinds, cols, strict=True):
                if col.kind == "bool":
                    arrays.append(pa.array(values, pa.bool_()))
                elif decimals_as_decimal and col.kind in ("usd", "fp"):
                    arrays.append(pa.array(values, col.type))
                else:
                    s = pa.array(values, pa.string())
                    arrays.append(s if col.kind == "str" else pc.cast(s, col.type))
        except _ARROW_ERRORS:
            return None
        return conv.convert(PageColumns(arrays, len(trades), STREAM, TRADE))

    return run


def contenders(conv: Converter) -> dict:
    out = {
        "row_path": row_path(conv),
        "body_decoder_reader": body_decoder(conv, scanner=False),
        "body_decoder": body_decoder(conv),
    }
    try:
        import msgspec  # noqa: F401
    except ImportError:
        return out
    out["msgspec_str"] = _msgspec(conv, False)
    out["msgspec_decimal"] = _msgspec(conv, True)
    return out


# -- adversarial pages -----------------------------------------------------------------------------------------


def adversarial(base: bytes) -> dict[str, bytes]:
    data = orjson.loads(base)
    items = data["trades"][:50]

    def page(mutate) -> bytes:
        copy = [dict(t) for t in items]
        mutate(copy)
        return orjson.dumps({"cursor": "x", "trades": copy})

    def setf(field, value, row=3):
        return lambda c: c[row].__setitem__(field, value)

    return {
        "unknown_field": page(setf("price", 0.03)),
        "number_for_string": page(setf("yes_price_dollars", 0.03)),
        "int_for_string": page(setf("count_fp", 10)),
        "extra_decimals": page(setf("yes_price_dollars", "0.0300001")),
        "null_value": page(setf("yes_price_dollars", None)),
        "null_ticker": page(setf("ticker", None)),
        "missing_field": page(lambda c: c[3].pop("taker_book_side")),
        "empty_string_decimal": page(setf("count_fp", "")),
        "huge_decimal": page(setf("count_fp", "123456789012345678901234567890.00")),
        "huge_int_decimal": page(setf("count_fp", "9" * 40)),
        "string_bool": page(setf("is_block_trade", "false")),
        "null_bool": page(setf("is_block_trade", None)),
        "nano_time": page(setf("created_time", "2026-06-15T15:48:42.609997123Z")),
        "bad_time": page(setf("created_time", "yesterday")),
        "empty_time": page(setf("created_time", "")),
        "offset_time": page(setf("created_time", "2026-06-15T17:48:42.6+02:00")),
        "null_item": orjson.dumps({"cursor": "x", "trades": [*items[:3], None]}),
        "empty_list": orjson.dumps({"cursor": None, "trades": []}),
        "top_level_unknown": orjson.dumps({"cursor": "x", "trades": items, "x": 1}),
        "spaced_decimal": page(setf("yes_price_dollars", " 0.03")),
        "exponent_decimal": page(setf("yes_price_dollars", "3E-2")),
        "unicode_ticker": page(setf("ticker", "KX\u00e9\u2603")),
    }


def check(fns: dict, pages: list[bytes], adv: dict[str, bytes]) -> dict[str, dict]:
    """Per contender: pages equal to the row path, pages refused, and any page that differs (a failure)."""
    report = {}
    ref = fns["row_path"]
    for name, fn in fns.items():
        if name == "row_path":
            continue
        r = {"equal": 0, "refused": [], "differs": []}
        for label, body in [*((f"page{i}", b) for i, b in enumerate(pages)), *adv.items()]:
            got = fn(body)
            if got is None:
                r["refused"].append(label)
            elif got.equals(ref(body)):
                r["equal"] += 1
            else:
                r["differs"].append(label)
        report[name] = r
    return report


def time_cpu(fns: dict, pages: list[bytes], repeat: int) -> dict[str, float]:
    """Per contender, the best of ``repeat`` passes over ``pages`` (contenders interleaved pass by pass, so load
    on the shared machine hits them alike): process CPU µs per row."""
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(repeat):
        for name, fn in fns.items():
            t0 = time.process_time()
            for body in pages:
                fn(body)
            best[name] = min(best[name], time.process_time() - t0)
    return {name: round(t / (len(pages) * PAGE) * 1e6, 3) for name, t in best.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=30)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-sim", action="store_true")
    args = ap.parse_args()
    conv = make_converter()
    fns = contenders(conv)
    sets = {"real": real_pages(args.pages)}
    if not args.no_sim:
        sets["sim"] = sim_pages(args.pages)
    adv = adversarial(sets["real"][0])
    out: dict = {"checks": check(fns, [p for s in sets.values() for p in s], adv)}
    for label, pages in sets.items():
        for fn in fns.values():  # warm
            fn(pages[0])
        out[label] = time_cpu(fns, pages, args.repeat)
        out[label]["pages"] = len(pages)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
