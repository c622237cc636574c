"""The phone's web pages in a real headless Chromium (Debian's, driven by Playwright).

A person logs in, changes an Action URL on Features > Action URL, saves, and the
next event goes to the new URL; a form posted without its CSRF token is refused.
"""

from __future__ import annotations

import pytest

from support.browser import chromium_page, missing
from support.phone import settle, start_phone

PASSWORD = "Browser-pass-7"


@pytest.fixture
async def browser_page():
    # Debian's chromium and Playwright come with `make test`; missing ones fail, not skip.
    assert missing() is None, missing()
    async with chromium_page() as page:
        page.set_default_timeout(10_000)
        yield page


@pytest.fixture
async def web_phone(tmp_path, receiver):
    app = await start_phone(tmp_path, receiver.base,
                            extra=f"static.security.user_password = admin:{PASSWORD}\n")
    await receiver.wait("registered")
    yield app
    await app.stop()


async def log_in(page, app) -> None:
    base = f"http://127.0.0.1:{app.http.port}"
    await page.goto(f"{base}/servlet?p=features-actionurl&q=load")
    assert "Log in" in await page.title()             # not logged in yet: the login page
    await page.fill("#username", "admin")
    await page.fill("#pwd", PASSWORD)
    await page.click("#login")
    await page.wait_for_load_state()
    assert (await page.title()).startswith("Action URL")   # back where we wanted to go


async def test_change_an_action_url_in_the_browser_and_the_next_event_uses_it(
        web_phone, receiver, browser_page):
    page = browser_page
    await log_in(page, web_phone)
    field = page.locator("[id='action_url.dnd_on']")
    assert await field.get_attribute("maxlength") == "511"
    assert (await field.input_value()).startswith(f"{receiver.base}/dnd_on?")
    new_url = f"{receiver.base}/changed_in_browser?mac=$mac&model=$model"
    await field.fill(new_url)
    await page.click("#save")
    await page.wait_for_load_state()
    assert "Saved." in await page.content()
    assert await page.locator("[id='action_url.dnd_on']").input_value() == new_url

    web_phone.keypad.press("F1")                      # DND on, from the keypad
    hit = await receiver.wait("changed_in_browser")
    assert hit["mac"] == "001565abcdef" and hit["model"] == "deskphone"
    await receiver.quiet(0.1)
    assert "dnd_on" not in receiver.events()          # the old URL got nothing
    assert await web_phone.store.flush()
    state = (web_phone.state_dir / "state.cfg").read_text()
    assert "action_url.dnd_on = " + new_url in state   # persisted for the next start

    # The status page lists the delivery that just happened.
    await page.click("text=Status")
    await page.wait_for_load_state()
    deliveries = await page.locator("#deliveries").inner_text()
    assert "Open DND" in deliveries and "changed_in_browser" in deliveries


async def test_a_form_posted_without_its_csrf_token_is_refused(web_phone, receiver,
                                                               browser_page):
    page = browser_page
    await log_in(page, web_phone)
    before = web_phone.settings["action_url.dnd_on"]
    await page.locator("[id='action_url.dnd_on']").fill(f"{receiver.base}/should_not_be_saved")
    save_csrf = "form[action*='q=write'] input[name=csrf]"
    assert await page.locator(save_csrf).count() == 1
    await page.evaluate(f"document.querySelector(\"{save_csrf}\").remove()")
    async with page.expect_response(lambda r: "q=write" in r.url) as info:
        await page.click("#save")
    response = await info.value
    assert response.status == 403
    assert "refused" in await page.content()
    await settle(web_phone)
    assert web_phone.settings["action_url.dnd_on"] == before
    assert "action_url.dnd_on" not in web_phone.store.snapshot()
    # A forged token is refused the same way.
    await page.goto(f"http://127.0.0.1:{web_phone.http.port}/servlet?p=features-actionurl&q=load")
    await page.evaluate(f"document.querySelector(\"{save_csrf}\").value = 'forged'")
    await page.locator("[id='action_url.dnd_on']").fill(f"{receiver.base}/forged")
    async with page.expect_response(lambda r: "q=write" in r.url) as info:
        await page.click("#save")
    assert (await info.value).status == 403
    assert web_phone.settings["action_url.dnd_on"] == before
