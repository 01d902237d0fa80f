"""Genuine recorded responses and systematic variations of them that a real Kalshi response could show.

Each variation is a pure function ``item -> item`` (a new dict) describing one way a genuine response can differ
from the recordings we have: another timestamp spelling, fields added or dropped by a newer/older API version,
nulls where the spec says nullable, the integer-cent era, sub-cent prices and fractional counts. Which fields are
required or nullable comes from the official spec (``openapi-v3.21.0.yaml``), so the variations follow the API's
own rules, not ours.
"""

from __future__ import annotations

import functools
import json
import re
from decimal import Decimal
from pathlib import Path

from tests.shared_paths import REAL_DATA, SPEC

REAL = REAL_DATA
SPEC = SPEC
DEMO, PROD, DOCS = REAL / "fortuna_demo", REAL / "manta_prod", REAL / "kalshi_docs"

_TIME = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$")


def load(path: Path):
    """A recorded body with numbers kept exact (``Decimal``)."""
    return json.loads(path.read_bytes(), parse_float=Decimal)


def recorded(path: Path, key: str) -> list[dict]:
    value = load(path)[key]
    return value if isinstance(value, list) else [value]


@functools.cache
def spec_schemas() -> dict:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with SPEC.open() as fh:
        return yaml.load(fh, Loader=loader)["components"]["schemas"]


def required(schema: str) -> set[str]:
    return set(spec_schemas()[schema].get("required", []))


def optional(schema: str) -> set[str]:
    return set(spec_schemas()[schema]["properties"]) - required(schema)


def nullable(schema: str) -> set[str]:
    props = spec_schemas()[schema]["properties"]
    return {k for k, v in props.items() if v.get("nullable")}


# --- timestamp spellings ---------------------------------------------------------------------------------------
def _respell(value: str, style: str) -> str:
    m = _TIME.match(value)
    if m is None:
        return value
    base, frac, zone = m.group(1), m.group(2) or "", m.group(3)
    if style == "nanos":  # Go's RFC3339Nano with a nanosecond clock: 9 digits
        frac = (frac + "987654321"[len(frac) :])[:9]
    elif style == "no_fraction":
        frac = ""
    elif style == "one_digit":
        frac = (frac or "5")[:1]
    elif style == "mixed":  # 0–9 digits, chosen per value (trailing zeros dropped as Go does)
        n = sum(map(ord, value)) % 10
        frac = (frac + "123456789")[:n].rstrip("0")
        zone = "+00:00" if n % 3 == 0 and zone == "Z" else zone
    if style == "plus_offset" and zone == "Z":
        zone = "+00:00"
    return f"{base}.{frac}{zone}" if frac else f"{base}{zone}"


def time_spelling(style: str):
    """Every RFC3339 value re-spelled: ``nanos`` | ``no_fraction`` | ``one_digit`` | ``plus_offset`` | ``mixed``
    (0–9 fraction digits and both zone spellings within one page)."""

    def apply(item: dict) -> dict:
        return {k: (_respell(v, style) if isinstance(v, str) else v) for k, v in item.items()}

    apply.__name__ = f"time_{style}"
    return apply


# --- added / dropped / null fields -----------------------------------------------------------------------------
NEW_FIELDS = {
    "zz_new_text": "added-by-a-newer-api",
    "zz_new_number": Decimal("1.25"),
    "zz_new_object": {"nested": [1, "two", None], "flag": True},
    "zz_new_list": [],
}


def with_new_fields(item: dict) -> dict:
    """A newer API version adds fields (kept in ``_extra``, exact)."""
    return {**item, **NEW_FIELDS}


def without_optional(schema: str, keep: tuple[str, ...] = ()):
    def apply(item: dict) -> dict:
        drop = optional(schema) - set(keep)
        return {k: v for k, v in item.items() if k not in drop}

    apply.__name__ = f"without_optional_{schema}"
    return apply


def nulls_where_nullable(schema: str, keep: tuple[str, ...] = ()):
    def apply(item: dict) -> dict:
        out = dict(item)
        for k in nullable(schema) - set(keep):
            out[k] = None
        return out

    apply.__name__ = f"nulls_{schema}"
    return apply


# --- eras ------------------------------------------------------------------------------------------------------
def _cents(text) -> int | None:
    d = Decimal(str(text)) * 100
    return int(d) if d == d.to_integral_value() else None


def _whole(text) -> int | None:
    d = Decimal(str(text))
    return int(d) if d == d.to_integral_value() else None


def cent_era(item: dict) -> dict:
    """The integer-cent era: ``yes_price: 45`` instead of ``yes_price_dollars``, ``count: 10`` instead of
    ``count_fp`` (whole values only, as that era had)."""
    out = {}
    for k, v in item.items():
        if k.endswith("_dollars") and isinstance(v, str) and _cents(v) is not None:
            out[k[: -len("_dollars")]] = _cents(v)
        elif k.endswith("_fp") and isinstance(v, str) and _whole(v) is not None:
            out[k[: -len("_fp")]] = _whole(v)
        else:
            out[k] = v
    return out


