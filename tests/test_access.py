"""The access policy decides alone, and denies by default."""

from __future__ import annotations

import pytest

from careteam.access import GLOBAL_RIGHTS, Action, decide, decide_global, membership_of
from careteam.clients import services
from careteam.enums import Discipline, Role
from tests.factories import add_member, make_client, make_provider, make_user

RECORD_ACTIONS = [a for a in Action if a not in GLOBAL_RIGHTS]


def test_every_action_is_either_global_or_on_a_record():
    assert set(GLOBAL_RIGHTS) | set(RECORD_ACTIONS) == set(Action)


@pytest.mark.parametrize(
    ("discipline", "may_prescribe", "may_nutrition"),
    [
        (Discipline.THERAPIST, False, False),
        (Discipline.PSYCHIATRIST, True, False),
        (Discipline.DIETITIAN, False, True),
        (Discipline.PRIMARY_CARE, True, False),
        (Discipline.NURSE_PRACTITIONER, True, False),
        (Discipline.CASE_MANAGER, False, False),
        (Discipline.OTHER, False, False),
    ],
)
def test_posting_rights_follow_the_discipline_on_the_team(
    app, discipline, may_prescribe, may_nutrition
):
    lead = make_provider()
    member = make_provider(discipline)
    client = make_client(lead)
    row = add_member(client, member, lead, discipline)
    assert decide(member, Action.POST_NOTE, client, row)
    assert decide(member, Action.POST_GOAL, client, row)
    assert bool(decide(member, Action.POST_MEDICATION, client, row)) is may_prescribe
    assert bool(decide(member, Action.POST_NUTRITION, client, row)) is may_nutrition


def test_lead_rights(app):
    lead = make_provider()
    member = make_provider()
    client = make_client(lead)
    member_row = add_member(client, member, lead)
    lead_row = membership_of(lead, client.id)
    for action in (Action.MANAGE_TEAM, Action.CHANGE_LEVEL_OF_CARE, Action.MANAGE_PORTAL_ACCESS):
        assert decide(lead, action, client, lead_row)
        refusal = decide(member, action, client, member_row)
        assert not refusal and refusal.status == 403


def test_removed_member_loses_everything_at_once(app):
    lead = make_provider()
    member = make_provider()
    client = make_client(lead)
    row = add_member(client, member, lead)
    assert decide(member, Action.VIEW_RECORD, client, row)
    services.end_member(actor=lead, client=client, member_id=row.id)
    row = membership_of(member, client.id)
    for action in RECORD_ACTIONS:
        refusal = decide(member, action, client, row)
        assert not refusal and refusal.status == 404


@pytest.mark.parametrize("role", [Role.ADMIN, Role.CLIENT])
def test_admins_and_other_clients_see_no_record(app, role):
    lead = make_provider()
    client = make_client(lead)
    outsider = make_user(role)
    for action in RECORD_ACTIONS:
        refusal = decide(outsider, action, client, None)
        assert not refusal and refusal.status == 404


CLIENT_OWN = {
    Action.VIEW_ROSTER,
    Action.VIEW_SHARED_RECORD,
    Action.VIEW_ACCESS_LOG,
    Action.LOG_PRACTICE,
}


def test_client_sees_only_the_shared_view_of_their_own_record(app):
    lead = make_provider()
    record = make_client(lead)
    own = make_user(Role.CLIENT)
    services.link_portal_account(actor=lead, client=record, email=own.email)
    for action in CLIENT_OWN:
        assert decide(own, action, record, None)
    for action in set(RECORD_ACTIONS) - CLIENT_OWN:
        refusal = decide(own, action, record, None)
        assert not refusal and refusal.status == 404


def test_deactivated_users_are_denied_everything(app):
    lead = make_provider()
    client = make_client(lead)
    row = membership_of(lead, client.id)
    lead.active = False
    for action in RECORD_ACTIONS:
        assert not decide(lead, action, client, row)
    for action in GLOBAL_RIGHTS:
        assert not decide_global(lead, action)


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (
            Role.PROVIDER,
            {
                Action.VIEW_DASHBOARD,
                Action.CREATE_CLIENT,
                Action.EDIT_PROFILE,
                Action.CHANGE_PASSWORD,
                Action.MANAGE_TWO_FACTOR,
                Action.MANAGE_API_TOKENS,
                Action.EMERGENCY_ACCESS,
            },
        ),
        (
            Role.CLIENT,
            {
                Action.VIEW_PORTAL,
                Action.EDIT_PROFILE,
                Action.CHANGE_PASSWORD,
                Action.MANAGE_TWO_FACTOR,
                Action.MANAGE_API_TOKENS,
            },
        ),
        (
            Role.ADMIN,
            {
                Action.MANAGE_USERS,
                Action.READ_AUDIT,
                Action.VIEW_SYSTEM_HEALTH,
                Action.EDIT_PROFILE,
                Action.CHANGE_PASSWORD,
                Action.MANAGE_TWO_FACTOR,
                Action.MANAGE_API_TOKENS,
                Action.EMERGENCY_ACCESS,
                Action.EMERGENCY_SEARCH_BY_ID,
            },
        ),
    ],
)
def test_global_rights_by_role(app, role, allowed):
    user = make_user(role)
    granted = {action for action in GLOBAL_RIGHTS if decide_global(user, action)}
    assert granted == allowed
    for action in RECORD_ACTIONS:
        assert not decide_global(user, action)


def test_anonymous_is_denied(app):
    from flask_login import AnonymousUserMixin

    anon = AnonymousUserMixin()
    lead = make_provider()
    client = make_client(lead)
    assert not decide(anon, Action.VIEW_RECORD, client, None)
    assert not decide_global(anon, Action.VIEW_DASHBOARD)
