"""The web simulator in real headless Chromium: lift the handset, type, see it, hear the
Action URLs."""

from __future__ import annotations

import base64
import io

from PIL import Image

from support import browser
from support.needs import requires
from deskphone.hw.render import render

pytestmark = requires(browser.missing())


async def test_hook_off_and_digits_from_the_browser(phone, receiver):
    url = f"http://127.0.0.1:{phone.http.port}/sim"
    async with browser.chromium_page() as page:
        await page.goto(url)
        await page.wait_for_selector("body[data-ready='1']", timeout=10_000)
        assert await page.inner_text("#hook") == "Hook off"

        await page.click("#hook")
        await receiver.wait("off_hook", timeout=5)
        await page.wait_for_function("document.getElementById('hook').textContent === 'Hook on'")

        for digit in "201":
            await page.click(f"button[data-key='{digit}']")
        await page.wait_for_function(
            "document.getElementById('screen-text').textContent.includes('201')", timeout=5_000)

        # The picture in the page is the phone's own frame, pixel for pixel.
        src = await page.get_attribute("#screen", "src")
        assert src.startswith("data:image/png;base64,")
        shown = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))).convert("1")
        assert phone.display.screen.lines[0] == "201"
        assert shown.tobytes() == render(phone.display.screen).tobytes()

        await page.click("button[data-key='#']")
        hit = await receiver.wait("outgoing_call", timeout=5)
        assert hit["calledNumber"] == "201"
        await receiver.wait("call_established", timeout=5)
        await page.wait_for_function(
            "document.getElementById('screen-text').textContent.includes('Talking')")
        assert await page.get_attribute("#led-line1", "class") == "led on"

        # The far end: Bob calls in while we talk and gives up; then Alice hangs up.
        await page.fill("#call-number", "300")
        await page.fill("#call-name", "Bob")
        await page.click("#call-in-button")
        incoming = await receiver.wait("incoming_call", timeout=5)
        assert incoming["callerID"] == "Bob"
        await page.wait_for_function(
            "document.getElementById('screen-text').textContent.includes('Waiting: Bob')")
        await page.click("button[data-far='hangup']")          # the newest call: Bob's
        await receiver.wait("call_remote_canceled", timeout=5)
        await page.click("button[data-far='hangup']")          # then Alice's
        await receiver.wait("call_terminated", timeout=5)
        await page.wait_for_function(
            "document.getElementById('led-line1').className === 'led off'")
