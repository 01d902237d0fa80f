"""A tiny signing HTTP client for the sim tests (independent of kalshi_extract on purpose)."""

from __future__ import annotations

import base64
import time

import orjson
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding


class SimClient:
    def __init__(self, base_url: str, account=None) -> None:
        self.base = base_url
        self.account = account
        self.key = (
            serialization.load_pem_private_key(account.private_key_pem.encode(), None) if account else None
        )
        self.s = requests.Session()

    def headers(self, method: str, path: str, ts_ms: int | None = None) -> dict:
        if self.key is None:
            return {}
        ts = str(ts_ms if ts_ms is not None else int(time.time() * 1000))
        full = "/trade-api/v2" + path.split("?")[0]
        sig = self.key.sign(
            (ts + method + full).encode(),
            padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH),
            hashes.SHA256(),
        )
        return {
            "KALSHI-ACCESS-KEY": self.account.key_id,
            "KALSHI-ACCESS-TIMESTAMP": ts,
            "KALSHI-ACCESS-SIGNATURE": base64.b64encode(sig).decode(),
        }

    def request(self, method: str, path: str, params=None, json=None, **kw):
        data = orjson.dumps(json) if json is not None else None
        h = self.headers(method, path, **kw)
        if data is not None:
            h["content-type"] = "application/json"
        return self.s.request(method, self.base + path, params=params, data=data, headers=h, timeout=60)

    def get(self, path, params=None, **kw):
        return self.request("GET", path, params=params, **kw)

    def get_json(self, path, params=None):
        r = self.get(path, params)
        assert r.status_code == 200, (path, params, r.status_code, r.text)
        return r.json()

    def post(self, path, json=None):
        return self.request("POST", path, json=json)

    def delete(self, path, json=None, params=None):
        return self.request("DELETE", path, json=json, params=params)

    def pages(self, path, key, params=None, limit=None):
        params = dict(params or {})
        if limit:
            params["limit"] = limit
        seen = set()
        out = []
        while True:
            body = self.get_json(path, params)
            out.append(body)
            cur = body.get("cursor")
            if not cur:
                return out
            assert cur not in seen, "repeated cursor"
            seen.add(cur)
            params["cursor"] = cur


def order(ticker, side, count, price, tif="good_till_canceled", **kw):
    body = {
        "ticker": ticker,
        "side": side,
        "count": count,
        "price": price,
        "time_in_force": tif,
        "self_trade_prevention_type": "taker_at_cross",
    }
    body.update(kw)
    return body
