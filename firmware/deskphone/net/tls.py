"""The HTTPS certificate of the phone's web server.

At first start the phone makes a self-signed certificate (EC P-256, ten
years) with the ``openssl`` command into ``<state-dir>/tls/``: ``cert.pem``
and ``key.pem`` (mode 0600). To use your own certificate, put those two files
there (PEM; the key unencrypted) before starting the phone: existing files are
never overwritten. Generation runs as a subprocess, so the event loop never waits on it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import ssl
from pathlib import Path

from ..errors import DeskphoneError

log = logging.getLogger("deskphone.tls")

TLS_DIR = "tls"
CERT = "cert.pem"
KEY = "key.pem"
DAYS = 3650


class CertificateError(DeskphoneError, OSError):
    """No certificate could be made or loaded for HTTPS."""


async def ensure_certificate(state_dir: Path, common_name: str,
                             addresses: tuple[str, ...] = ()) -> tuple[Path, Path]:
    """``(cert, key)`` in ``state_dir/tls``, made with openssl when they are not there yet."""
    directory = Path(state_dir) / TLS_DIR
    cert, key = directory / CERT, directory / KEY
    if cert.is_file() and key.is_file():
        return cert, key
    openssl = shutil.which("openssl")
    if openssl is None:
        raise CertificateError("the openssl command is not installed (apt-get install openssl)")
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp_cert, tmp_key = directory / f".{CERT}.tmp", directory / f".{KEY}.tmp"
    san = ",".join(["DNS:localhost"] + [f"IP:{a}" for a in addresses if a])
    proc = await asyncio.create_subprocess_exec(
        openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-days", str(DAYS), "-subj", f"/CN={common_name}",
        "-addext", f"subjectAltName={san}",
        "-keyout", str(tmp_key), "-out", str(tmp_cert),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    _, err = await proc.communicate()
    if proc.returncode != 0:
        for tmp in (tmp_cert, tmp_key):
            tmp.unlink(missing_ok=True)
        last = err.decode(errors="replace").strip().splitlines()[-1:] or ["?"]
        raise CertificateError(f"openssl failed ({proc.returncode}): {last[0]}")
    os.chmod(tmp_key, 0o600)
    os.replace(tmp_key, key)        # the key first: a cert without its key is never left alone
    os.replace(tmp_cert, cert)
    log.info("made a self-signed HTTPS certificate in %s", directory)
    return cert, key


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise CertificateError(f"cannot load {cert} / {key}: {exc}") from exc
    return context
