"""End to end: a provider creates an API token in the browser, a script uses it over real
HTTP to list their clients and post a note, the note shows on the timeline, and revoking
the token in the browser stops the script at once. Screenshots of the token page and the
API reference go to test-artifacts/."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.helpers import enter_code_if_asked
from tests.factories import PASSWORD, make_client, make_provider

pytestmark = pytest.mark.e2e

EMAIL = "riley.chen@example.com"
NOTE = "Sent from the practice EHR: intake form received."


def _call(method: str, url: str, token: str, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        assert error.headers["Content-Type"] == "application/problem+json"
        return error.code, json.loads(error.read())


def test_a_token_made_in_the_browser_drives_the_api_until_revoked(
    app, live_server, browser_page: Page, screenshot
):
    lead = make_provider(name="Riley Chen", email=EMAIL)
    record = make_client(lead, name="Jamie Doe")
    record_id = record.id
    page, base = browser_page, live_server

    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    enter_code_if_asked(page, EMAIL)

    page.goto(f"{base}/settings/profile")
    page.get_by_role("link", name="API tokens").click()
    expect(page.get_by_role("heading", level=1, name="API tokens")).to_be_visible()
    page.get_by_label("Name").fill("Practice EHR")
    page.get_by_label("Read and write").check()
    page.locator("main form button[type=submit]", has_text="Create token").click()
    secret = page.locator("#new-token").input_value()
    assert re.fullmatch(r"ctp_[\w-]{43}", secret)
    expect(page.get_by_text("You will not see it again")).to_be_visible()
    screenshot(page, "api-token-created")

    status, clients = _call("GET", f"{base}/api/v1/clients", secret)
    assert status == 200
    assert [c["id"] for c in clients["items"]] == [record_id]
    status, note = _call(
        "POST",
        f"{base}/api/v1/clients/{record_id}/notes",
        secret,
        {"title": "Intake", "body": NOTE, "visibility": "team"},
    )
    assert status == 201, note
    assert note["kind"] == "note"

    page.goto(f"{base}/clients/{record_id}")
    expect(page.get_by_text(NOTE)).to_be_visible()

    page.goto(f"{base}/settings/tokens")
    row = page.get_by_role("row").filter(has_text="Practice EHR")
    expect(row).to_contain_text("Active")
    expect(row).not_to_contain_text("Never")  # its last use is shown
    expect(page.locator("#new-token")).to_have_count(0)  # the secret is never shown again
    row.get_by_role("link", name=re.compile("Revoke")).click()
    # It asks first, saying what will happen (no JavaScript needed).
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Revoke the token \u201cPractice EHR\u201d?"
    )
    expect(page.get_by_text("stops working at once")).to_be_visible()
    screenshot(page, "api-token-revoke-confirm")
    page.get_by_role("button", name="Revoke token").click()
    expect(page.get_by_role("row").filter(has_text="Practice EHR")).to_contain_text("Revoked")
    screenshot(page, "api-tokens-list")

    status, problem = _call("GET", f"{base}/api/v1/clients", secret)
    assert status == 401
    assert problem["status"] == 401

    page.goto(f"{base}/api/v1/docs")
    expect(page.get_by_role("heading", level=1, name=re.compile("CareTeam API"))).to_be_visible()
    expect(page.get_by_text("POST /api/v1/clients/{client_id}/notes").first).to_be_visible()
    screenshot(page, "api-reference")
