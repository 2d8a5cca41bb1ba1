"""Drafts of notes: saved as the author types, restored with the form, private, audited,
gone when the note is posted or the draft discarded (careteam/drafts)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from careteam.audit import AuditEvent
from careteam.clients import services as client_services
from careteam.digests import services as digest_services
from careteam.drafts.models import Draft
from careteam.drafts.rules import MEDICATION_LENGTHS, NUTRITION_TEXT_MAX
from careteam.enums import DigestDetail, Discipline, Role, Visibility
from careteam.extensions import db
from careteam.medications import services as medication_services
from careteam.nutrition import services as nutrition_services
from careteam.record import services as record_services
from careteam.record.models import Note
from tests.factories import add_member, bearer, make_client, make_provider, make_token, make_user

SECRET = "Draft words about the overdose plan"
JSON = {"Accept": "application/json"}


@pytest.fixture
def team(app):
    lead = make_provider(Discipline.THERAPIST, name="Dana Okafor")
    psych = make_provider(Discipline.PSYCHIATRIST, name="Dr. Raman")
    record = make_client(lead, name="Robin Record")
    psych_row = add_member(record, psych, lead)
    return record, lead, psych, psych_row


def _save(auth, record, fields: dict, headers: dict | None = JSON):
    data = {"draft_form": "note", "visibility": "team", **fields}
    return auth.post(f"/clients/{record.id}/drafts", data, headers=headers or {})


def _drafts() -> list[Draft]:
    db.session.expire_all()
    return list(db.session.scalars(select(Draft)))


def _events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _form_page(client, record) -> str:
    response = client.get(f"/clients/{record.id}/notes/new")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_autosave_keeps_the_note_and_the_form_restores_it(app, client, auth, team):
    record, lead, _, _ = team
    auth.login(lead.email)
    response = _save(auth, record, {"title": "Crisis plan", "body": SECRET, "urgent": "y"})
    assert response.status_code == 200
    data = response.get_json()
    assert data["saved"] is True
    assert re.fullmatch(r"\d\d:\d\d", data["saved_at"])
    assert response.headers["Cache-Control"] == "no-store"
    (draft,) = _drafts()
    assert (draft.author_id, draft.client_id, draft.form) == (lead.id, record.id, "note")

    # A new tab, or a login after an idle logoff: the form comes back as it was left.
    page = _form_page(client, record)
    assert f"\n{SECRET}</textarea>" in page
    assert 'value="Crisis plan"' in page
    assert re.search(r'<input checked[^>]*name="urgent"|name="urgent"[^>]*checked', page)
    assert "Your draft from" in page and "is back" in page
    assert re.search(r"<button[^>]*data-draft-discard(?![^>]*hidden)[^>]*>Discard draft", page)
    # Writing and reading the draft are audited against the record, never with its text.
    (saved,) = _events("save_draft")
    (opened,) = _events("open_draft")
    for event in (saved, opened):
        assert (event.actor_id, event.client_id, event.object_id) == (lead.id, record.id, draft.id)
        assert SECRET not in event.detail


def test_a_new_form_without_a_draft_offers_to_save_one(app, client, auth, team):
    record, lead, _, _ = team
    auth.login(lead.email)
    page = _form_page(client, record)
    assert 'name="draft_form" value="note"' in page
    assert f'data-draft-url="/clients/{record.id}/drafts"' in page
    assert re.search(r"<button[^>]*data-draft-discard[^>]*hidden", page)
    # "Add to timeline" stays the form's first button: Enter in the title posts, as before.
    buttons = re.findall(
        r"<button[^>]*>([^<]*)</button>", page.split('<form method="post" novalidate')[1]
    )
    assert buttons[0] == "Add to timeline"
    assert not _events("open_draft")


def test_save_draft_works_without_javascript(app, client, auth, team):
    record, lead, _, _ = team
    auth.login(lead.email)
    response = _save(auth, record, {"body": SECRET}, headers=None)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/clients/{record.id}/notes/new"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Draft saved at" in page and f"\n{SECRET}</textarea>" in page


def test_saving_again_updates_the_one_draft(app, client, auth, team):
    record, lead, _, _ = team
    auth.login(lead.email)
    _save(auth, record, {"body": "First words"})
    _save(auth, record, {"body": "First words, then more"})
    (draft,) = _drafts()
    assert draft.fields["body"] == "First words, then more"


def test_a_draft_emptied_is_removed(app, client, auth, team):
    record, lead, _, _ = team
    auth.login(lead.email)
    _save(auth, record, {"body": SECRET})
    response = _save(auth, record, {"title": " ", "body": ""})
    assert response.get_json() == {"saved": False, "saved_at": None}
    assert _drafts() == []
    assert f">{SECRET}" not in _form_page(client, record)


def test_a_draft_is_the_authors_alone(app, client, auth, team):
    record, lead, psych, _ = team
    auth.login(lead.email)
    _save(auth, record, {"body": SECRET})
    auth.logout()
    auth.login(psych.email)
    page = _form_page(client, record)
    assert SECRET not in page and "Your draft from" not in page
    # The colleague's own draft is another row; the author's is untouched.
    _save(auth, record, {"body": "Psychiatrist's words"})
    by_author = {d.author_id: d.fields["body"] for d in _drafts()}
    assert by_author == {lead.id: SECRET, psych.id: "Psychiatrist's words"}


def test_a_draft_is_never_on_the_timeline_digest_export_or_api(app, client, auth, team):
    record, lead, psych, _ = team
    own = make_user(Role.CLIENT, email="robin@example.com")
    client_services.link_portal_account(actor=lead, client=record, email=own.email)
    record_services.post_note(
        actor=lead, client=record, body="Shared note", visibility=Visibility.CLIENT
    )
    auth.login(own.email)
    access_before = _access_log(client)
    auth.logout()
    auth.login(lead.email)
    _save(auth, record, {"title": "Draft title", "body": SECRET, "visibility": "client"})
    assert SECRET in _form_page(client, record)  # saved, and read back (both audited)
    assert len(_drafts()) == 1
    # The client's "who viewed my record" shows nothing of a draft (of a private note, say).
    auth.logout()
    auth.login(own.email)
    assert _access_log(client) == access_before
    for user in (lead, psych):
        auth.logout()
        auth.login(user.email)
        pages = [
            client.get(f"/clients/{record.id}").get_data(as_text=True),
            client.get(f"/fhir/r4/Patient/{record.id}/$everything").get_data(as_text=True),
        ]
        token = make_token(user, scope="read")
        for path in (f"/clients/{record.id}/timeline", "/clients"):
            pages.append(
                client.get("/api/v1" + path, headers=bearer(token)).get_data(as_text=True)
            )
        for page in pages:
            assert SECRET not in page and "Draft title" not in page
    # The digest's preview, in full detail, shows the posted note and not the draft.
    digest_pref = digest_services.preference_for(psych)
    digest_pref.detail = DigestDetail.FULL
    db.session.commit()
    preview = client.get("/settings/notifications/preview").get_data(as_text=True)
    assert "Shared note" in preview
    assert SECRET not in preview and "Draft title" not in preview
    auth.logout()
    auth.login(own.email)
    for path in ("/portal/", "/portal/notes", "/portal/access"):
        page = client.get(path, follow_redirects=True).get_data(as_text=True)
        assert SECRET not in page and "Draft title" not in page


def _access_log(client) -> str:
    page = client.get("/portal/access").get_data(as_text=True)
    main = page[page.index('<main id="main"') : page.index("</main>")]
    return re.sub(r"\d\d:\d\d", "hh:mm", main)


def test_posting_the_note_removes_its_draft(app, client, auth, team):
    record, lead, _, _ = team
    auth.login(lead.email)
    _save(auth, record, {"body": SECRET})
    response = auth.post(
        f"/clients/{record.id}/notes/new",
        {"body": SECRET, "visibility": "team", "draft_form": "note"},
    )
    assert response.status_code == 302
    assert response.headers["Location"].startswith(f"/clients/{record.id}#e")
    assert _drafts() == []
    (removed,) = _events("discard_draft")
    assert removed.detail == "note posted"
    assert SECRET not in _form_page(client, record)


def test_a_refused_post_keeps_the_draft(app, client, auth, team):
    record, lead, _, _ = team
    auth.login(lead.email)
    _save(auth, record, {"body": SECRET})
    response = auth.post(
        f"/clients/{record.id}/notes/new", {"body": SECRET, "visibility": "everyone"}
    )
    assert response.status_code == 400
    assert len(_drafts()) == 1
    assert db.session.scalar(select(Note)) is None


def test_a_note_posted_through_the_api_leaves_the_web_draft(app, client, auth, team):
    record, lead, _, _ = team
    auth.login(lead.email)
    _save(auth, record, {"body": SECRET})
    token = make_token(lead)
    response = client.post(
        f"/api/v1/clients/{record.id}/notes",
        json={"body": "From an app", "visibility": "team"},
        headers=bearer(token),
    )
    assert response.status_code == 201
    assert len(_drafts()) == 1


@pytest.mark.parametrize("javascript", [True, False])
def test_discard_draft(app, client, auth, team, javascript):
    record, lead, _, _ = team
    auth.login(lead.email)
    _save(auth, record, {"body": SECRET})
    response = auth.post(
        f"/clients/{record.id}/drafts/discard",
        {"draft_form": "note", "body": SECRET},
        headers=JSON if javascript else {},
    )
    if javascript:
        assert response.status_code == 204
    else:
        assert response.status_code == 302
        assert response.headers["Location"] == f"/clients/{record.id}/notes/new"
    assert _drafts() == []
    (event,) = _events("discard_draft")
    assert (event.actor_id, event.client_id, event.detail) == (
        lead.id,
        record.id,
        "note discarded",
    )
    page = _form_page(client, record)
    assert SECRET not in page


def test_a_provider_who_left_the_team_cannot_reach_their_draft(app, client, auth, team):
    record, lead, psych, psych_row = team
    auth.login(psych.email)
    _save(auth, record, {"body": SECRET})
    client_services.end_member(actor=lead, client=record, member_id=psych_row.id)
    assert client.get(f"/clients/{record.id}/notes/new").status_code == 404
    assert _save(auth, record, {"body": "more"}).status_code == 404
    response = auth.post(
        f"/clients/{record.id}/drafts/discard", {"draft_form": "note"}, headers=JSON
    )
    assert response.status_code == 404
    (draft,) = _drafts()
    assert draft.fields["body"] == SECRET  # kept, unread, unchanged


@pytest.mark.parametrize(
    ("fields", "status", "field", "message"),
    [
        (
            {"body": "x" * 20001},
            422,
            "body",
            "the note is 20,001 characters long; the limit is 20,000",
        ),
        (
            {"body": "x", "title": "t" * 201},
            422,
            "title",
            "the title is 201 characters long; the limit is 200",
        ),
        ({"body": "x", "draft_form": "diary"}, 400, "draft_form", "This form keeps no draft."),
        ({"body": "x", "draft_form": ""}, 400, "draft_form", "This form keeps no draft."),
        (
            {"body": "x", "draft_form": "note_amendment"},
            400,
            None,
            "Which entry is this draft about?",
        ),
        (
            {"body": "x", "draft_form": "note_amendment", "draft_parent": "9" * 30},
            400,
            None,
            "Which entry",
        ),
    ],
)
def test_a_refused_draft_says_why_and_saves_nothing(
    app, client, auth, team, fields, status, field, message
):
    record, lead, _, _ = team
    auth.login(lead.email)
    response = _save(auth, record, fields)
    assert response.status_code == status
    assert response.get_json()["field"] == field
    assert message in response.get_json()["error"]
    assert _drafts() == []
    # Without JavaScript: the same sentence on a page, never a stack trace.
    page = _save(auth, record, fields, headers=None)
    assert page.status_code == status
    assert message in page.get_data(as_text=True)
    assert "Traceback" not in page.get_data(as_text=True)


def test_an_amendment_keeps_its_own_draft(app, client, auth, team):
    record, lead, psych, _ = team
    note = record_services.post_note(actor=lead, client=record, body="Original text")
    other = record_services.post_note(actor=psych, client=record, body="Psych's note")
    auth.login(lead.email)
    amend = {"draft_form": "note_amendment", "draft_parent": str(note.id)}
    assert _save(auth, record, {**amend, "body": "Corrected text"}).status_code == 200
    _save(auth, record, {"body": SECRET})  # the new-note draft is another slot
    page = client.get(f"/clients/{record.id}/notes/{note.id}/amend").get_data(as_text=True)
    assert "\nCorrected text</textarea>" in page and "Your draft from" in page
    assert f'name="draft_parent" value="{note.id}"' in page
    # Only the author amends, so only the author keeps an amendment's draft.
    refused = _save(auth, record, {**amend, "draft_parent": str(other.id), "body": "x"})
    assert refused.status_code == 403
    response = auth.post(
        f"/clients/{record.id}/notes/{note.id}/amend",
        {"body": "Corrected text", "visibility": "team"},
    )
    assert response.status_code == 302
    assert response.headers["Location"].startswith(f"/clients/{record.id}#e")
    assert [d.form for d in _drafts()] == ["note"]


# Nutrition updates: the dietitian's meal-plan details are long text too.


def test_a_nutrition_update_keeps_its_draft_until_posted(app, client, auth, team):
    record, lead, _, _ = team
    dietitian = make_provider(Discipline.DIETITIAN, name="Dee Dietitian")
    add_member(record, dietitian, lead)
    auth.login(dietitian.email)
    fields = {
        "draft_form": "nutrition",
        "update_type": "meal_plan",
        "text": "Three meals, three snacks; add a bedtime snack",
        "weight_kg": "52,4",
    }
    assert auth.post(f"/clients/{record.id}/drafts", fields, headers=JSON).status_code == 200
    page = client.get(f"/clients/{record.id}/nutrition/new").get_data(as_text=True)
    assert "\nThree meals, three snacks; add a bedtime snack</textarea>" in page
    assert re.search(r'<input checked[^>]*value="meal_plan"|value="meal_plan"[^>]*checked', page)
    assert 'value="52,4"' in page  # as typed, in the dietitian's unit
    assert "Your draft from" in page
    response = auth.post(
        f"/clients/{record.id}/nutrition/new",
        {"update_type": "meal_plan", "text": "Three meals, three snacks; add a bedtime snack"},
    )
    assert response.status_code == 302
    assert response.headers["Location"].startswith(f"/clients/{record.id}/nutrition/#e")
    assert _drafts() == []


def test_only_a_dietitian_keeps_a_nutrition_draft(app, client, auth, team):
    record, lead, _, _ = team
    auth.login(lead.email)  # a therapist may not post nutrition updates
    response = auth.post(
        f"/clients/{record.id}/drafts",
        {"draft_form": "nutrition", "text": "x"},
        headers=JSON,
    )
    assert response.status_code == 403
    assert _drafts() == []


def test_the_nutrition_draft_limit_is_the_forms():
    assert NUTRITION_TEXT_MAX == nutrition_services.TEXT_MAX


# Medication changes: the prescriber's reason, and the rest of what they typed.


def test_a_medication_change_keeps_its_draft_until_posted(app, client, auth, team):
    record, _, psych, _ = team
    auth.login(psych.email)
    fields = {
        "draft_form": "medication",
        "medication": "sertraline",
        "action": "started",
        "dose": "50",
        "unit": "mg",
        "route": "oral",
        "frequency": "once daily",
        "effective_date": "2026-12-01",
        "reason": "Low mood and anxiety; discussed side effects with Robin",
    }
    assert auth.post(f"/clients/{record.id}/drafts", fields, headers=JSON).status_code == 200
    # The draft comes first, even from a link that would prefill the form.
    for path in ("new", "new?medication=sertraline&action=stopped"):
        page = client.get(f"/clients/{record.id}/medications/{path}").get_data(as_text=True)
        assert "\nLow mood and anxiety; discussed side effects with Robin</textarea>" in page
        assert 'value="sertraline"' in page and 'value="2026-12-01"' in page
        assert re.search(r'<option selected value="started"|value="started" selected', page)
        assert "Your draft from" in page
    posted = {k: v for k, v in fields.items() if k != "draft_form"}
    response = auth.post(f"/clients/{record.id}/medications/new", posted)
    assert response.status_code == 302
    assert response.headers["Location"].startswith(f"/clients/{record.id}#e")
    assert _drafts() == []


def test_only_a_prescriber_keeps_a_medication_draft(app, client, auth, team):
    record, lead, _, _ = team
    auth.login(lead.email)  # a therapist does not prescribe
    response = auth.post(
        f"/clients/{record.id}/drafts", {"draft_form": "medication", "reason": "x"}, headers=JSON
    )
    assert response.status_code == 403
    assert _drafts() == []


def test_the_medication_draft_limits_are_the_forms():
    assert MEDICATION_LENGTHS == medication_services.LENGTHS
