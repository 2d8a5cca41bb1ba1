"""The shared timeline: notes, visibility, amendments, unread markers, filters, paging."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from careteam.audit import AuditEvent
from careteam.enums import Discipline, Visibility
from careteam.extensions import db, utcnow
from careteam.paging import Cursor
from careteam.record import services
from careteam.record.models import Entry, Note
from tests.factories import add_member, make_client, make_provider


@pytest.fixture
def team(app):
    lead = make_provider(Discipline.THERAPIST, name="Dana Okafor")
    psych = make_provider(Discipline.PSYCHIATRIST, name="Dr. Raman")
    record = make_client(lead, name="Robin Record")
    add_member(record, psych, lead)
    return record, lead, psych


def _note(record, author, body="Body", **kw) -> Note:
    return services.post_note(actor=author, client=record, body=body, **kw)


def test_member_posts_a_markdown_note(app, client, auth, team):
    record, lead, psych = team
    auth.login(psych.email)
    response = auth.post(
        f"/clients/{record.id}/notes/new",
        {"title": "Sleep", "body": "Slept **better** this week.", "visibility": "team"},
    )
    assert response.status_code == 302
    note = db.session.scalar(select(Note))
    assert response.headers["Location"] == f"/clients/{record.id}#e{note.id}"
    page = client.get(f"/clients/{record.id}").get_data(as_text=True)
    assert "Slept <strong>better</strong> this week." in page
    assert (
        db.session.scalar(select(AuditEvent).where(AuditEvent.action == "create_note")).object_id
        == note.id
    )


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"body": "", "visibility": "team"}, "Write the note."),
        ({"body": "x", "visibility": "everyone"}, "Not a valid choice"),
        ({"body": "x" * 20001, "visibility": "team"}, "Field cannot be longer than 20000"),
    ],
)
def test_note_validation_keeps_input_and_saves_nothing(app, client, auth, team, form, message):
    record, lead, _ = team
    auth.login(lead.email)
    response = auth.post(f"/clients/{record.id}/notes/new", {"title": "Kept title", **form})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page and 'value="Kept title"' in page
    assert db.session.scalar(select(Note)) is None


def test_private_notes_are_the_authors_alone(app, client, auth, team):
    record, lead, psych = team
    private = _note(record, lead, "Psychotherapy process note", visibility=Visibility.PRIVATE)
    auth.login(psych.email)
    assert "Psychotherapy process note" not in client.get(f"/clients/{record.id}").get_data(
        as_text=True
    )
    assert client.get(f"/clients/{record.id}/entries/{private.id}").status_code == 404
    assert client.get(f"/clients/{record.id}/notes/{private.id}/amend").status_code == 404
    auth.logout()
    auth.login(lead.email)
    page = client.get(f"/clients/{record.id}").get_data(as_text=True)
    assert "Psychotherapy process note" in page and "Private" in page


def test_urgent_notes_stand_out(app, client, auth, team):
    record, lead, psych = team
    _note(record, lead, "Safety concern raised", urgent=True)
    auth.login(psych.email)
    page = client.get(f"/clients/{record.id}").get_data(as_text=True)
    assert "badge-urgent" in page and "Safety concern raised" in page


def test_note_body_renders_inert(app, client, auth, team):
    record, lead, psych = team
    _note(
        record,
        lead,
        '<script>alert(1)</script> <img src=x onerror="alert(2)"> '
        '[click](javascript:alert(3)) <a href="javascript:alert(4)" onclick="x()">a</a>',
    )
    auth.login(psych.email)
    page = client.get(f"/clients/{record.id}").get_data(as_text=True)
    body = page[page.index('class="markdown"') :]
    body = body[: body.index("</div>")]
    tags = _tags(body)
    assert {name for name, _ in tags} <= {"div", "p", "a", "strong", "em"}
    for _, attrs in tags:
        for attr, value in attrs:
            assert not attr.startswith("on")
            assert not (value or "").strip().lower().startswith("javascript:")
    assert "&lt;script&gt;" in body  # shown as text, never run


def _tags(html: str) -> list[tuple[str, list]]:
    from html.parser import HTMLParser

    found: list[tuple[str, list]] = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, attrs))

    Collector().feed(html)
    return found


def test_amendment_supersedes_and_keeps_history(app, client, auth, team):
    record, lead, psych = team
    original = _note(record, lead, "Dose was 50 mg")
    auth.login(lead.email)
    response = auth.post(
        f"/clients/{record.id}/notes/{original.id}/amend",
        {"body": "Dose was 25 mg (corrected)", "visibility": "team"},
    )
    assert response.status_code == 302
    db.session.refresh(original)
    assert original.superseded_at is not None
    timeline = client.get(f"/clients/{record.id}").get_data(as_text=True)
    assert "Dose was 25 mg (corrected)" in timeline and "Amended" in timeline
    assert "Dose was 50 mg" not in timeline
    amended = db.session.scalar(select(Note).where(Note.supersedes_id == original.id))
    assert response.headers["Location"] == f"/clients/{record.id}#e{amended.id}"
    history = client.get(f"/clients/{record.id}/entries/{amended.id}").get_data(as_text=True)
    assert "Dose was 50 mg" in history and "Dose was 25 mg (corrected)" in history
    assert "history of 2 versions" in history
    # The old version cannot be amended again; nothing is ever deleted.
    again = auth.post(
        f"/clients/{record.id}/notes/{original.id}/amend", {"body": "x", "visibility": "team"}
    )
    assert again.status_code == 409
    assert len(db.session.scalars(select(Entry).where(Entry.kind == "note")).all()) == 2


def test_only_the_author_amends(app, client, auth, team):
    record, lead, psych = team
    original = _note(record, lead, "Lead's note")
    auth.login(psych.email)
    response = auth.post(
        f"/clients/{record.id}/notes/{original.id}/amend", {"body": "Hijack", "visibility": "team"}
    )
    assert response.status_code == 403
    assert "Only the author can amend" in response.get_data(as_text=True)
    assert db.session.scalar(select(Note).where(Note.body == "Hijack")) is None


def test_level_and_team_changes_appear_on_the_timeline(app, client, auth, team):
    record, lead, psych = team
    auth.login(lead.email)
    page = client.get(f"/clients/{record.id}").get_data(as_text=True)
    assert "Dr. Raman joined the care team as Psychiatrist." in page
    assert "Level of care: <strong>Outpatient, weekly</strong>" in page


def test_unread_markers_and_dashboard_counts(app, client, auth, team):
    record, lead, psych = team
    auth.login(lead.email)
    client.get(f"/clients/{record.id}")  # first visit: everything is now seen
    _note(record, psych, "Something new from the psychiatrist")
    _note(record, lead, "My own note is never unread")
    dashboard = client.get("/clients/").get_data(as_text=True)
    assert "1 new" in dashboard
    page = client.get(f"/clients/{record.id}").get_data(as_text=True)
    new_card = page[page.index("badge-new") : page.index("badge-new") + 2000]
    assert "Something new from the psychiatrist" in new_card
    assert page.count('class="badge badge-new"') == 1
    # The visit is recorded: on the next view nothing is new.
    again = client.get(f"/clients/{record.id}").get_data(as_text=True)
    assert 'class="badge badge-new"' not in again
    assert "1 new" not in client.get("/clients/").get_data(as_text=True)


NEW_BADGE = 'class="badge badge-new"'


def _dashboard_count(client, record) -> int:
    """The unread count the dashboard shows for this record (0 when none)."""
    page = client.get("/clients/").get_data(as_text=True)
    row = page[page.index(f"/clients/{record.id}") :]
    row = row[: row.index("</tr>")]
    if "badge-new" not in row:
        return 0
    return int(row.split('badge badge-new">')[1].split(" new")[0])


def test_a_first_visit_shows_as_new_what_the_dashboard_counts(app, client, auth, team):
    record, lead, psych = team
    _note(record, psych, "The psychiatrist's own note is never new")
    for n in range(services.TIMELINE_PAGE + 3):  # more than a page by the lead
        _note(record, lead, f"Lead note {n}")
    auth.login(psych.email)
    expected = services.unread_counts(psych, [record.id])[record.id]
    assert expected > services.TIMELINE_PAGE
    assert _dashboard_count(client, record) == expected
    first = client.get(f"/clients/{record.id}").get_data(as_text=True)
    assert first.count(NEW_BADGE) == services.TIMELINE_PAGE  # every card of the page
    # The older page counts from the same first visit: the rest of them are new too.
    older = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    assert "since=" not in older  # the visit before the last one is kept on the server
    rest = client.get(older).get_data(as_text=True)
    assert rest.count(NEW_BADGE) == expected - services.TIMELINE_PAGE
    assert "own note is never new" in rest
    assert _dashboard_count(client, record) == 0


def test_unread_counts_stop_at_the_limit_and_show_as_99_plus(app, client, auth, team, monkeypatch):
    """A record never opened is not read whole to count it: the count stops at the limit,
    and the dashboard says "N-1+ new" (99+ with the real limit of 100)."""
    record, lead, psych = team
    monkeypatch.setattr(services, "UNREAD_COUNT_LIMIT", 5)
    other = make_client(lead, name="Other Record")
    add_member(other, psych, lead)
    for n in range(7):
        _note(record, lead, f"Lead note {n}")
    for n in range(3):
        _note(other, lead, f"Other note {n}")
    _note(other, psych, "Own notes are never unread")
    counts = services.unread_counts(psych, [record.id, other.id])
    assert counts[record.id] == 5  # 7 (and the team entries) unread, counted up to 5
    assert counts[other.id] == 3 + 2  # three notes, the team entries of lead and psych
    auth.login(psych.email)
    page = client.get("/clients/").get_data(as_text=True)
    row = page[page.index(f"/clients/{record.id}") :]
    assert 'badge badge-new">4+ new' in row[: row.index("</tr>")]
    client.get(f"/clients/{record.id}")
    assert services.unread_counts(psych, [record.id, other.id]) == {other.id: 5}


def test_only_the_whole_first_page_moves_the_unread_marker(app, client, auth, team):
    record, lead, psych = team
    auth.login(psych.email)
    client.get(f"/clients/{record.id}")
    note = _note(record, lead, "Unseen by the filtered pages")
    assert _dashboard_count(client, record) == 1
    # A filter that hides the note, one that shows it, an author filter, an older page:
    # none of them moves the marker.
    hidden = client.get(f"/clients/{record.id}?kind=team").get_data(as_text=True)
    assert "Unseen by the filtered pages" not in hidden
    shown = client.get(f"/clients/{record.id}?kind=note").get_data(as_text=True)
    assert shown.count(NEW_BADGE) == 1
    client.get(f"/clients/{record.id}?author={lead.id}")
    cursor = Cursor(note.created_at, note.id).encode()
    client.get(f"/clients/{record.id}?before={cursor}")
    assert _dashboard_count(client, record) == 1
    # Filtering from the whole page keeps that page's marks (the form carries its time).
    whole = client.get(f"/clients/{record.id}").get_data(as_text=True)
    assert whole.count(NEW_BADGE) == 1
    assert 'name="since"' not in whole
    kept = client.get(f"/clients/{record.id}", query_string={"kind": "note"})
    assert kept.get_data(as_text=True).count(NEW_BADGE) == 1
    assert _dashboard_count(client, record) == 0


def _filter_urls(page: str) -> list[str]:
    """Every URL the timeline's filters and pager lead to: the form's fields and links."""
    form = page[page.index('class="filters') : page.index("</form>")]
    fields = re.findall(r'<input type="(?:hidden|checkbox)" name="([^"]+)" value="([^"]+)"', form)
    links = re.findall(r'href="([^"]+)"', form) + re.findall(r'href="([^"]+)" rel="next"', page)
    return sorted(str(f) for f in fields) + sorted(links)


def test_the_filter_links_stay_the_same_from_visit_to_visit(app, client, auth, team):
    """Issue 13 item 16: each visit used to put its own `since=` time into the filter form
    and the older-entries link, so every visit made new URLs (history, bookmarks)."""
    record, lead, psych = team
    for n in range(services.TIMELINE_PAGE + 2):
        _note(record, lead, f"Lead note {n}")
    auth.login(psych.email)
    first = client.get(f"/clients/{record.id}").get_data(as_text=True)
    second = client.get(f"/clients/{record.id}").get_data(as_text=True)
    assert _filter_urls(first) == _filter_urls(second)
    assert not any("since" in url for url in _filter_urls(second))
    # A filtered page, from its own (stable) link, still marks New what the first page did.
    _note(record, lead, "Arrived after the second visit")
    third = client.get(f"/clients/{record.id}").get_data(as_text=True)
    assert third.count(NEW_BADGE) == 1
    filtered = client.get(f"/clients/{record.id}?kind=note").get_data(as_text=True)
    assert filtered.count(NEW_BADGE) == 1 and "Arrived after the second visit" in filtered


def test_filters_by_kind_and_author(app, client, auth, team):
    record, lead, psych = team
    _note(record, psych, "Psychiatrist wrote this")
    _note(record, lead, "Therapist wrote this")
    auth.login(lead.email)
    by_author = client.get(f"/clients/{record.id}?author={psych.id}").get_data(as_text=True)
    assert "Psychiatrist wrote this" in by_author and "Therapist wrote this" not in by_author
    notes_only = client.get(f"/clients/{record.id}?kind=note").get_data(as_text=True)
    assert "Therapist wrote this" in notes_only and "joined the care team" not in notes_only
    teams_only = client.get(f"/clients/{record.id}?kind=team").get_data(as_text=True)
    assert "joined the care team" in teams_only and "Therapist wrote this" not in teams_only


def test_keyset_pagination_across_equal_timestamps(app, client, auth, team):
    record, lead, psych = team
    same = utcnow() + timedelta(minutes=5)
    notes = [_note(record, lead, f"Numbered note {n:02d}") for n in range(25)]
    for note in notes:
        note.created_at = same  # every note at the very same instant
    db.session.commit()
    first = services.timeline(lead, record, kinds=["note"], limit=10)
    second = services.timeline(
        lead, record, kinds=["note"], limit=10, cursor=Cursor.decode(first.next_cursor)
    )
    third = services.timeline(
        lead, record, kinds=["note"], limit=10, cursor=Cursor.decode(second.next_cursor)
    )
    ids = [e.id for page in (first, second, third) for e in page.items]
    assert len(ids) == 25 and len(set(ids)) == 25
    assert ids == sorted(ids, reverse=True)
    assert third.next_cursor is None
    auth.login(lead.email)
    page1 = client.get(f"/clients/{record.id}?kind=note").get_data(as_text=True)
    assert "Older entries" in page1


def test_malformed_cursor_is_a_clear_400(app, client, auth, team):
    record, lead, _ = team
    auth.login(lead.email)
    assert client.get(f"/clients/{record.id}?before=not-a-cursor").status_code == 400


def test_timeline_view_is_audited_and_removed_members_lose_it(app, client, auth, team):
    record, lead, psych = team
    auth.login(psych.email)
    assert client.get(f"/clients/{record.id}").status_code == 200
    from careteam.clients import services as client_services

    member = next(m for m in record.members if m.provider_id == psych.id)
    note = _note(record, lead, "After removal")
    client_services.end_member(actor=lead, client=record, member_id=member.id)
    assert client.get(f"/clients/{record.id}").status_code == 404
    assert client.get(f"/clients/{record.id}/entries/{note.id}").status_code == 404
    views = db.session.scalars(
        select(AuditEvent.outcome).where(
            AuditEvent.action == "view_record", AuditEvent.actor_id == psych.id
        )
    ).all()
    assert views == ["allowed", "denied", "denied"]  # the record page, then the entry


def test_notes_of_removed_members_stay(app, client, auth, team):
    record, lead, psych = team
    _note(record, psych, "Written before leaving")
    from careteam.clients import services as client_services

    member = next(m for m in record.members if m.provider_id == psych.id)
    client_services.end_member(actor=lead, client=record, member_id=member.id)
    auth.login(lead.email)
    page = client.get(f"/clients/{record.id}").get_data(as_text=True)
    assert "Written before leaving" in page and "Dr. Raman left the care team." in page


def test_needs_my_attention(app, client, auth, team):
    from datetime import date, timedelta
    from decimal import Decimal

    from careteam.enums import GoalDirection
    from careteam.goals.models import Goal
    from careteam.goals.services import GoalFields, create_goal
    from careteam.medications import services as meds

    record, lead, psych = team
    auth.login(lead.email)
    client.get(f"/clients/{record.id}")
    assert "Needs my attention" not in client.get("/clients/").get_data(as_text=True)
    urgent = _note(record, psych, "Crisis call", urgent=True)
    change = meds.record_change(
        actor=psych,
        client=record,
        medication="lithium",
        action="started",
        effective_date=date.today(),
        dose=Decimal(300),
        unit="mg",
        route="oral",
        frequency="twice daily",
    )
    goal = create_goal(
        actor=lead,
        client=record,
        fields=GoalFields(
            title="Sleep",
            measure="Hours",
            unit="hours",
            baseline=Decimal(4),
            target=Decimal(7),
            direction=GoalDirection.UP,
            target_date=date.today() + timedelta(days=1),
            owner_id=lead.id,
        ),
    )
    db.session.get(Goal, goal.id).target_date = date.today() - timedelta(days=1)
    db.session.commit()
    page = client.get("/clients/").get_data(as_text=True)
    assert "Needs my attention" in page
    # Each line links to the item itself, not only to the client (issue 13 item 6).
    assert f'<a href="/clients/{record.id}#e{urgent.id}">1 urgent note not yet seen</a>' in page
    assert (
        f'<a href="/clients/{record.id}/entries/{change.id}">'
        "1 medication change to acknowledge</a>" in page
    )
    assert (
        f'<a href="/clients/{record.id}/goals/{goal.id}">'
        "1 goal of yours past the target date</a>" in page
    )
    meds.acknowledge(actor=lead, client=record, entry_id=change.id)
    client.get(f"/clients/{record.id}")  # reading the record does not clear an urgent note
    page = client.get("/clients/").get_data(as_text=True)
    assert "1 urgent note not yet seen" in page and "to acknowledge" not in page
    auth.post(f"/clients/{record.id}/notes/{urgent.id}/seen")  # pressing "Seen" does
    page = client.get("/clients/").get_data(as_text=True)
    assert "urgent note" not in page and "to acknowledge" not in page
    assert "past the target date" in page


def test_one_timeline_statement_serves_every_viewer_and_filter_with_its_own_values(app, team):
    """The timeline's statement is built once per process with the viewer, the client and
    the filters as bound parameters: alternating viewers, clients and filters must each
    get their own answer, never the values of the request before."""
    record, lead, psych = team
    other = make_client(psych, name="Other Record")
    secret = _note(record, lead, "Lead's own words", visibility=Visibility.PRIVATE)
    shared = _note(record, psych, "For the team")
    elsewhere = _note(other, psych, "Another record")

    def notes(viewer, record, **filters) -> list[int]:
        return [
            e.id for e in services.timeline(viewer, record, **filters).items if e.kind == "note"
        ]

    for _ in range(2):
        assert notes(lead, record) == [shared.id, secret.id]
        assert notes(psych, record) == [shared.id]
        assert notes(psych, other) == [elsewhere.id]
        assert notes(psych, record, author_id=lead.id) == []
        assert notes(lead, record, author_id=lead.id, kinds=["note"]) == [secret.id]
        assert notes(lead, record, kinds=["goal"]) == []
        assert notes(lead, record, cursor=Cursor(shared.created_at, shared.id)) == [secret.id]
        assert notes(psych, record, cursor=Cursor(shared.created_at, shared.id)) == []


def test_a_private_note_leaves_no_trace_the_team_can_see(app, client, auth, team):
    """A psychotherapy note moves nothing others see: not the record's last activity, not
    the order of anyone's client list (pages and API), not an unread count."""
    record, lead, psych = team
    other = make_client(psych, name="Other Client")
    _note(other, psych, "Newer activity elsewhere")
    before = db.session.get(type(record), record.id).last_activity_at
    unread_before = services.unread_counts(psych, [record.id])
    _note(record, lead, "Psychotherapy note", visibility=Visibility.PRIVATE)
    db.session.expire_all()
    assert db.session.get(type(record), record.id).last_activity_at == before
    assert services.unread_counts(psych, [record.id]) == unread_before
    auth.login(psych.email)
    page = client.get("/clients/").get_data(as_text=True)
    assert page.index("Other Client") < page.index("Robin Record")
    # A note the team can see does move it.
    _note(record, lead, "Team note")
    db.session.expire_all()
    assert db.session.get(type(record), record.id).last_activity_at > before
    page = client.get("/clients/").get_data(as_text=True)
    assert page.index("Robin Record") < page.index("Other Client")
