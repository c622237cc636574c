"""Issue 15, item 6: the login page's ``jumpto`` must not send the browser to another site.

Browsers drop tab, CR and LF from a URL (WHATWG URL Standard, "remove all ASCII
tab or newline") and read ``\\`` as ``/``: ``/\\t/evil.example/`` is
``//evil.example/``, another site. The login is posted as the login page's
form posts it (``username``, ``pwd``, ``jumpto``).
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

import pytest

from phone_web import ADMIN, PASSWORD, serve, status_of

TARGETS = ["/\t/evil.example/", "/\r/evil.example/", "/\n/evil.example/", "/\\evil.example/",
           "/\t\\evil.example/", "//evil.example/", "https://evil.example/", "/ /evil.example"]


def login(jumpto: str) -> bytes:
    body = f"username=admin&pwd={PASSWORD}&jumpto={quote(jumpto, safe='')}".encode()
    return (b"POST /servlet?p=login&q=login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)


@pytest.mark.parametrize("jumpto", TARGETS)
async def test_the_redirect_after_login_stays_on_the_phone(tmp_path, jumpto):
    served = await serve(tmp_path, ADMIN)
    try:
        answer = await served.raw(login(jumpto))
    finally:
        await served.stop()
    assert status_of(answer) == 303
    location = next(line.split(b":", 1)[1].strip().decode("latin-1")
                    for line in answer.split(b"\r\n") if line.lower().startswith(b"location:"))
    as_browser_reads_it = location.replace("\t", "").replace("\r", "").replace("\n", "") \
        .replace("\\", "/")
    parts = urlsplit(as_browser_reads_it)
    assert as_browser_reads_it.startswith("/") and not parts.netloc and not parts.scheme, location


async def test_a_local_target_is_kept(tmp_path):
    served = await serve(tmp_path, ADMIN)
    try:
        answer = await served.raw(login("/servlet?p=features-actionurl&q=load"))
    finally:
        await served.stop()
    assert b"\r\nLocation: /servlet?p=features-actionurl&q=load\r\n" in answer
