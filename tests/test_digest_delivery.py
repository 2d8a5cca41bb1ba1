"""Digest delivery under faults: slow batches, digests that cannot be built, windows sent
out of order, late commits, and what the health page counts.

Like tests/test_digests.py (whose team and helpers, tests/digest_helpers.py, this reuses):
no worker, the services the tasks call, every email through the real mail path to an SMTP
sink.
"""

from __future__ import annotations

import logging
import threading
import time as clock
from datetime import timedelta

import pytest
from sqlalchemy import update

from careteam import mail
from careteam.digests import delivery, services
from careteam.digests.models import Digest
from careteam.enums import DigestStatus, Role
from careteam.extensions import db, utcnow
from tests.digest_helpers import (
    NOTE_TITLE,
    Team,
    make_team,
    next_window,
    note,
    settle,
    ticked,
    written_at,
)
from tests.factories import add_member, make_provider, make_user
from tests.harness import free_port


@pytest.fixture
def team(app, sink) -> Team:
    return make_team(sink)


def open_now(*users) -> list[int]:
    ids = [services.open_window(user.id, utcnow()) for user in users]
    db.session.commit()
    return ids


def get(digest_id: int) -> Digest:
    return db.session.get(Digest, digest_id, populate_existing=True)


def to(sink, user) -> list:
    return [m for m in sink.messages if m["To"] == user.email]


# A slow batch keeps its lease -------------------------------------------------------


def test_a_batch_slower_than_its_lease_keeps_it_and_no_rival_sends_twice(
    app, sink, team: Team, monkeypatch
):
    lease = 0.6
    app.config["DIGEST_BATCH_LEASE_SECONDS"] = lease
    readers = [team.reader, team.other]
    for i in range(3):
        member = make_provider(name=f"Extra Reader {i}")
        add_member(team.record, member, team.author)
        readers.append(member)
    settle(*readers)
    sink.clear()
    note(team)
    ids = open_now(*readers)
    rival_runs = []

    def rival() -> None:
        # Another worker, meanwhile: what a dispatch tick and its retry task would do.
        with app.app_context():
            for _, batch in services.due_retries(50):
                services.send_batch(batch)
            rival_runs.append(services.send_batch(ids).sent)
            db.session.remove()

    real_send_each = mail.send_each
    main = threading.current_thread()

    def slow_send_each(messages, on_result=None):
        if threading.current_thread() is not main:
            return real_send_each(messages, on_result=on_result)

        def slow(index, result):
            on_result(index, result)
            clock.sleep(lease * 0.6)  # a slow server: five of these outlive the lease
            thread = threading.Thread(target=rival)
            thread.start()
            thread.join()

        return real_send_each(messages, on_result=slow)

    monkeypatch.setattr(delivery.mail, "send_each", slow_send_each)
    outcome = services.send_batch(ids)

    assert outcome.sent == ids
    assert len(rival_runs) == len(ids) and all(sent == [] for sent in rival_runs)
    assert sorted(m["To"] for m in sink.messages) == sorted(u.email for u in readers)
    assert [(get(i).status, get(i).attempts) for i in ids] == [(DigestStatus.SENT, 1)] * 5


def test_a_batch_that_lost_a_digest_stops_and_hands_the_rest_back(
    app, sink, team: Team, monkeypatch
):
    """A worker stalled past its lease: another took one digest; this one sends no more."""
    app.config["DIGEST_BATCH_LEASE_SECONDS"] = 0.3
    extra = make_provider(name="Extra Reader")
    add_member(team.record, extra, team.author)
    settle(team.reader, team.other, extra)
    sink.clear()
    note(team)
    first, taken, rest = open_now(team.reader, team.other, extra)
    real_send_each = mail.send_each

    def stalled_send_each(messages, on_result=None):
        def stall(index, result):
            if index == 0:
                clock.sleep(0.35)  # past the lease: another worker claims the second one
                db.session.execute(
                    update(Digest)
                    .where(Digest.id == taken)
                    .values(attempts=Digest.attempts + 1, lease_until=utcnow() + timedelta(60))
                )
                db.session.commit()
            on_result(index, result)

        return real_send_each(messages, on_result=stall)

    monkeypatch.setattr(delivery.mail, "send_each", stalled_send_each)
    outcome = services.send_batch([first, taken, rest])

    assert outcome.sent == [first]
    assert [m["To"] for m in sink.messages] == [team.reader.email]
    assert (get(taken).status, get(taken).attempts) == (DigestStatus.SENDING, 2)  # the rival's
    left = get(rest)
    assert (left.status, left.attempts, left.lease_until) == (DigestStatus.PENDING, 0, None)
    assert left.next_attempt_at <= utcnow()  # queued again by the next tick


