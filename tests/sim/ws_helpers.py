"""A small WebSocket test client for the local exchange (signs the upgrade itself; shares nothing with
kalshi_extract)."""

from __future__ import annotations

import base64
import time

import orjson
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from websockets.sync.client import connect

WS_PATH = "/trade-api/ws/v2"


def ws_headers(account, path: str = WS_PATH, ts_ms: int | None = None) -> dict:
    key = serialization.load_pem_private_key(account.private_key_pem.encode(), None)
    ts = str(ts_ms if ts_ms is not None else int(time.time() * 1000))
    sig = key.sign(
        (ts + "GET" + path).encode(),
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH),
        hashes.SHA256(),
    )
    return {
        "KALSHI-ACCESS-KEY": account.key_id,
        "KALSHI-ACCESS-TIMESTAMP": ts,
        "KALSHI-ACCESS-SIGNATURE": base64.b64encode(sig).decode(),
    }


class WsClient:
    """Commands with increasing ids; ``sync()`` returns every frame received before the marker's answer."""

    def __init__(self, url: str, account=None, **kw) -> None:
        headers = ws_headers(account) if account is not None else None
        self.ws = connect(url, additional_headers=headers, max_size=None, **kw)
        self.next_id = 1
        self.frames: list[dict] = []  # every frame ever received, in order

    def close(self) -> None:
        self.ws.close()

    def __enter__(self) -> WsClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def send(self, cmd: str, params: dict | None = None, cid: int | None = None) -> int:
        cid = self.next_id if cid is None else cid
        self.next_id += 1
        body = {"id": cid, "cmd": cmd}
        if params is not None:
            body["params"] = params
        self.ws.send(orjson.dumps(body).decode())
        return cid

    def recv(self, timeout: float = 10.0) -> dict:
        msg = orjson.loads(self.ws.recv(timeout=timeout))
        self.frames.append(msg)
        return msg

    def command(self, cmd: str, params: dict | None = None, timeout: float = 10.0) -> list[dict]:
        """Send a command; returns every frame received up to the answer of a following sync marker."""
        self.send(cmd, params)
        return self.sync(timeout)

    def sync(self, timeout: float = 10.0) -> list[dict]:
        """Every frame queued before now: the exchange answers commands in order with its data frames."""
        cid = self.send("list_subscriptions")
        out = []
        while True:
            msg = self.recv(timeout)
            if msg.get("id") == cid and msg.get("type") == "ok" and isinstance(msg.get("msg"), list):
                return out
            out.append(msg)
