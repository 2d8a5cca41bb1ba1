"""Emergency access is reachable (issue 13 item 15): a provider whose search finds no
client of theirs is offered emergency access (with its warnings) instead of a dead end,
and the admin navigation links to it. The offer never says whether such a client exists:
the emergency search still needs the full name and date of birth."""

from __future__ import annotations

import re
from datetime import date

import pytest

from careteam.clients import services as client_services
from careteam.enums import LevelOfCare, Role
from tests.factories import make_client, make_provider, make_user

pytestmark = pytest.mark.backends("sqlite")

NAME = "Rosalind Emergencia"


def _emergency_link(html: str) -> str | None:
    match = re.search(r'href="(/emergency\?[^"]*)"', html)
    return match.group(1).replace("&amp;", "&") if match else None


def test_a_search_that_finds_none_of_my_clients_offers_emergency_access(app, client, auth):
    lead = make_provider(email="lead@example.com")
    client_services.create_client(
        actor=lead,
        full_name=NAME,
        level_of_care=LevelOfCare.OUTPATIENT_WEEKLY,
        effective_date=date(2026, 1, 5),
        date_of_birth=date(1990, 4, 2),
    )
    outsider = make_provider(email="outsider@example.com")
    make_client(outsider, name="Jamie Doe")
    auth.login(outsider.email)
    client.get("/clients/")  # the welcome message goes

    html = client.get("/clients/?q=Rosalind+Emergencia").get_data(as_text=True)
    assert "No client of yours matches" in html
    assert "Emergency access" in html
    assert "every view is logged" in html  # the warnings come with the offer
    link = _emergency_link(html)
    assert link == "/emergency?full_name=Rosalind+Emergencia"
    # Nothing on the page says whether such a client exists elsewhere: a name nobody has
    # gets the same page.
    nobody = client.get("/clients/?q=Nobody+Atallhere").get_data(as_text=True)
    assert (
        nobody.replace("Nobody Atallhere", NAME).replace("Nobody+Atallhere", "Rosalind+Emergencia")
        == html
    )

    # The link lands on the emergency search with the name already typed.
    page = client.get(link)
    assert page.status_code == 200
    assert 'value="Rosalind Emergencia"' in page.get_data(as_text=True)


def test_a_search_with_results_still_offers_emergency_access_quietly(app, client, auth):
    provider = make_provider()
    make_client(provider, name="Jamie Doe")
    auth.login(provider.email)
    html = client.get("/clients/?q=Jamie").get_data(as_text=True)
    assert "Jamie Doe" in html
    assert _emergency_link(html) == "/emergency?full_name=Jamie"


def test_the_dashboard_without_a_search_offers_no_emergency_access(app, client, auth):
    provider = make_provider()
    make_client(provider, name="Jamie Doe")
    auth.login(provider.email)
    assert _emergency_link(client.get("/clients/").get_data(as_text=True)) is None


def test_the_admin_navigation_links_to_emergency_access(app, client, auth):
    admin = make_user(Role.ADMIN)
    auth.login(admin.email)
    html = client.get("/admin/users").get_data(as_text=True)
    nav = html.split('<nav aria-label="Main">', 1)[1].split("</nav>", 1)[0]
    assert 'href="/emergency"' in nav
    assert "Emergency access" in nav
    page = client.get("/emergency").get_data(as_text=True)
    nav = page.split('<nav aria-label="Main">', 1)[1].split("</nav>", 1)[0]
    assert re.search(r'href="/emergency" aria-current="page"', nav)
