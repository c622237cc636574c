"""net.auth: the admin account, Basic credentials and the lockout, without sockets."""

from __future__ import annotations

import base64

import pytest

from deskphone.net.auth import Credentials, LoginThrottle, admin_account, basic_auth, check


def header(text: str) -> str:
    return "Basic " + base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize("value, expected", [
    (None, None), ("", None), ("Bearer abc", None),
    (header("admin:pa:ss"), Credentials("admin", "pa:ss")),     # only the first ':' splits
    (header("admin:"), Credentials("admin", "")),
    ("basic " + base64.b64encode(b"u:p").decode(), Credentials("u", "p")),
])
def test_basic_auth(value, expected):
    assert basic_auth(value) == expected


@pytest.mark.parametrize("value", ["Basic !!!", "Basic " + base64.b64encode(b"nocolon").decode(),
                                   "Basic " + base64.b64encode(b"\xff\xfe:x").decode()])
def test_a_malformed_basic_header_is_a_wrong_password_not_none(value):
    given = basic_auth(value)
    assert given is not None
    assert not check({"static.security.user_password": "admin:x"}, given)


@pytest.mark.parametrize("settings, account", [
    ({}, None),                                                  # no default password
    ({"static.security.user_password": ""}, None),
    ({"static.security.user_password": "admin:"}, None),
    ({"static.security.user_password": "admin:pw"}, Credentials("admin", "pw")),
    ({"static.security.user_password": "user:pw"}, None),      # another account's password
    ({"static.security.user_name.admin": "boss", "static.security.user_password": "boss:pw"},
     Credentials("boss", "pw")),
    ({"static.security.user_name.admin": "boss", "static.security.user_password": "admin:pw"},
     Credentials("boss", "pw")),
])
def test_admin_account(settings, account):
    assert admin_account(settings) == account


def test_check():
    s = {"static.security.user_password": "admin:pässword"}
    assert check(s, Credentials("admin", "pässword"))
    assert not check(s, Credentials("admin", "password"))
    assert not check(s, Credentials("Admin", "pässword"))
    assert not check({}, Credentials("admin", ""))
    assert "pässword" not in repr(Credentials("admin", "pässword"))


def test_three_failures_lock_for_ten_minutes_and_success_resets_the_count():
    t = LoginThrottle()
    assert not t.failed("a", 0.0) and not t.failed("a", 1.0)
    t.succeeded("a")
    assert not t.failed("a", 2.0) and not t.failed("a", 3.0)
    assert t.failed("a", 4.0)                    # the third in a row
    assert t.locked("a", 5.0) and t.locked("a", 603.9)
    assert not t.locked("b", 5.0)
    assert not t.locked("a", 604.0)


def test_old_failures_age_out():
    t = LoginThrottle()
    t.failed("a", 0.0)
    t.failed("a", 1.0)
    assert not t.failed("a", 700.0)              # the first two are older than the window
    assert not t.locked("a", 700.0)


def test_memory_stays_bounded():
    t = LoginThrottle(max_sources=10)
    for i in range(1000):
        t.failed(f"10.0.{i // 256}.{i % 256}", float(i))
    assert len(t._failures) <= 10
    for i in range(100):
        for _ in range(3):
            t.failed(f"10.1.0.{i}", 5000.0 + i)
    assert len(t._locked) <= 10 and t.locked("10.1.0.99", 5100.0)
