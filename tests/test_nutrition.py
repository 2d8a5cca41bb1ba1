"""Nutrition updates: dietitians post them, the team sees the weight trend and the meal plan."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from flask import render_template
from sqlalchemy import func, select

from careteam.audit import AuditEvent
from careteam.audit.viewer import count_for
from careteam.enums import AuditOutcome, Discipline, NutritionType, Role
from careteam.extensions import db
from careteam.nutrition import services
from careteam.nutrition.demo import seed_demo
from careteam.nutrition.models import NutritionUpdate
from careteam.record.services import EntryError, post_note
from careteam.timefmt import format_date
from tests.factories import add_member, make_client, make_provider, make_user

TODAY = date.today()
YESTERDAY = (TODAY - timedelta(days=1)).isoformat()


@pytest.fixture
def team(app):
    """A client whose team has a therapist lead and a dietitian."""
    lead = make_provider(Discipline.THERAPIST)
    dietitian = make_provider(Discipline.DIETITIAN)
    record = make_client(lead)
    add_member(record, dietitian, lead)
    return record, lead, dietitian


def _path(record, suffix: str = "/") -> str:
    return f"/clients/{record.id}/nutrition{suffix}"


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(NutritionUpdate))


def _weight(record, dietitian, kg: str, days_ago: int = 0, blind: bool = False, **kw):
    return services.post_update(
        actor=dietitian,
        client=record,
        update_type=NutritionType.WEIGHT,
        weight_kg=Decimal(kg),
        measured_on=TODAY - timedelta(days=days_ago),
        blind=blind,
        **kw,
    )


def _text(record, dietitian, update_type: NutritionType, text: str):
    return services.post_update(actor=dietitian, client=record, update_type=update_type, text=text)


def _section(page: str, section_id: str) -> str:
    """The HTML of one <section id=...> of a page."""
    start = page.index(f'<section id="{section_id}"')
    return page[start : page.index("</section>", start)]


# Creating each type


@pytest.mark.parametrize(
    ("form", "expected", "flash"),
    [
        (
            {"update_type": "meal_plan", "text": "Three meals, three snacks."},
            {"text": "Three meals, three snacks.", "weight_kg": None, "blind": False},
            "The meal plan change was added.",
        ),
        (
            {
                "update_type": "weight",
                "weight_kg": "52.4",
                "measured_on": YESTERDAY,
                "blind": "y",
            },
            {"weight_kg": Decimal("52.40"), "measured_on": YESTERDAY, "blind": True, "text": ""},
            "The weight was recorded.",
        ),
        (
            {"update_type": "weight", "weight_kg": "61,25", "measured_on": YESTERDAY},
            {"weight_kg": Decimal("61.25"), "blind": False},
            "The weight was recorded.",
        ),
        (
            {"update_type": "supplement", "text": "Started vitamin D 1000 IU daily."},
            {"text": "Started vitamin D 1000 IU daily."},
            "The supplement change was added.",
        ),
        (
            # Without JavaScript every field shows: what does not apply to a note is ignored.
            {
                "update_type": "note",
                "text": "  Evening snack is hard.  ",
                "weight_kg": "50",
                "measured_on": YESTERDAY,
                "blind": "y",
            },
            {"text": "Evening snack is hard.", "weight_kg": None, "measured_on": None},
            "Your nutrition note was added.",
        ),
    ],
)
def test_dietitian_posts_each_type(app, client, auth, team, form, expected, flash):
    record, _, dietitian = team
    auth.login(dietitian.email)
    response = auth.post(_path(record, "/new"), form)
    update = db.session.scalar(select(NutritionUpdate))
    assert response.status_code == 302
    assert response.headers["Location"] == _path(record, f"/#e{update.id}")
    assert update.update_type == form["update_type"]
    assert update.author_id == dietitian.id and update.client_id == record.id
    for name, value in expected.items():
        if name == "measured_on":
            value = date.fromisoformat(value) if value else None
        assert getattr(update, name) == value, name
    assert update.blind == (form["update_type"] == "weight" and "blind" in form)
    assert count_for("create_nutrition", record.id) == 1
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert flash in page


def test_form_preselects_the_type_and_shows_every_field(app, client, auth, team):
    record, _, dietitian = team
    auth.login(dietitian.email)
    page = client.get(_path(record, "/new?type=weight")).get_data(as_text=True)
    assert 'value="weight" checked' in page or 'checked id="update_type-1"' in page
    for name in ("weight_kg", "measured_on", "blind", "text"):
        assert f'name="{name}"' in page
    assert 'for="weight_kg"' in page and 'for="measured_on"' in page
    page = client.get(_path(record, "/new?type=bogus")).get_data(as_text=True)
    assert " checked" not in page


def test_the_date_measured_starts_as_the_dietitians_own_today(app, client, auth, team):
    record, _, dietitian = team
    dietitian.time_zone = "Pacific/Kiritimati"  # UTC+14: a day ahead of most servers
    db.session.commit()
    auth.login(dietitian.email)
    page = client.get(_path(record, "/new?type=weight")).get_data(as_text=True)
    local_today = services.today_for(dietitian).isoformat()
    assert f'name="measured_on" type="date" value="{local_today}"' in page


# Validation

ABC = "Enter the weight as a number of kilograms"
LOW = "Must be at least 20 kg."
HIGH = "Must be at most 350 kg."
WEIGHT = {"update_type": "weight", "weight_kg": "52.4", "measured_on": YESTERDAY}


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"text": "x"}, "update_type", "Choose what kind of update this is."),
        ({"update_type": "smoothie", "text": "x"}, "update_type", "Not a valid choice"),
        ({"update_type": "meal_plan", "text": ""}, "text", "Describe the meal plan change."),
        ({"update_type": "supplement", "text": " \n "}, "text", "Describe the supplement change."),
        ({"update_type": "note", "text": ""}, "text", "Write the note."),
        ({"update_type": "note", "text": "x" * 5001}, "text", "Keep it under 5000 characters."),
        ({**WEIGHT, "weight_kg": ""}, "weight_kg", "Enter the weight in kilograms."),
        ({**WEIGHT, "weight_kg": "19.99"}, "weight_kg", LOW),
        ({**WEIGHT, "weight_kg": "350.01"}, "weight_kg", HIGH),
        ({**WEIGHT, "weight_kg": "0"}, "weight_kg", LOW),
        ({**WEIGHT, "weight_kg": "-52.4"}, "weight_kg", LOW),
        ({**WEIGHT, "weight_kg": "1150"}, "weight_kg", "not pounds or grams"),
        ({**WEIGHT, "weight_kg": "fifty"}, "weight_kg", ABC),
        ({**WEIGHT, "weight_kg": "52.4kg"}, "weight_kg", ABC),
        ({**WEIGHT, "weight_kg": "NaN"}, "weight_kg", ABC),
        ({**WEIGHT, "weight_kg": "Infinity"}, "weight_kg", ABC),
        ({**WEIGHT, "weight_kg": "52.456"}, "weight_kg", "at most two decimals"),
        ({**WEIGHT, "measured_on": ""}, "measured_on", "Enter the date the weight was measured."),
        (
            {**WEIGHT, "measured_on": (TODAY + timedelta(days=2)).isoformat()},
            "measured_on",
            "The date measured cannot be in the future.",
        ),
        (
            {**WEIGHT, "measured_on": "last week"},
            "measured_on",
            "Enter the date as year-month-day",
        ),
    ],
)
def test_validation_keeps_input_and_saves_nothing(app, client, auth, team, form, field, message):
    record, _, dietitian = team
    auth.login(dietitian.email)
    typed = {"text": "Typed by hand", **form}
    response = auth.post(_path(record, "/new"), typed)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page
    assert f'id="{field}-error"' in page
    assert "Nothing was saved." in page
    if typed["text"] == "Typed by hand":
        assert "Typed by hand" in page
    if typed.get("weight_kg"):
        assert f'value="{typed["weight_kg"]}"' in page  # what the user typed, as typed
    assert _count() == 0
    assert count_for("create_nutrition") == 0


def test_every_weight_problem_is_shown_at_once(app, client, auth, team):
    record, _, dietitian = team
    auth.login(dietitian.email)
    response = auth.post(
        _path(record, "/new"), {"update_type": "weight", "weight_kg": "abc", "measured_on": ""}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="weight_kg-error"' in page and 'id="measured_on-error"' in page
    assert page.count(ABC) == 1  # the parse error alone, not also "enter the weight"


@pytest.mark.parametrize(
    ("values", "field"),
    [
        (
            {"update_type": "weight", "weight_kg": Decimal("400"), "measured_on": TODAY},
            "weight_kg",
        ),
        ({"update_type": "weight", "weight_kg": Decimal("52")}, "measured_on"),
        ({"update_type": "weight", "measured_on": TODAY}, "weight_kg"),
        ({"update_type": "meal_plan", "text": ""}, "text"),
        ({"update_type": "dessert", "text": "x"}, "update_type"),
    ],
)
def test_the_service_refuses_invalid_values_too(app, team, values, field):
    record, _, dietitian = team
    with pytest.raises(EntryError) as refused:
        services.post_update(actor=dietitian, client=record, **values)
    assert refused.value.field == field
    assert _count() == 0


def test_measured_date_is_checked_against_the_dietitians_own_today(app, team):
    record, _, dietitian = team
    dietitian.time_zone = "Pacific/Kiritimati"  # UTC+14: already tomorrow for most servers
    db.session.commit()
    local_today = services.today_for(dietitian)
    update = _weight(record, dietitian, "52", days_ago=(TODAY - local_today).days)
    assert update.measured_on == local_today


# Who may post


@pytest.mark.parametrize("discipline", list(Discipline))
def test_only_the_team_discipline_dietitian_may_post(app, client, auth, discipline):
    lead = make_provider(Discipline.THERAPIST)
    record = make_client(lead)
    provider = make_provider(discipline)
    add_member(record, provider, lead)
    auth.login(provider.email)
    allowed = discipline == Discipline.DIETITIAN
    assert client.get(_path(record, "/new")).status_code == (200 if allowed else 403)
    response = auth.post(_path(record, "/new"), {**WEIGHT})
    assert response.status_code == (302 if allowed else 403)
    assert _count() == (1 if allowed else 0)
    if allowed:
        new = db.session.scalars(select(NutritionUpdate)).one()
        assert response.headers["Location"] == _path(record, f"/#e{new.id}")
    page = client.get(_path(record)).get_data(as_text=True)  # every member sees the page
    assert ("Record a weight" in page) == allowed


def test_a_dietitian_on_the_team_as_other_may_not_post(app, client, auth):
    """The discipline on this team counts, not the one on the account."""
    lead = make_provider(Discipline.THERAPIST)
    record = make_client(lead)
    dietitian = make_provider(Discipline.DIETITIAN)
    add_member(record, dietitian, lead, discipline=Discipline.OTHER)
    auth.login(dietitian.email)
    assert client.get(_path(record, "/new")).status_code == 403
    assert auth.post(_path(record, "/new"), {**WEIGHT}).status_code == 403
    assert _count() == 0
    denied = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "post_nutrition", AuditEvent.outcome == AuditOutcome.DENIED
        )
    ).all()
    assert len(denied) == 2 and denied[0].detail == "dietitians only"


def test_a_therapist_account_on_the_team_as_dietitian_may_post(app, client, auth):
    lead = make_provider(Discipline.THERAPIST)
    record = make_client(lead)
    provider = make_provider(Discipline.THERAPIST)
    add_member(record, provider, lead, discipline=Discipline.DIETITIAN)
    auth.login(provider.email)
    response = auth.post(_path(record, "/new"), {**WEIGHT})
    assert response.status_code == 302
    assert _count() == 1
    new = db.session.scalars(select(NutritionUpdate)).one()
    assert response.headers["Location"] == _path(record, f"/#e{new.id}")


@pytest.mark.parametrize("who", ["nonmember", "ended", "client", "admin"])
def test_outsiders_get_not_found(app, client, auth, team, who):
    record, lead, dietitian = team
    update = _weight(record, dietitian, "50")
    if who == "nonmember":
        user = make_provider(Discipline.DIETITIAN)
    elif who == "ended":
        from careteam.clients.services import end_member

        user = make_provider(Discipline.DIETITIAN)
        member = add_member(record, user, lead)
        end_member(actor=lead, client=record, member_id=member.id)
    else:
        user = make_user(Role.CLIENT if who == "client" else Role.ADMIN)
    auth.login(user.email)
    for path in (_path(record), _path(record, "/new"), _path(record, f"/{update.id}/amend")):
        assert client.get(path).status_code == 404, path
    assert auth.post(_path(record, "/new"), {**WEIGHT}).status_code == 404
    assert _count() == 1


# Amendments


def test_author_amends_a_weight_and_the_chart_shows_the_new_one(app, client, auth, team):
    record, _, dietitian = team
    _weight(record, dietitian, "49.6", days_ago=14)
    typo = _weight(record, dietitian, "58.1", days_ago=7, blind=True)
    auth.login(dietitian.email)
    form = client.get(_path(record, f"/{typo.id}/amend")).get_data(as_text=True)
    assert 'value="58.1"' in form and "Amend a nutrition update" in form
    response = auth.post(
        _path(record, f"/{typo.id}/amend"),
        {
            "update_type": "weight",
            "weight_kg": "50.1",
            "measured_on": typo.measured_on.isoformat(),
            "blind": "y",
        },
    )
    assert response.status_code == 302
    old = db.session.get(NutritionUpdate, typo.id)
    new = db.session.scalar(
        select(NutritionUpdate).where(NutritionUpdate.supersedes_id == typo.id)
    )
    assert old.superseded_at is not None and old.weight_kg == Decimal("58.10")
    assert new.weight_kg == Decimal("50.10") and new.blind and new.root_id == typo.id
    assert response.headers["Location"] == _path(record, f"/#e{new.id}")
    assert count_for("amend_entry", record.id) == 1
    page = client.get(_path(record)).get_data(as_text=True)
    weights = _section(page, "weights")
    assert "50.1 kg" in weights and "49.6 kg" in weights
    assert "58.1" not in page  # neither in the chart, the table nor the recent updates
    chart = weights[weights.index("<svg") : weights.index("</svg>")]
    assert chart.count('class="point"') == 2
    history = client.get(f"/clients/{record.id}/entries/{new.id}").get_data(as_text=True)
    assert "58.1 kg" in history and "50.1 kg" in history


def test_an_amendment_may_change_the_type(app, client, auth, team):
    record, _, dietitian = team
    wrong = _text(record, dietitian, NutritionType.NOTE, "Started iron 65 mg daily.")
    auth.login(dietitian.email)
    response = auth.post(
        _path(record, f"/{wrong.id}/amend"),
        {"update_type": "supplement", "text": "Started iron 65 mg daily."},
    )
    assert response.status_code == 302
    current = db.session.scalar(
        select(NutritionUpdate).where(NutritionUpdate.superseded_at.is_(None))
    )
    assert current.update_type == NutritionType.SUPPLEMENT
    assert response.headers["Location"] == _path(record, f"/#e{current.id}")


def test_only_the_author_amends(app, client, auth, team):
    record, lead, dietitian = team
    update = _weight(record, dietitian, "50")
    colleague = make_provider(Discipline.DIETITIAN)
    add_member(record, colleague, lead)
    auth.login(colleague.email)
    response = client.get(_path(record, f"/{update.id}/amend"))
    assert response.status_code == 403
    assert "Only the author can amend" in response.get_data(as_text=True)
    response = auth.post(
        _path(record, f"/{update.id}/amend"),
        {**WEIGHT, "weight_kg": "60"},
    )
    assert response.status_code == 403
    assert _count() == 1
    assert db.session.get(NutritionUpdate, update.id).superseded_at is None
    page = client.get(_path(record)).get_data(as_text=True)
    assert f"/nutrition/{update.id}/amend" not in page  # no Amend link for a non-author


def test_an_amended_version_cannot_be_amended_again(app, client, auth, team):
    record, _, dietitian = team
    first = _text(record, dietitian, NutritionType.MEAL_PLAN, "Plan A")
    services.post_update(
        actor=dietitian,
        client=record,
        update_type=NutritionType.MEAL_PLAN,
        text="Plan B",
        amends=first,
    )
    auth.login(dietitian.email)
    response = auth.post(
        _path(record, f"/{first.id}/amend"), {"update_type": "meal_plan", "text": "Plan C"}
    )
    assert response.status_code == 409
    assert "already amended" in response.get_data(as_text=True)
    assert _count() == 2


def test_an_invalid_amendment_saves_nothing(app, client, auth, team):
    record, _, dietitian = team
    update = _weight(record, dietitian, "50")
    auth.login(dietitian.email)
    response = auth.post(_path(record, f"/{update.id}/amend"), {**WEIGHT, "weight_kg": "5000"})
    assert response.status_code == 400
    assert HIGH in response.get_data(as_text=True)
    assert _count() == 1
    assert db.session.get(NutritionUpdate, update.id).superseded_at is None


def test_amend_finds_only_this_clients_nutrition_updates(app, client, auth, team):
    record, lead, dietitian = team
    note = post_note(actor=dietitian, client=record, body="A coordination note")
    other = make_client(lead)
    add_member(other, dietitian, lead)
    elsewhere = _weight(other, dietitian, "50")
    auth.login(dietitian.email)
    assert client.get(_path(record, f"/{note.id}/amend")).status_code == 404
    assert client.get(_path(record, f"/{elsewhere.id}/amend")).status_code == 404
    assert client.get(_path(record, "/999999/amend")).status_code == 404


# The nutrition page


def test_page_shows_chart_table_meal_plan_supplements_and_recent(app, client, auth, team):
    record, lead, dietitian = team
    _text(record, dietitian, NutritionType.MEAL_PLAN, "Old plan")
    _text(record, dietitian, NutritionType.MEAL_PLAN, "New plan\nwith snacks")
    _text(record, dietitian, NutritionType.SUPPLEMENT, "Multivitamin daily")
    _weight(record, dietitian, "48.2", days_ago=14, blind=True)
    _weight(record, dietitian, "49", days_ago=7)
    _text(record, dietitian, NutritionType.NOTE, "Finished every snack")
    auth.login(lead.email)
    response = client.get(_path(record))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    weights = _section(page, "weights")
    assert '<svg class="chart"' in weights and 'role="img"' in weights
    # The chart's text, its dates as every page shows them (timefmt.format_date).
    assert format_date(TODAY - timedelta(days=14)) + ": 48.2 kg" in weights
    assert '<th scope="col">Date measured</th>' in weights
    assert "Latest: <strong>49 kg</strong>" in weights and "(+0.8 kg since" in weights
    table = weights[weights.index("<table") :]
    assert table.index("49 kg") < table.index("48.2 kg")  # newest first
    assert table.count(">blind</span>") == 1
    meal_plan = _section(page, "meal-plan")
    assert "New plan<br>with snacks" in meal_plan and "Old plan" not in meal_plan
    assert "Multivitamin daily" in _section(page, "supplements")
    recent = _section(page, "recent")
    assert recent.index("Finished every snack") < recent.index("Old plan")
    assert "Record a weight" not in page  # the lead is a therapist
    assert 'aria-current="page">Nutrition' in page
    assert count_for("view_nutrition", record.id) == 1


def test_empty_page(app, client, auth, team):
    record, _, dietitian = team
    auth.login(dietitian.email)
    page = client.get(_path(record)).get_data(as_text=True)
    assert "No weight recorded yet." in page and "<svg" not in page
    assert "Record a weight" in page


def test_weights_stay_out_of_audit_details(app, client, auth, team):
    record, _, dietitian = team
    auth.login(dietitian.email)
    auth.post(_path(record, "/new"), {**WEIGHT, "weight_kg": "47.35", "text": "Secret comment"})
    update = db.session.scalar(select(NutritionUpdate))
    auth.post(_path(record, f"/{update.id}/amend"), {**WEIGHT, "weight_kg": "47.53"})
    client.get(_path(record))
    details = " ".join(db.session.scalars(select(AuditEvent.detail)))
    assert "47" not in details and "Secret" not in details
    assert "47" not in repr(update) and "Secret" not in repr(update)


def test_page_queries_do_not_grow_with_updates(app, client, auth, team, count_queries):
    record, lead, dietitian = team
    _weight(record, dietitian, "48")
    auth.login(lead.email)

    def measure() -> int:
        client.get(_path(record))  # warm-up
        with count_queries() as counter:
            assert client.get(_path(record)).status_code == 200
        return counter.count

    small = measure()
    colleague = make_provider(Discipline.DIETITIAN)
    add_member(record, colleague, lead)
    for n in range(30):
        author = dietitian if n % 2 else colleague
        update = _weight(record, author, f"{48 + n / 10:.1f}", days_ago=30 - n, blind=n % 3 == 0)
        if n % 5 == 0:
            services.post_update(
                actor=author,
                client=record,
                update_type=NutritionType.WEIGHT,
                weight_kg=Decimal("50"),
                measured_on=update.measured_on,
                amends=update,
            )
        _text(record, author, NutritionType.MEAL_PLAN, f"Plan {n}")
        _text(record, author, NutritionType.SUPPLEMENT, f"Supplement {n}")
        _text(record, author, NutritionType.NOTE, f"Note {n}")
    large = measure()
    assert small == large, (small, large)


@pytest.mark.parametrize(
    ("first", "second", "change"),
    [("48.2", "49", "+0.8"), ("50.25", "49.75", "-0.5"), ("50", "50.00", "±0")],
)
def test_change_since_the_previous_weight(app, team, first, second, change):
    record, lead, dietitian = team
    _weight(record, dietitian, second, days_ago=1)
    _weight(record, dietitian, first, days_ago=8)  # entered late: the date measured counts
    overview = services.overview(record, lead)
    assert overview.weight_change == change
    assert overview.latest_weight.weight_kg == Decimal(second)


def test_weight_list_is_bounded(app, team, monkeypatch):
    record, lead, dietitian = team
    monkeypatch.setattr(services, "WEIGHT_LIMIT", 3)
    for n in range(5):
        _weight(record, dietitian, f"{50 + n}", days_ago=10 - n)
    overview = services.overview(record, lead)
    assert [w.weight_kg for w in overview.weights] == [Decimal(52), Decimal(53), Decimal(54)]
    assert overview.more_weights


# On the timeline


def _render_entry(app, update) -> str:
    with app.test_request_context():
        return render_template("record/entries/nutrition.html", entry=update, viewer=None)


def test_timeline_entry_shows_weight_and_blind_badge(app, client, auth, team):
    record, lead, dietitian = team
    _weight(record, dietitian, "52.40", blind=True, text="After breakfast")
    _weight(record, dietitian, "52.00", days_ago=7)
    auth.login(lead.email)
    page = client.get(f"/clients/{record.id}").get_data(as_text=True)
    assert "52.4 kg</strong> on" in page and "52 kg</strong> on" in page
    assert page.count("Blind weight — not shown to the client") == 1
    assert "After breakfast" in page


def test_entry_text_is_plain_text_with_line_breaks(app, team):
    record, _, dietitian = team
    update = _text(
        record,
        dietitian,
        NutritionType.NOTE,
        'Line one\nLine <script>alert(1)</script>\n\n**not bold** <a href="javascript:x">x</a>',
    )
    html = _render_entry(app, update)
    assert "Line one<br>Line &lt;script&gt;alert(1)&lt;/script&gt;</p>" in html
    assert "<p>**not bold** &lt;a href=&#34;javascript:x&#34;&gt;x&lt;/a&gt;</p>" in html
    assert "<script" not in html and "<strong>" not in html
    assert "Nutrition note" in html and "Blind weight" not in html


def test_weight_entry_partial(app, team):
    record, _, dietitian = team
    update = services.post_update(
        actor=dietitian,
        client=record,
        update_type=NutritionType.WEIGHT,
        weight_kg=Decimal("52.4"),
        measured_on=min(date(2026, 11, 3), TODAY),
        blind=True,
    )
    html = " ".join(_render_entry(app, update).split())
    day = update.measured_on
    assert f'Weight <strong>52.4 kg</strong> on <time datetime="{day.isoformat()}">' in html
    assert day.strftime("%-d %b %Y") in html
    assert "Blind weight — not shown to the client" in html
    assert update.blind and update.is_weight


# Demo data


def test_seed_demo_adds_a_few_realistic_weeks(app, client, auth, team):
    record, lead, dietitian = team
    added = seed_demo(record, dietitian)
    kinds = [u.update_type for u in added]
    weights = [u for u in added if u.is_weight]
    assert 5 <= len(weights) <= 6
    assert any(w.blind for w in weights) and not all(w.blind for w in weights)
    assert {"meal_plan", "supplement", "note"} <= set(kinds)
    assert max(u.created_at for u in added) - min(u.created_at for u in added) >= timedelta(
        days=21
    )
    auth.login(lead.email)
    page = client.get(_path(record)).get_data(as_text=True)
    assert page.count('class="point"') == len(weights)
