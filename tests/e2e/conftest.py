"""Browser tests: Debian's chromium driven by Playwright against a live server.

Skipped with a reason when /usr/bin/chromium is missing (`make test` installs it)."""

from __future__ import annotations

import os
import shutil

import pytest

from soporte.tickets.demo import DEMO_PASSWORD

CHROMIUM = os.environ.get("SOPORTE_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
# in between are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def dialogs():
    """Every alert/confirm/prompt any page opened; an XSS test asserts it stays empty."""
    return []


@pytest.fixture
def new_page(browser, live_server, dialogs):
    contexts = []

    def make(locale: str = "en-US"):
        context = browser.new_context(locale=locale, base_url=live_server.url)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def sign_in():
    def do(page, user, password: str = DEMO_PASSWORD):
        page.goto("/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", password)
        page.click("form[action='/login/'] button[type=submit]")
        page.wait_for_load_state()

    return do


def set_password(user, password: str = DEMO_PASSWORD):
    user.set_password(password)
    user.save(update_fields=["password"])
    return user