def both_eras(item: dict) -> dict:
    """The transition (2025–early 2026): the integer fields alongside the fixed-point ones."""
    legacy = cent_era(item)
    return {**legacy, **item}


def subcent_and_fractional(item: dict) -> dict:
    """Deci-cent prices (``"0.0010"``, ``"0.9990"``) and fractional counts (``"0.50"``)."""
    out = dict(item)
    for k, v in item.items():
        if not isinstance(v, str):
            continue
        if k.endswith("price_dollars"):
            out[k] = "0.0010" if "yes" in k else "0.9990"
        elif k in ("count_fp", "fill_count_fp", "initial_count_fp", "position_fp", "yes_count_fp"):
            out[k] = "0.50" if not v.startswith("-") else "-0.50"
        elif k in ("fee_cost", "taker_fees_dollars"):
            out[k] = "0.000175"
    return out


def vary(items: list[dict], *fns) -> list[dict]:
    out = []
    for item in items:
        for fn in fns:
            item = fn(item)
        out.append(item)
    return out


def dropped(*names: str):
    """Fields a newer API version no longer sends (v3.31 removals)."""

    def apply(item: dict) -> dict:
        return {k: v for k, v in item.items() if k not in names}

    apply.__name__ = "without_" + "_".join(names)
    return apply


def added(**fields):
    """Fields a newer API version sends (e.g. ``exchange_index``), with their values."""

    def apply(item: dict) -> dict:
        return {**item, **fields}

    apply.__name__ = "with_" + "_".join(fields)
    return apply


# --- requests as the spec allows them --------------------------------------------------------------------------
@functools.cache
def _spec() -> dict:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with SPEC.open() as fh:
        return yaml.load(fh, Loader=loader)


@functools.cache
def _operations() -> list[tuple[re.Pattern, str, dict]]:
    spec = _spec()
    out = []
    for template, item in spec["paths"].items():
        if "get" not in item:
            continue
        rx = re.compile("^" + re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(template)) + "$")
        params = {}
        for p in item["get"].get("parameters", []) + item.get("parameters", []):
            if "$ref" in p:
                p = spec["components"]["parameters"][p["$ref"].split("/")[-1]]
            if p.get("in") == "query":
                params[p["name"]] = p["schema"]
        out.append((rx, template, params))
    # literal templates before parameterised ones (/markets/trades is not /markets/{ticker})
    out.sort(key=lambda t: t[1].count("{"))
    return out


def spec_query_problems(path: str, query: dict[str, list[str]]) -> list[str]:
    """Why a GET's query string would not be accepted by the real API (unknown parameter, bad enum value, out of
    bounds, not an integer); empty when it is fine."""
    match = next(((t, p) for rx, t, p in _operations() if rx.match(path)), None)
    if match is None:
        return [f"GET {path} is not in the spec"]
    template, params = match
    problems = []
    for name, values in query.items():
        schema = params.get(name)
        if schema is None:
            problems.append(f"{template}: unknown parameter {name}")
            continue
        for value in values:
            if schema.get("type") == "array":
                schema_items = schema.get("items", {})
                if "maxItems" in schema and len(values) > schema["maxItems"]:
                    problems.append(f"{template}: more than {schema['maxItems']} {name}")
                if "enum" in schema_items and value not in schema_items["enum"]:
                    problems.append(f"{template}: {name}={value!r} not in {schema_items['enum']}")
                continue
            if "enum" in schema and value not in [str(e).lower() for e in schema["enum"]]:
                problems.append(f"{template}: {name}={value!r} not in {schema['enum']}")
            if schema.get("type") == "integer":
                if not re.fullmatch(r"-?\d+", value):
                    problems.append(f"{template}: {name}={value!r} is not an integer")
                    continue
                n = int(value)
                if (
                    "minimum" in schema
                    and n < schema["minimum"]
                    or "maximum" in schema
                    and n > schema["maximum"]
                ):
                    problems.append(
                        f"{template}: {name}={n} outside {schema.get('minimum')}..{schema.get('maximum')}"
                    )
            if schema.get("type") == "boolean" and value not in ("true", "false"):
                problems.append(f"{template}: {name}={value!r} is not true/false")
    return problems


def renamed(**names):
    """Fields another API version spelled differently (``yes_price_dollars`` was also ``yes_price_fixed``)."""

    def apply(item: dict) -> dict:
        return {names.get(k, k): v for k, v in item.items()}

    apply.__name__ = "renamed_" + "_".join(names.values())
    return apply