# One digest that cannot be built does not block the batch ---------------------------


def test_a_digest_that_cannot_be_built_is_retried_alone_then_fails(
    app, sink, team: Team, monkeypatch, caplog
):
    note(team)
    broken_id, fine_id = open_now(team.reader, team.other)
    real_render = delivery.render_message

    def render(digest, content):
        if digest.user_id == team.reader.id:
            raise RuntimeError(f"template broke on {NOTE_TITLE}")
        return real_render(digest, content)

    monkeypatch.setattr(delivery, "render_message", render)
    caplog.set_level(logging.WARNING)
    outcome = services.send_batch([broken_id, fine_id])

    assert (outcome.sent, outcome.retry) == ([fine_id], [broken_id])
    assert [m["To"] for m in sink.messages] == [team.other.email]
    broken = get(broken_id)
    assert (broken.status, broken.attempts, broken.last_error) == (
        DigestStatus.PENDING,
        1,
        "RuntimeError",
    )
    assert broken.lease_until is None and broken.next_attempt_at > utcnow()
    logged = [r for r in caplog.records if r.getMessage() == "digest send failed"]
    assert [(r.digest_id, r.error) for r in logged] == [(broken_id, "RuntimeError")]
    assert NOTE_TITLE not in caplog.text

    # Each retry (its backoff over) fails alone, until the last attempt marks it failed.
    for attempt in range(2, services.MAX_ATTEMPTS + 1):
        db.session.execute(update(Digest).values(next_attempt_at=utcnow() - timedelta(1)))
        db.session.commit()
        assert services.due_retries(50) == [(0, [broken_id])]
        services.send_batch([broken_id])
        assert get(broken_id).attempts == attempt
    failed = get(broken_id)
    assert (failed.status, failed.last_error) == (DigestStatus.FAILED, "RuntimeError")
    assert services.due_retries(50) == []
    assert services.stats_since(utcnow() - timedelta(hours=24))[DigestStatus.FAILED] == 1
    assert [d.id for d in services.recent_failures()] == [broken_id]
    assert len(sink.messages) == 1


def test_a_window_whose_worker_died_on_its_last_attempt_is_failed_not_requeued(app, team):
    (digest_id,) = open_now(team.reader)
    db.session.execute(
        update(Digest).values(
            status=DigestStatus.SENDING,
            attempts=services.MAX_ATTEMPTS,
            lease_until=utcnow() - timedelta(seconds=1),
        )
    )
    db.session.commit()
    assert services.due_retries(50) == []
    digest = get(digest_id)
    assert (digest.status, digest.last_error) == (DigestStatus.FAILED, "LeaseExpired")
    assert services.claim(digest_id) is None


# Windows never overlap ---------------------------------------------------------------


def test_a_later_window_sent_first_covers_an_earlier_one_in_backoff(app, sink, team: Team):
    mark = utcnow()
    note(team, title="First thing")
    due = next_window(team.reader)
    written_at(due - timedelta(hours=1), since=mark)
    app.config.update(MAIL_PORT=free_port())  # SMTP down for the first window
    (early,) = services.dispatch_due(ticked(due), user_ids=[team.reader.id])
    assert services.send_batch([early]).retry == [early]

    mark = utcnow()
    note(team, title="Second thing")
    later_due = next_window(team.reader)
    written_at(later_due - timedelta(hours=1), since=mark)
    app.config.update(MAIL_PORT=sink.port)
    (late,) = services.dispatch_due(ticked(later_due), user_ids=[team.reader.id])
    assert services.send_batch([late]).sent == [late]  # before the earlier one's backoff
    assert get(late).item_count == 2

    covered = get(early)
    assert covered.status == DigestStatus.SKIPPED
    db.session.execute(update(Digest).values(next_attempt_at=utcnow() - timedelta(1)))
    db.session.commit()
    assert services.due_retries(50) == []
    assert services.send_batch([early]).sent == []
    assert len(to(sink, team.reader)) == 1


