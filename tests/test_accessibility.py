"""Every page a user can open is labelled for assistive technology.

The pages come from the authorization table (tests/authz_table.py): every GET
route, opened by a user it allows. Each form control must have a label (a <label for>,
a wrapping <label>, or aria-label/aria-labelledby), and each page a language and a
<main> landmark with one <h1>.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from tests.authz_table import ROWS, visit_as

pytestmark = pytest.mark.backends("sqlite")

PREFERRED = ["lead", "member", "admin", "client", "anon"]
# Files, JSON, a CSV download and a redirect.
NOT_PAGES = {
    "static",
    "health.healthz",
    "admin.audit_export",
    "fhir.patient_everything",
    "auth.index",
    "auth.favicon",
}
UNLABELLED_TYPES = {"hidden", "submit", "button", "reset", "image"}


class Controls(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict[str, str | None]] = []
        self.label_for: set[str] = set()
        self.open_labels = 0
        self.lang: str | None = None
        self.mains = 0
        self.h1s = 0

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "html":
            self.lang = attributes.get("lang")
        elif tag == "main":
            self.mains += 1
        elif tag == "h1":
            self.h1s += 1
        elif tag == "label":
            self.open_labels += 1
            if attributes.get("for"):
                self.label_for.add(attributes["for"])
        elif tag in {"input", "select", "textarea"}:
            if tag == "input" and attributes.get("type", "text") in UNLABELLED_TYPES:
                return
            self.controls.append({**attributes, "_wrapped": "1" if self.open_labels else ""})

    def handle_endtag(self, tag):
        if tag == "label":
            self.open_labels = max(0, self.open_labels - 1)

    def unlabelled(self) -> list[str]:
        return [
            str(c.get("name") or c.get("id"))
            for c in self.controls
            if not (
                c["_wrapped"]
                or c.get("aria-label")
                or c.get("aria-labelledby")
                or (c.get("id") and c["id"] in self.label_for)
            )
        ]


PAGES = [
    (endpoint, role)
    for endpoint, method, cells in ROWS
    if method == "GET"
    and endpoint not in NOT_PAGES
    and (role := next((r for r in PREFERRED if cells[r] == "200"), None)) is not None
]


def test_the_sweep_covers_the_pages():
    assert len(PAGES) > 40


@pytest.mark.parametrize(("endpoint", "role"), PAGES)
def test_every_control_has_a_label(app, client, auth, authz_world, endpoint, role):
    url = visit_as(app, auth, authz_world, endpoint, role)
    response = client.get(url)
    assert response.status_code == 200, url
    assert response.mimetype == "text/html", f"{url}: not a page; add it to NOT_PAGES"
    page = Controls()
    page.feed(response.get_data(as_text=True))
    assert page.lang == "en", url
    assert page.mains == 1 and page.h1s >= 1, url
    assert page.unlabelled() == [], f"{url}: controls without a label"
