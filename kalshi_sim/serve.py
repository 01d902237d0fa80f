"""Foreground server and key generation, shared by ``python -m kalshi_sim`` and ``kalshi-lake exchange``.

Keys made by :func:`keygen` are stored as ``<keys_dir>/<key_id>.pub`` (public half only) and registered
by :func:`serve` at start-up with a starting balance of $10,000; the private key is written to a file
readable only by its owner and never printed.
"""

from __future__ import annotations

import hashlib
import os
import socket
import sys
from pathlib import Path

import orjson

DEFAULT_KEYS_DIR = Path(os.path.expanduser("~/.kalshi-lake/sim-keys"))
KEYED_ACCOUNT_CENTS = 1_000_000


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    host: str = "127.0.0.1",
    port: int = 8765,
    seed: int = 7,
    size: str = "small",
    tier: str | None = None,
    faults: str | dict | None = None,
    keys_dir: Path | None = None,
    out=None,
    exit_with_parent: bool = False,
    ws_heartbeat: float = 10.0,
    ws_max_queue: int = 50_000,
) -> None:
    """Build the world, print the base URL and serve until interrupted (or, with ``exit_with_parent``,
    until the process that started it is gone: no orphaned servers on a shared machine)."""
    import uvicorn

    from kalshi_sim.accounts import Account, load_public_key
    from kalshi_sim.app import Api, Faults, build_app
    from kalshi_sim.exchange import Exchange

    out = out or sys.stdout
    fault_values = orjson.loads(faults) if isinstance(faults, str) and faults else dict(faults or {})
    f = Faults()
    f.update({"rate_limit_tier": tier, **fault_values})
    ex = Exchange(seed=seed, size=int(size) if str(size).isdigit() else size)
    api = Api(ex, f, ws_heartbeat=ws_heartbeat, ws_max_queue=ws_max_queue)
    kd = keys_dir or DEFAULT_KEYS_DIR
    if kd.is_dir():
        for pub in sorted(kd.glob("*.pub")):
            ex.accounts[pub.stem] = Account(
                key_id=pub.stem,
                user_id=pub.stem,
                public_key=load_public_key(pub.read_text()),
                balance=KEYED_ACCOUNT_CENTS * 10_000,
                created_us=ex.now_us,
                updated_us=ex.now_us,
            )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # accepted sockets inherit TCP_NODELAY on Linux: without it a keep-alive client waits ~40 ms per
    # response (Nagle + delayed ACK between the header and body writes)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    port = sock.getsockname()[1]
    if not _is_loopback(host):
        print(
            f"warning: serving on {host}, not loopback: other machines can reach this exchange's trading API "
            "(accounts with simulated money); its control API (/_sim/*) still answers only this machine",
            file=sys.stderr,
            flush=True,
        )
    sock.listen(2048)  # listen before announcing the URL: connections queue until uvicorn accepts them
    print(f"http://{host}:{port}/trade-api/v2", file=out, flush=True)
    if exit_with_parent:
        _watch_parent(os.getppid())
    config = uvicorn.Config(
        build_app(api),
        log_level="warning",
        lifespan="off",
        access_log=False,
        timeout_keep_alive=30,
        date_header=False,
        ws="websockets-sansio",  # kalshi_sim.ws sends its own 'heartbeat' pings through this protocol
        ws_ping_interval=None,
    )
    uvicorn.Server(config).run(sockets=[sock])


def _watch_parent(parent: int) -> None:
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


def keygen(private_key_path: Path, keys_dir: Path | None = None) -> tuple[str, Path]:
    """Create a key pair for the local exchange; returns (key id, private key path)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    kd = keys_dir or DEFAULT_KEYS_DIR
    if private_key_path.exists():
        raise FileExistsError(f"{private_key_path} already exists; choose another --out or delete it")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pub = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    digest = hashlib.sha256(pub).hexdigest()
    key_id = f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
    private_key_path.parent.mkdir(parents=True, exist_ok=True)
    kd.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(private_key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    (kd / f"{key_id}.pub").write_bytes(pub)
    return key_id, private_key_path
