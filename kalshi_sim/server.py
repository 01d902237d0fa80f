"""``LocalExchange``: the local exchange on a free loopback port, in a thread or in a child process.

In-process (default) the control methods call the exchange directly; with ``subprocess=True`` the
exchange runs as ``python -m kalshi_sim serve`` (the same code as ``kalshi-lake exchange serve``) and the
control methods use the HTTP control API (``/_sim/*``), so benchmarks measure a server that does not
share the client's interpreter.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess as sp
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field

import orjson

from kalshi_sim import fmt


@dataclass
class SimAccount:
    """An account on the local exchange. The private key is a secret: it is kept out of the repr."""

    key_id: str
    private_key_pem: str = field(repr=False)
    env: dict = field(repr=False)
    user_id: str = ""


class LocalExchange:
    """A Kalshi-compatible exchange on ``127.0.0.1``. Use as a context manager."""

    def __init__(
        self,
        seed: int = 7,
        size="small",
        tier: str | None = None,
        faults: dict | None = None,
        subprocess: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
        ws_heartbeat: float = 10.0,
        ws_max_queue: int = 50_000,
    ) -> None:
        self.seed, self.size, self.tier = seed, size, tier
        self.ws_heartbeat, self.ws_max_queue = ws_heartbeat, ws_max_queue
        self.initial_faults = dict(faults or {})
        self.subprocess = subprocess
        self.host, self.port = host, port
        self._server = None
        self._thread = None
        self._proc = None
        self.api = None

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> LocalExchange:
        if self.subprocess:
            self._start_child()
        else:
            self._start_thread()
        return self

    def _start_thread(self) -> None:
        import uvicorn

        from kalshi_sim.app import Api, Faults, build_app
        from kalshi_sim.exchange import Exchange

        ex = Exchange(seed=self.seed, size=self.size)
        faults = Faults()
        faults.update({"rate_limit_tier": self.tier, **self.initial_faults})
        self.api = Api(ex, faults, ws_heartbeat=self.ws_heartbeat, ws_max_queue=self.ws_max_queue)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # accepted sockets inherit TCP_NODELAY on Linux: without it a keep-alive client waits ~40 ms per
        # response (Nagle + delayed ACK between the header and body writes)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            build_app(self.api),
            log_level="error",
            lifespan="off",
            access_log=False,
            timeout_keep_alive=30,
            date_header=False,
            ws="websockets-sansio",  # kalshi_sim.ws sends its own 'heartbeat' pings through this protocol
            ws_ping_interval=None,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name=f"kalshi-sim-{self.port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the local exchange did not start")
            time.sleep(0.005)

    def _start_child(self) -> None:
        cmd = [
            sys.executable,
            "-m",
            "kalshi_sim",
            "serve",
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--seed",
            str(self.seed),
            "--size",
            str(self.size),
            "--exit-with-parent",
            "--ws-heartbeat",
            str(self.ws_heartbeat),
            "--ws-max-queue",
            str(self.ws_max_queue),
        ]
        if self.tier:
            cmd += ["--tier", self.tier]
        if self.initial_faults:
            cmd += ["--faults", orjson.dumps(self.initial_faults).decode()]
        # stderr goes to a file, not a pipe: a chatty child must never block on a full pipe
        self._errfile = tempfile.TemporaryFile(mode="w+")
        self._proc = sp.Popen(cmd, stdout=sp.PIPE, stderr=self._errfile, text=True, env=os.environ.copy())
        line = self._proc.stdout.readline()
        if not line.startswith("http"):
            if self._proc.poll() is None:
                self._proc.kill()
            self._proc.wait()
            self._errfile.seek(0)
            err = self._errfile.read()[-2000:]
            self.stop()
            raise RuntimeError(f"the local exchange child did not start: {line.strip()} {err.strip()}")
        self.port = int(line.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            if self._thread is not None:
                self._thread.join(timeout=10)
            self._server = None
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except sp.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            if self._proc.stdout:
                self._proc.stdout.close()
            self._proc = None
        if getattr(self, "_errfile", None) is not None:
            self._errfile.close()
            self._errfile = None

    def __enter__(self) -> LocalExchange:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- addresses ------------------------------------------------------------------------------
    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/trade-api/v2"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/trade-api/ws/v2"

    # -- control --------------------------------------------------------------------------------
    def _control(self, method: str, path: str, body: dict | None = None):
        data = orjson.dumps(body) if body is not None else None
        req = urllib.request.Request(
            self.root_url + path, data=data, method=method, headers={"content-type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=600) as resp:
            raw = resp.read()
        return orjson.loads(raw) if raw else None

    def create_account(self, balance_cents: int = 1_000_000, *, direct_member: bool = True) -> SimAccount:
        """A new account with a fresh RSA key; ``acct.env`` holds the four variables for the client.
        ``direct_member=False``: a non-direct member, whose balance fee rounding keeps on whole cents."""
        if self.api is not None:
            acct, pem = self.api.create_account(balance_cents, direct_member=direct_member)
            key_id, user_id = acct.key_id, acct.user_id
        else:
            body = {"balance_cents": balance_cents, "direct_member": direct_member}
            out = self._control("POST", "/_sim/accounts", body)
            key_id, user_id, pem = out["key_id"], out["user_id"], out["private_key_pem"]
        env = {
            "KALSHI_ENV": "local",
            "KALSHI_API_URL": self.base_url,
            "KALSHI_API_KEY_ID": key_id,
            "KALSHI_PRIVATE_KEY": pem,
        }
        return SimAccount(key_id=key_id, private_key_pem=pem, env=env, user_id=user_id)

    def cash_flow(self, key_id: str, kind: str, amount_cents: int, **extra) -> dict:
        """Record a deposit or withdrawal for the account (``kind``: deposit | withdrawal; ``extra``: fee_cents,
        type, status = applied | pending); returns its Deposit/Withdrawal JSON (+ ``kind``)."""
        body = dict(extra, key_id=key_id, kind=kind, amount_cents=amount_cents)
        return self._cash(body)

    def finalize_cash_flow(self, key_id: str, flow_id: str, status: str) -> dict:
        """Finalize a pending deposit or withdrawal: applied | failed | returned."""
        return self._cash({"key_id": key_id, "id": flow_id, "status": status})

    def _cash(self, body: dict) -> dict:
        if self.api is None:
            return self._control("POST", "/_sim/cash", body)
        from kalshi_sim import cash

        ex = self.api.ex
        with ex.lock:
            acct = ex.accounts.get(body["key_id"])
            if acct is None:
                raise KeyError(f"unknown key_id {body['key_id']!r}")
            if "id" in body:
                flow = cash.finalize(ex, acct, body["id"], body["status"])
            else:
                extra = {k: body[k] for k in ("fee_cents", "type", "status") if k in body}
                flow = cash.create(ex, acct, body["kind"], body["amount_cents"], **extra)
            return dict(flow.json(), kind=flow.kind)

    def advance(self, seconds: float = 3600) -> None:
        if self.api is not None:
            self.api.ex.advance(seconds)
        else:
            self._control("POST", "/_sim/advance", {"seconds": seconds})

    def set_faults(self, **faults) -> None:
        """Change faults: rate_limit_tier, error_rate, latency_ms, reset_rate, truncate_rate,
        drop_order_response, hold_order_creates_ms, ws_drop_messages, ws_cut_connections, ws_stall_seconds,
        ws_allow_anonymous
        (see kalshi_sim.app.Faults and kalshi_sim.ws)."""
        if self.api is not None:
            self.api.set_faults(faults)
        else:
            self._control("POST", "/_sim/faults", faults)

    def requests(self) -> list[dict]:
        if self.api is not None:
            with self.api.log_lock:
                return [dict(e) for e in self.api.log]
        return self._control("GET", "/_sim/requests")["requests"]

    def clear_requests(self) -> None:
        if self.api is not None:
            with self.api.log_lock:
                self.api.log.clear()
        else:
            self._control("DELETE", "/_sim/requests")

    def orders(self, key_id: str) -> list[dict]:
        if self.api is not None:
            from kalshi_sim import render

            with self.api.ex.lock:
                acct = self.api.ex.accounts.get(key_id)
                if acct is None:
                    raise KeyError(f"unknown key_id {key_id!r}")
                return [render.order_json(self.api.ex, o) for o in acct.orders]
        return self._control("GET", f"/_sim/orders?key_id={key_id}")["orders"]

    def state(self) -> dict:
        if self.api is not None:
            from kalshi_sim.views_control import state_json

            with self.api.ex.lock:
                return state_json(self.api)
        return self._control("GET", "/_sim/state")

    @property
    def now(self) -> dt.datetime:
        if self.api is not None:
            return fmt.from_us(self.api.ex.now_us)
        return dt.datetime.fromisoformat(self.state()["now"].replace("Z", "+00:00"))