def test_an_earlier_window_claimed_after_a_later_one_was_sent_is_skipped(app, sink, team: Team):
    mark = utcnow()
    note(team)
    due = next_window(team.reader)
    written_at(due - timedelta(hours=1), since=mark)
    (early,) = services.dispatch_due(ticked(due), user_ids=[team.reader.id])
    # A worker took it and died: it is still "sending" when the next window goes out.
    assert services.claim(early) is not None
    (late,) = services.dispatch_due(ticked(next_window(team.reader)), user_ids=[team.reader.id])
    db.session.execute(
        update(Digest).where(Digest.id == early).values(lease_until=utcnow() - timedelta(1))
    )
    db.session.commit()
    assert services.send_batch([late]).sent == [late]
    assert get(late).item_count == 1

    assert services.due_retries(50) == [(0, [early])]  # the dead worker's lease ran out
    assert services.send_batch([early]).skipped == [early]
    assert get(early).status == DigestStatus.SKIPPED
    assert len(to(sink, team.reader)) == 1


def test_a_window_waits_while_another_of_the_same_user_is_being_sent(app, sink, team: Team):
    note(team)
    (early,) = services.dispatch_due(ticked(next_window(team.reader)), user_ids=[team.reader.id])
    assert services.claim(early) is not None  # another worker is sending it right now
    (late,) = services.dispatch_due(ticked(next_window(team.reader)), user_ids=[team.reader.id])
    outcome = services.send_batch([late])
    assert outcome.retry == [late] and sink.messages == []
    deferred = get(late)
    assert (deferred.status, deferred.attempts) == (DigestStatus.PENDING, 0)  # no attempt spent
    assert deferred.next_attempt_at > utcnow()


# Late commits ------------------------------------------------------------------------


def test_an_entry_committed_just_after_its_window_closed_is_not_dropped(app, sink, team: Team):
    """created_at is set before commit: the window opens only once such commits are in."""
    settle_for = timedelta(seconds=app.config["DIGEST_SETTLE_SECONDS"])
    assert settle_for >= timedelta(seconds=2)
    due = next_window(team.reader)
    # A tick one second after the schedule: an entry dated before it may still commit.
    early_tick = services.dispatch_due(due + timedelta(seconds=1), user_ids=[team.reader.id])
    for digest_id in early_tick:
        services.send_batch([digest_id])
    mark = utcnow()
    note(team)  # dated half a second before the window's end, committed after that tick
    written_at(due - timedelta(seconds=0.5), since=mark)

    assert early_tick == []
    (digest_id,) = services.dispatch_due(due + settle_for, user_ids=[team.reader.id])
    services.send_batch([digest_id])
    assert get(digest_id).item_count == 1
    assert "1 update" in to(sink, team.reader)[0]["Subject"]


# Health page counts ------------------------------------------------------------------


