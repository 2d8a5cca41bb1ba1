"""What a digest holds about practice between sessions.

An assignment is an entry: another provider's assignment is in the reader's digest, as a
count in minimal detail and as a line in full detail. The client's practice logs are not
entries and are left out: they come daily and would drown the team's own updates, and a
reflection is the client's own words; the team reads them, with adherence, on the record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from email.utils import make_msgid

import pytest

from careteam.auth.models import User
from careteam.clients import services as client_services
from careteam.clients.models import Client
from careteam.digests import services
from careteam.digests.models import Digest
from careteam.enums import DigestDetail, Discipline, PracticePeriod, Role
from careteam.extensions import db, utcnow
from careteam.practice import services as practice
from careteam.practice.models import PracticeAssignment
from careteam.practice.rules import AssignmentFields
from tests.factories import add_member, make_client, make_provider, make_user

SKILL = "Box breathing before school"
INSTRUCTIONS = "Four counts in, hold four, out four."
REFLECTION = "Felt calmer after the argument with my father"


@dataclass
class Team:
    author: User  # assigns the practice
    reader: User  # whose digest the tests build
    own: User  # the client's portal account
    record: Client


@pytest.fixture
def team(app) -> Team:
    author = make_provider(Discipline.THERAPIST, name="Ann Author")
    reader = make_provider(Discipline.DIETITIAN, name="Ray Reader")
    record = make_client(author, name="Avery Quinn")
    add_member(record, reader, author)
    own = make_user(Role.CLIENT, name="Avery Quinn")
    client_services.link_portal_account(actor=author, client=record, email=own.email)
    return Team(author, reader, own, record)


def assign(team: Team) -> PracticeAssignment:
    return practice.assign_practice(
        actor=team.author,
        client=team.record,
        fields=AssignmentFields(
            skill=SKILL,
            instructions=INSTRUCTIONS,
            target_count=1,
            period=PracticePeriod.DAY,
            starts_on=practice.client_today(team.record) - timedelta(days=3),
        ),
    )


def log(team: Team, assignment: PracticeAssignment, days_ago: int) -> None:
    practice.log_practice(
        actor=team.own,
        client=team.record,
        assignment=assignment,
        practised_on=practice.client_today(team.record) - timedelta(days=days_ago),
        rating=4,
        reflection=REFLECTION,
    )


def digest_text(content: services.DigestContent) -> str:
    message = services.render_message(Digest(message_id=make_msgid()), content)
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    return text + html


def build(team: Team, since, detail: str) -> services.DigestContent:
    return services.build_content(team.reader, since, utcnow(), detail)


def test_another_providers_assignment_is_a_line_in_a_full_digest(app, team):
    since = utcnow()
    assign(team)

    content = build(team, since, DigestDetail.FULL)

    assert content.total == 1
    [section] = content.sections
    assert section.client.id == team.record.id
    assert dict(section.counts) == {"Practice": 1}
    assert [e.kind for e in section.entries] == ["practice"]
    text = digest_text(content)
    assert f"Practice by Ann Author: Practice assigned: {SKILL}" in text


def test_another_providers_assignment_is_counted_in_a_minimal_digest(app, team):
    since = utcnow()
    assign(team)

    content = build(team, since, DigestDetail.MINIMAL)

    assert content.total == 1
    [section] = content.sections
    assert dict(section.counts) == {"Practice": 1}
    assert section.entries == []
    text = digest_text(content)
    assert "Practice: 1" in text
    for clinical in (SKILL, INSTRUCTIONS, "Avery Quinn"):
        assert clinical not in text


def test_the_authors_own_assignment_is_not_in_their_digest(app, team):
    since = utcnow()
    assign(team)
    content = services.build_content(team.author, since, utcnow(), DigestDetail.FULL)
    assert content.total == 0


def test_the_clients_practice_logs_are_left_out(app, team):
    assignment = assign(team)
    since = utcnow()
    db.session.commit()
    log(team, assignment, days_ago=1)
    log(team, assignment, days_ago=0)

    for detail in (DigestDetail.FULL, DigestDetail.MINIMAL):
        content = build(team, since, detail)
        assert content.total == 0 and content.sections == []
        assert REFLECTION not in digest_text(content)


def test_logs_beside_an_assignment_add_nothing_to_it(app, team):
    since = utcnow()
    assignment = assign(team)
    log(team, assignment, days_ago=0)

    content = build(team, since, DigestDetail.FULL)

    assert content.total == 1
    assert REFLECTION not in digest_text(content)
