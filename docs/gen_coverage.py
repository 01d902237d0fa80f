"""Generate docs/COVERAGE.md: every operation of the official OpenAPI spec, and what kalshi-lake does with it.

    uv run python docs/gen_coverage.py            # rewrite docs/COVERAGE.md
    uv run python docs/gen_coverage.py --check    # exit 1 when the committed file is stale

An operation is *called* when the endpoint registry (kalshi_extract/api/endpoints.py) has an entry for its method
and path, and *landed* when a lake stream reads that entry (or has it as its historical twin). Every other
operation needs a decision below: ``planned`` (an open issue will add it) or ``out`` (out of scope, and why).
Generation fails when an operation has neither an entry nor a decision, when a decision names an operation the
spec does not have, or when a called operation still carries a decision (tests/extract/test_coverage_doc.py).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kalshi_extract.api.endpoints import ENDPOINTS  # noqa: E402
from kalshi_extract.ingest.streams import STREAMS  # noqa: E402

OUT = ROOT / "docs" / "COVERAGE.md"
METHODS = ("get", "post", "put", "delete", "patch")

_V1_ORDERS = (
    "legacy V1 order write; the order module uses the V2 `/portfolio/events/orders` family (same effect)"
)
_RFQ = (
    "RFQ / quote workflow (request and answer quotes, mostly on combos): trading tooling, not data; the trades it "
    "produces land through `trades` and `fills`"
)
_KEYS = "API key administration: account management, never done by a data pipeline holding the key"
_LIVE = "live sports/event scoreboard feed for the website; not exchange activity"
_MVE_WRITE = (
    "creates (or looks up) a combo market on request, limited to 5000 a week per user; kalshi-lake reads the "
    "combos that exist (`combo_markets`)"
)

# operationId → (planned | out, why)
DECISIONS: dict[str, tuple[str, str]] = {
    "GetExchangeAnnouncements": (
        "out",
        "exchange-wide notices for people (maintenance text); nothing to model",
    ),
    "GetMarketCandlesticksByEvent": (
        "out",
        "the same candles as the per-market endpoint, grouped by event; `candlesticks` lands them per market",
    ),
    "GetEventMetadata": (
        "out",
        "presentation metadata of an event (images, featured text); nothing to model",
    ),
    "GetEventForecastPercentilesHistory": (
        "out",
        "Kalshi's derived forecast numbers for a few events; not exchange activity",
    ),
    "CreateOrder": ("out", _V1_ORDERS),
    "CancelOrder": ("out", _V1_ORDERS),
    "BatchCreateOrders": ("out", _V1_ORDERS),
    "BatchCancelOrders": ("out", _V1_ORDERS),
    "AmendOrder": ("out", _V1_ORDERS),
    "DecreaseOrder": ("out", _V1_ORDERS),
    "GetPortfolioRestingOrderTotalValue": (
        "out",
        "FCM members only (the spec: 'likely does not apply to you')",
    ),
    "GetCommunicationsID": ("out", _RFQ),
    "GetRFQs": ("out", _RFQ),
    "CreateRFQ": ("out", _RFQ),
    "GetRFQ": ("out", _RFQ),
    "DeleteRFQ": ("out", _RFQ),
    "GetQuotes": ("out", _RFQ),
    "CreateQuote": ("out", _RFQ),
    "GetQuote": ("out", _RFQ),
    "DeleteQuote": ("out", _RFQ),
    "AcceptQuote": ("out", _RFQ),
    "ConfirmQuote": ("out", _RFQ),
    "GetApiKeys": ("out", _KEYS),
    "CreateApiKey": ("out", _KEYS),
    "GenerateApiKey": ("out", _KEYS),
    "DeleteApiKey": ("out", _KEYS),
    "UpgradeAccountApiUsageLevel": ("out", "changes the account's rate tier: administration, not data"),
    "GetAccountApiUsageLevelVolumeProgress": (
        "out",
        "progress towards the next rate tier; the pacer needs only the current limits (`/account/limits`)",
    ),
    "GetTagsForSeriesCategories": ("out", "website search facets; series carry their own category and tags"),
    "GetFiltersForSports": ("out", "website search facets for sports"),
    "GetLiveDataByMilestone": ("out", _LIVE),
    "GetLiveData": ("out", _LIVE),
    "GetLiveDatas": ("out", _LIVE),
    "GetGameStats": ("out", _LIVE),
    "GetStructuredTargets": (
        "out",
        "reference data behind structured (player/team) markets; not yet modelled",
    ),
    "GetStructuredTarget": (
        "out",
        "reference data behind structured (player/team) markets; not yet modelled",
    ),
    "GetMilestone": ("out", "calendar of real-world events behind markets (website); not exchange activity"),
    "GetMilestones": ("out", "calendar of real-world events behind markets (website); not exchange activity"),
    "CreateMarketInMultivariateEventCollection": ("out", _MVE_WRITE),
    "LookupTickersForMarketInMultivariateEventCollection": ("out", "deprecated (the spec); " + _MVE_WRITE),
    "GetMultivariateEventCollectionLookupHistory": (
        "out",
        "the caller's own lookup requests, not market data; combos themselves land through `combo_markets`",
    ),
    "GetIncentivePrograms": (
        "out",
        "liquidity-incentive programmes; not yet modelled (no money the lake books)",
    ),
    "GetFCMOrders": ("out", "FCM members only"),
    "GetFCMPositions": ("out", "FCM members only"),
}


def _spec_path() -> Path:
    shared = Path(os.environ.get("KALSHI_SHARED_DIR", ROOT.parent / "shared"))
    if not shared.is_dir():
        shared = Path("/work/shared")
    return shared / "kalshi-openapi" / "openapi-v3.21.0.yaml"


def operations(spec: dict) -> list[dict]:
    """Every operation of the spec: method, path, operationId, tag, summary."""
    out = []
    for path, item in spec["paths"].items():
        for method in METHODS:
            op = item.get(method)
            if op:
                out.append(
                    {
                        "method": method.upper(),
                        "path": path,
                        "id": op["operationId"],
                        "tag": (op.get("tags") or ["other"])[0],
                        "summary": op.get("summary", ""),
                    }
                )
    return out


def _landing() -> dict[str, list[str]]:
    """Endpoint name → the lake streams that read it (directly, as their historical twin, or as the archive read
    by ticker: `combo_markets` asks `/historical/markets` for the combos settled before the cutoff that the lake's
    trades and fills name, since that endpoint includes combos but cannot list them only)."""
    out: dict[str, list[str]] = {}
    for s in STREAMS.values():
        out.setdefault(s.endpoint, []).append(s.name)
        if s.cutoff_key and s.api.historical:
            out.setdefault(s.api.historical, []).append(s.name)
        if s.archive_endpoint:
            out.setdefault(s.archive_endpoint, []).append(s.name)
    return out


def render(spec: dict) -> str:
    """The text of docs/COVERAGE.md; raises ValueError when a decision is missing, unknown or redundant."""
    ops = operations(spec)
    ids = {o["id"] for o in ops}
    unknown = sorted(set(DECISIONS) - ids)
    if unknown:
        raise ValueError(f"decisions for operations the spec does not have: {', '.join(unknown)}")
    by_route: dict[tuple[str, str], list[str]] = {}
    for ep in ENDPOINTS.values():
        by_route.setdefault((ep.method, ep.path), []).append(ep.name)
    landing = _landing()
    rows, missing, redundant = [], [], []
    counts = {"landed": 0, "called": 0, "planned": 0, "out": 0}
    for o in ops:
        names = by_route.get((o["method"], o["path"]), [])
        if names:
            if o["id"] in DECISIONS:
                redundant.append(o["id"])
            streams = sorted({s for n in names for s in landing.get(n, [])})
            status = "landed" if streams else "called"
            note = ", ".join(f"`{s}`" for s in streams) if streams else "client: " + ", ".join(names)
        elif o["id"] in DECISIONS:
            status, note = DECISIONS[o["id"]]
        else:
            missing.append(o["id"])
            continue
        counts[status] += 1
        rows.append((o["tag"], o["path"], o["method"], o["id"], status, note))
    if missing:
        raise ValueError(f"operations without an endpoint entry or a decision: {', '.join(missing)}")
    if redundant:
        raise ValueError(f"called operations that still carry a decision (remove it): {', '.join(redundant)}")
    spec_routes = {(o["method"], o["path"]) for o in ops}
    extra = sorted(
        (ep.method, ep.path, ep.name) for ep in ENDPOINTS.values() if (ep.method, ep.path) not in spec_routes
    )
    lines = [
        "# Coverage of the Kalshi Trade API",
        "",
        "GENERATED by `uv run python docs/gen_coverage.py` from the official OpenAPI spec "
        f"(v{spec['info']['version']}, `../shared/kalshi-openapi/`), the endpoint registry "
        "(`kalshi_extract/api/endpoints.py`) and the stream declarations (`kalshi_extract/ingest/streams.py`). Do "
        "not edit: add an endpoint entry, or a decision in the script, and regenerate "
        "(`tests/extract/test_coverage_doc.py` fails while this file is stale or an operation has no decision).",
        "",
        f"{len(ops)} operations: **{counts['landed']} landed** (a lake stream reads them), "
        f"**{counts['called']} called** (the client uses them; nothing to land: writes, single-object reads, "
        f"limits), **{counts['planned']} planned** (an open issue adds them), **{counts['out']} out of scope** "
        "(why, per line).",
        "",
        "| tag | path | method | operation | status | streams / why |",
        "|---|---|---|---|---|---|",
    ]
    for tag, path, method, op_id, status, note in sorted(rows):
        lines.append(f"| {tag} | `{path}` | {method} | {op_id} | {status} | {note} |")
    lines += [
        "",
        "Registry entries for operations newer than the stored spec (documented since; see ../shared/kalshi-api.md):",
        "",
    ]
    lines += [f"- {m} `{p}` ({name})" for m, p, name in extra]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    text = render(yaml.safe_load(_spec_path().read_text(encoding="utf-8")))
    if "--check" in argv:
        if OUT.read_text(encoding="utf-8") != text:
            print("docs/COVERAGE.md is stale: run `uv run python docs/gen_coverage.py`")
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
