"""Pages issue a bounded number of SQL queries, whatever the amount of data."""

from __future__ import annotations

from careteam.clients import services
from careteam.enums import Discipline, Role
from tests.factories import add_member, make_client, make_provider, make_user
from tests.worlds import grow, make_team


def _grow(lead, clients: int, members_each: int) -> list:
    records = []
    for _ in range(clients):
        record = make_client(lead)
        for _ in range(members_each):
            add_member(record, make_provider(Discipline.DIETITIAN), lead)
        records.append(record)
    return records


def _count(client, count_queries, path: str) -> int:
    client.get(path)  # warm-up: first-request work is not the page's
    with count_queries() as counter:
        response = client.get(path)
    assert response.status_code == 200
    return counter.count


def test_dashboard_queries_do_not_grow_with_clients(app, client, auth, count_queries):
    lead = make_provider()
    _grow(lead, clients=1, members_each=1)
    auth.login(lead.email)
    small = _count(client, count_queries, "/clients/")
    _grow(lead, clients=12, members_each=3)
    large = _count(client, count_queries, "/clients/")
    assert small == large, (small, large)


def test_record_page_queries_do_not_grow_with_team_or_history(app, client, auth, count_queries):
    from datetime import date, timedelta

    from careteam.enums import LevelOfCare

    lead = make_provider()
    (record,) = _grow(lead, clients=1, members_each=1)
    auth.login(lead.email)
    paths = [f"/clients/{record.id}", f"/clients/{record.id}/team"]
    small = [_count(client, count_queries, path) for path in paths]
    for _ in range(6):
        add_member(record, make_provider(Discipline.OTHER), lead)
    ended = add_member(record, make_provider(), lead)
    services.end_member(actor=lead, client=record, member_id=ended.id)
    levels = [LevelOfCare.RESIDENTIAL, LevelOfCare.PARTIAL_HOSPITALIZATION] * 3
    for n, level in enumerate(levels):
        services.change_level_of_care(
            actor=lead,
            client=record,
            level=level,
            effective_date=date.today() - timedelta(days=len(levels) - n),
            reason="History",
        )
    large = [_count(client, count_queries, path) for path in paths]
    assert small == large, (small, large)


def test_portal_queries_do_not_grow_with_team(app, client, auth, count_queries):
    lead = make_provider()
    (record,) = _grow(lead, clients=1, members_each=1)
    own = make_user(Role.CLIENT)
    services.link_portal_account(actor=lead, client=record, email=own.email)
    auth.login(own.email)
    small = _count(client, count_queries, "/portal/")
    for _ in range(8):
        add_member(record, make_provider(Discipline.NURSE_PRACTITIONER), lead)
    large = _count(client, count_queries, "/portal/")
    assert small == large, (small, large)


def test_audit_log_queries_do_not_grow_with_events(app, client, auth, count_queries):
    admin = make_user(Role.ADMIN)
    lead = make_provider()
    _grow(lead, clients=1, members_each=0)
    auth.login(admin.email)
    small = _count(client, count_queries, "/admin/audit")
    _grow(make_provider(), clients=5, members_each=2)
    large = _count(client, count_queries, "/admin/audit")
    assert small == large, (small, large)


def test_timeline_queries_do_not_grow_with_entries_of_every_kind(app, client, auth, count_queries):
    world = make_team()  # tests/worlds.py's team; grow() writes every kind of entry
    grow(world, 1)
    auth.login(world.lead.email)
    paths = [f"/clients/{world.record.id}", "/clients/"]
    small = [_count(client, count_queries, path) for path in paths]
    grow(world, 4, tag="b")  # 4x the entries, a full page
    large = [_count(client, count_queries, path) for path in paths]
    assert small == large, (small, large)
