"""Charts can be read on a laptop (1366 px) and a phone (390 px) (issue 13 item 12).

Real Chromium measures every label of every chart at the size shown: the SVG's font size
times the scale its viewBox is drawn at (its rendered width over the viewBox's width),
and the rendered height of each label's box; both must be at least 12 px. Each chart has
a y axis with its unit, gridlines, dated ticks and (for a goal) the target band. The pages
are screenshot to test-artifacts/charts-<page>-<width>-<backend>.png.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import Page

from careteam.clients import services as clients
from careteam.enums import Discipline, GoalDirection, NutritionType, Role
from careteam.goals.services import GoalFields, check_in, create_goal
from careteam.nutrition.services import post_update
from tests.e2e.helpers import ARTIFACTS, PHONE, enter_code_if_asked
from tests.factories import PASSWORD, add_member, make_client, make_provider, make_user

pytestmark = pytest.mark.e2e

LAPTOP = {"width": 1366, "height": 768}
MIN_PX = 12
# For each label of each chart: the font size at the size shown, and its box's height.
MEASURE = """
() => [...document.querySelectorAll('svg.chart')].map(svg => {
  const box = svg.getBoundingClientRect();
  const scale = box.width / svg.viewBox.baseVal.width;
  return {
    width: box.width,
    grid: svg.querySelectorAll('.grid').length,
    band: svg.querySelectorAll('.band').length,
    unit: (svg.querySelector('.axis-label') || {}).textContent || '',
    dates: [...svg.querySelectorAll('text.date')].map(t => t.textContent),
    labels: [...svg.querySelectorAll('text')].map(t => ({
      text: t.textContent,
      px: parseFloat(getComputedStyle(t).fontSize) * scale,
      height: t.getBoundingClientRect().height,
    })),
  };
})
"""


def _seed():
    lead = make_provider(Discipline.THERAPIST, name="Dana Okafor", email="dana@example.com")
    dietitian = make_provider(Discipline.DIETITIAN, name="Noor Haddad", email="noor@example.com")
    own = make_user(Role.CLIENT, email="alex@example.com", name="Alex Rivera")
    record = make_client(lead, name="Alex Rivera")
    add_member(record, dietitian, lead)
    clients.link_portal_account(actor=lead, client=record, email=own.email)
    today = date.today()
    goal = create_goal(
        actor=lead,
        client=record,
        fields=GoalFields(
            title="Fewer panic attacks",
            measure="Panic attacks",
            unit="attacks per week",
            baseline=Decimal(6),
            target=Decimal(1),
            direction=GoalDirection.DOWN,
            target_date=today + timedelta(days=60),
            owner_id=lead.id,
            shared_with_client=True,
        ),
    )
    for weeks, value in ((8, 6), (6, 5), (4, 4), (2, 3), (0, 1)):
        check_in(
            actor=lead,
            client=record,
            goal=goal,
            measured_on=today - timedelta(weeks=weeks),
            value=Decimal(value),
        )
    for weeks, kg in ((9, "58.2"), (6, "58.9"), (3, "59.6"), (0, "60.35")):
        post_update(
            actor=dietitian,
            client=record,
            update_type=NutritionType.WEIGHT,
            weight_kg=Decimal(kg),
            measured_on=today - timedelta(weeks=weeks),
        )
    return record, goal


def _login(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    enter_code_if_asked(page, email)


def _check(page: Page, url: str, name: str, screenshot, *units: str) -> list[dict]:
    """Every chart of the page readable; a goal's (any unit but kg) has its target band."""
    page.goto(url)
    page.wait_for_load_state("networkidle")
    for details in page.locator("details:has(svg.chart)").all():
        details.evaluate("d => d.open = true")
    charts = page.evaluate(MEASURE)
    assert charts, f"no chart on {url}"
    screenshot(page, name)
    first = page.locator("svg.chart").first
    first.scroll_into_view_if_needed()
    first.screenshot(path=str(ARTIFACTS / f"{name}-chart.png"))
    for chart in charts:
        small = [
            (label["text"], round(label["px"], 1), round(label["height"], 1))
            for label in chart["labels"]
            if label["text"].strip() and (label["px"] < MIN_PX or label["height"] < MIN_PX)
        ]
        assert small == [], (url, chart["width"], small)
        assert chart["unit"] in units, (url, chart["unit"])
        assert chart["grid"] >= 4, (url, "gridlines")
        assert len(chart["dates"]) >= 2 and all(chart["dates"]), (url, chart["dates"])
        assert chart["band"] == (0 if chart["unit"] == "kg" else 1), (url, "target band")
    return charts


@pytest.mark.parametrize(("size", "viewport"), [("laptop", LAPTOP), ("phone", PHONE)])
def test_every_chart_label_is_at_least_12_px_as_shown(
    app, live_server, browser, screenshot, size, viewport
):
    record, goal = _seed()
    options = {"viewport": viewport}
    if size == "phone":
        options |= {"is_mobile": True, "has_touch": True}
    context = browser.new_context(**options)
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        _login(page, live_server, "noor@example.com")
        base = f"{live_server}/clients/{record.id}"
        attacks = "attacks per week"
        _check(page, f"{base}/goals/{goal.id}", f"charts-goal-{size}", screenshot, attacks)
        _check(page, f"{base}/goals/", f"charts-goals-{size}", screenshot, attacks)
        _check(page, f"{base}/nutrition/", f"charts-weights-{size}", screenshot, "kg")
        page.context.clear_cookies()
        _login(page, live_server, "alex@example.com")
        _check(page, f"{live_server}/portal/", f"charts-portal-{size}", screenshot, attacks, "kg")
        portal_goal = _check(
            page,
            f"{live_server}/portal/goals/{goal.id}",
            f"charts-portal-goal-{size}",
            screenshot,
            attacks,
        )
        assert portal_goal[0]["width"] <= viewport["width"]
    finally:
        context.close()