def test_health_counts_digests_by_when_they_were_sent_or_failed(app, client, auth, sink, team):
    note(team)
    old_sent, recent_sent, old_failed, recent_failed = open_now(
        team.reader, team.other, team.author, make_provider()
    )
    now = utcnow()
    rows = {
        # Opened long ago, sent an hour ago (a long outage): counted.
        recent_sent: {"status": "sent", "created_at": now - timedelta(days=3), "sent_at": now},
        # Opened three days ago, sent two days ago: not counted.
        old_sent: {
            "status": "sent",
            "created_at": now - timedelta(days=3),
            "sent_at": now - timedelta(days=2),
        },
        # Opened two days ago, failed for good an hour ago: counted.
        recent_failed: {
            "status": "failed",
            "created_at": now - timedelta(days=2),
            "next_attempt_at": now - timedelta(hours=1),
        },
        old_failed: {
            "status": "failed",
            "created_at": now - timedelta(days=3),
            "next_attempt_at": now - timedelta(days=2),
        },
    }
    for digest_id, values in rows.items():
        db.session.execute(update(Digest).where(Digest.id == digest_id).values(**values))
    # The team fixture's digests were sent days ago too.
    db.session.execute(
        update(Digest)
        .where(Digest.id.not_in(list(rows)))
        .values(sent_at=now - timedelta(days=2), created_at=now - timedelta(days=2))
    )
    db.session.commit()
    stats = services.stats_since(now - timedelta(hours=24))
    assert (stats[DigestStatus.SENT], stats[DigestStatus.FAILED]) == (1, 1)

    admin = make_user(Role.ADMIN, email="admin@example.com")
    auth.login(admin.email)
    html = client.get("/admin/health").get_data(as_text=True)
    assert "Digests sent: <strong>1</strong>" in html
    assert "<strong>failed: 1</strong>" in html


# Statements per batch do not grow with the batch ----------------------------------


def test_a_bigger_batch_takes_only_one_more_statement_per_digest_sent(
    app, sink, team: Team, count_queries
):
    """A batch is claimed, planned and written in a fixed number of statements; each
    digest sent adds its record alone (k = 1: one UPDATE marking it sent and its earlier
    waiting windows covered, committed before the next message). Before batching, each
    digest took 12 statements of its own."""
    counts = {}
    for size in (2, 6, 12):
        readers = []
        for i in range(size):
            member = make_provider(name=f"Batch {size} Reader {i}")
            add_member(team.record, member, team.author)
            readers.append(member)
        settle(*readers)
        note(team)
        ids = open_now(*readers)
        db.session.expire_all()
        with count_queries() as queries:
            outcome = services.send_batch(ids)
        assert sorted(outcome.sent) == sorted(ids)
        counts[size] = queries.count
    k = 1
    assert counts[6] - counts[2] == 4 * k, counts
    assert counts[12] - counts[6] == 6 * k, counts


# Two windows of one user in one batch -----------------------------------------------


def test_a_batch_with_two_windows_of_one_user_sends_one_and_the_other_follows_on(
    app, sink, team: Team
):
    mark = utcnow()
    note(team, title="First thing")
    due = next_window(team.reader)
    written_at(due - timedelta(hours=1), since=mark)
    (early,) = services.dispatch_due(ticked(due), user_ids=[team.reader.id])
    mark = utcnow()
    note(team, title="Second thing")
    later_due = next_window(team.reader)
    written_at(later_due - timedelta(hours=1), since=mark)
    (late,) = services.dispatch_due(ticked(later_due), user_ids=[team.reader.id])
    (other,) = open_now(team.other)  # nothing new up to now: skipped beside them

    outcome = services.send_batch([early, late, other])
    assert (outcome.sent, outcome.retry, outcome.skipped) == ([early], [late], [other])
    assert len(to(sink, team.reader)) == 1
    waiting = get(late)
    assert (waiting.status, waiting.attempts) == (DigestStatus.PENDING, 0)  # no attempt spent

    db.session.execute(update(Digest).values(next_attempt_at=utcnow() - timedelta(1)))
    db.session.commit()
    assert services.send_batch([late]).sent == [late]
    first, second = get(early), get(late)
    assert second.window_start == first.window_end  # contiguous: nothing twice, nothing lost
    assert (first.item_count, second.item_count) == (1, 1)
    assert len(to(sink, team.reader)) == 2


def test_a_later_window_first_in_the_batch_goes_and_covers_the_earlier_one(app, sink, team: Team):
    note(team)
    (early,) = services.dispatch_due(ticked(next_window(team.reader)), user_ids=[team.reader.id])
    (late,) = services.dispatch_due(ticked(next_window(team.reader)), user_ids=[team.reader.id])
    assert services.send_batch([late, early]).sent == [late]
    assert get(early).status == DigestStatus.SKIPPED  # covered by the later one
    assert services.send_batch([early]).sent == []
    assert len(to(sink, team.reader)) == 1
