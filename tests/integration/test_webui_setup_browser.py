"""Setup from the browser (issue 17), in a real headless Chromium against a real kamailio.

A person logs in, adds a SIP account on the Accounts page, and the phone
registers it with the lab's registrar at once, no restart: the page shows it
registered and kamailio holds the binding. A form without its CSRF token
changes nothing.
"""

from __future__ import annotations

import time

import pytest

from support.sip_lab import lab_missing, registered_contacts, start_lab, start_sip_phone
from support.sip_lab_fixtures import stop_and_check
from support.needs import unavailable
from support.waiting import until
from test_webui_browser import browser_page  # noqa: F401 (the fixture)

PASSWORD = "Setup-pass-9"


@pytest.fixture(scope="module")
def registrar(tmp_path_factory):
    if (why := lab_missing()) is not None:
        unavailable(f"SIP lab unavailable: {why}")
    lab = start_lab(tmp_path_factory.mktemp("setup-lab"), ())      # kamailio only
    yield lab
    lab.stop()


@pytest.fixture
async def lab_phone(registrar, tmp_path, receiver):
    app = await start_sip_phone(tmp_path, receiver.base, registrar, registrar.next_user(),
                                extra=f"static.security.user_password = admin:{PASSWORD}")
    try:
        await receiver.wait("registered", timeout=15)
        yield app
    finally:
        await stop_and_check(app)


async def log_in(page, app, where: str) -> str:
    base = f"http://127.0.0.1:{app.http.port}"
    await page.goto(f"{base}/servlet?p={where}&q=load")
    assert "Log in" in await page.title()
    await page.fill("#username", "admin")
    await page.fill("#pwd", PASSWORD)
    await page.click("#login")
    await page.wait_for_load_state()
    return base


async def test_an_account_added_in_the_browser_registers_at_once(lab_phone, registrar,
                                                                 browser_page):
    page, app = browser_page, lab_phone
    starts = app.engine.starts
    await log_in(page, app, "accounts")
    assert (await page.title()).startswith("Accounts")
    assert "registered" in await page.locator("#account-1 .reg").inner_text()
    await page.click("#add")                                   # the first free slot: 2
    await page.wait_for_load_state()
    assert (await page.title()).startswith("Account 2")
    assert await page.locator("[id='account.2.enable']").is_checked()
    user = registrar.next_user()
    for suffix, value in (("label", "Browser"), ("user_name", user), ("auth_name", user),
                          ("password", "secret"), ("sip_server.1.address", "127.0.0.1"),
                          ("sip_server.1.port", str(registrar.port)),
                          ("sip_server.1.expires", "600")):
        await page.fill(f"[id='account.2.{suffix}']", value)
    await page.click("#save")
    await page.wait_for_load_state()
    saved_at = time.monotonic()
    assert "Account 2 saved." in await page.content()

    async def shown_registered() -> bool:
        await page.reload()
        return await page.locator("#account-2 .reg").inner_text() == "registered"
    await until(shown_registered, timeout=20, interval=0.5, what="account 2 shown registered")
    print(f"account 2: saved -> shown registered in {time.monotonic() - saved_at:.2f} s")
    assert await registered_contacts(registrar, user), "kamailio holds no binding for account 2"
    assert app.engine.starts == starts                         # no restart of the engine
    assert app.settings["account.2.user_name"] == user
    assert "secret" not in await page.content()                # the password is never shown
    await page.click("#edit-2")
    await page.wait_for_load_state()
    assert await page.locator("[id='account.2.password']").input_value() == ""
    assert "secret" not in await page.content()
    assert await page.locator("#registration").inner_text() == "registered"


async def test_an_account_form_without_its_csrf_token_changes_nothing(lab_phone, browser_page):
    page, app = browser_page, lab_phone
    base = await log_in(page, app, "accounts")
    await page.goto(f"{base}/servlet?p=accounts&q=load&acc=1")
    before = dict(app.settings)
    await page.fill("[id='account.1.label']", "Not saved")
    await page.fill("[id='account.1.sip_server.1.address']", "elsewhere.test")
    await page.evaluate("document.querySelector(\"form[action*='q=write'] "
                        "input[name=csrf]\").remove()")
    async with page.expect_response(lambda r: "q=write" in r.url) as info:
        await page.click("#save")
    assert (await info.value).status == 403
    assert "refused" in await page.content()
    assert dict(app.settings) == before
    assert not any(k.startswith("account.") for k in app.store.snapshot())
