"""A keyless process never imports ``cryptography`` (about 0.3 s of CPU in every public-data pull); a key does."""

from __future__ import annotations

import subprocess
import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def _loaded_after(code: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys\nprint('cryptography' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return out.stdout.strip().splitlines()[-1]


def test_keyless_pull_imports_do_not_load_cryptography():
    code = "import kalshi_extract.api.client, kalshi_extract.api.auth, kalshi_extract.ingest.pull"
    assert _loaded_after(code) == "False"


def test_a_key_loads_it_and_signs(tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    code = (
        "from kalshi_extract.api.auth import Signer, load_private_key\n"
        "from kalshi_extract.settings import Settings\n"
        f"s = Settings(api_key_id='k', private_key={pem!r})\n"
        "signer = Signer('k', load_private_key(s))\n"
        "assert signer.algorithm == 'rsa-pss-sha256'\n"
        "assert len(signer.headers('GET', '/portfolio/balance')['KALSHI-ACCESS-SIGNATURE']) > 300"
    )
    assert _loaded_after(code) == "True"
