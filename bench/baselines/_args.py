"""Command-line arguments shared by the baselines (kept tiny so importing it costs nothing measurable)."""

from __future__ import annotations

import argparse


def parse(description: str) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--base-url", required=True, help="e.g. http://127.0.0.1:8123/trade-api/v2")
    p.add_argument("--path", action="append", required=True, help="list endpoint with trades (repeatable)")
    p.add_argument("--limit", type=int, default=1000, help="page size (the API allows up to 1000)")
    p.add_argument("--out", required=True, help="output directory")
    return p.parse_args()
