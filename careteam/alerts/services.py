"""Immediate alerts: an outbox row in the entry's transaction, fanned out after commit."""

from __future__ import annotations

from datetime import datetime, timedelta
from email.utils import make_msgid

from flask import current_app
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from careteam import access, audit, mail
from careteam.alerts.emails import render_alert
from careteam.alerts.models import AlertDelivery, OutboxAlert
from careteam.auth.models import User
from careteam.clients.models import Client
from careteam.digests import schedule
from careteam.digests.services import MAX_ATTEMPTS, backoff_seconds, preference_for
from careteam.enums import AlertStatus
from careteam.extensions import db, utcnow
from careteam.timefmt import zone_of


def settle_unsent(now: datetime) -> int:
    """Mark every alert not yet fanned out as processed, with no delivery: for seeding a
    backdated history, whose entries are not news to anyone. The caller commits."""
    result = db.session.execute(
        update(OutboxAlert).where(OutboxAlert.processed_at.is_(None)).values(processed_at=now)
    )
    return result.rowcount


def fan_out(alert_id: int, now: datetime | None = None) -> int:
    """Create one delivery per team member who wants alerts; idempotent. Returns count."""
    now = now or utcnow()
    alert = db.session.get(OutboxAlert, alert_id)
    if alert is None or alert.processed_at is not None:
        return 0
    if alert.entry_id is None:
        recipients = _emergency_recipients(alert, now)
    else:
        recipients = _entry_recipients(alert, now)
    created = 0
    for user_id, deliver_after in recipients:
        delivery = AlertDelivery(
            alert_id=alert.id,
            user_id=user_id,
            deliver_after=deliver_after,
            message_id=make_msgid(domain="careteam.localhost"),
        )
        try:
            with db.session.begin_nested():  # rolled back to here if it exists already
                db.session.add(delivery)
            created += 1
        except IntegrityError:
            pass
    alert.processed_at = now
    db.session.commit()
    return created


def _entry_recipients(alert: OutboxAlert, now: datetime) -> list[tuple[int, datetime]]:
    """Every other active member who wants alerts, held until their quiet hours end."""
    recipients = []
    for member in access.active_members(alert.client_id):
        user = member.provider
        if user.id == alert.entry.author_id:
            continue
        pref = preference_for(user)
        if not user.active or not pref.alerts_enabled:
            continue
        held = schedule.quiet_until(
            quiet_start=pref.quiet_start, quiet_end=pref.quiet_end, zone=zone_of(user), at=now
        )
        recipients.append((user.id, held or now))
    return recipients


def _emergency_recipients(alert: OutboxAlert, now: datetime) -> list[tuple[int, datetime]]:
    """An emergency access goes to the client's active team lead(s) at once.

    It is a security notice, not a clinical update: neither the alert opt-out nor quiet
    hours hold it back. A team without an active lead tells every active member.
    """
    grant = alert.emergency_access
    active = access.active_members(alert.client_id)
    leads = [m for m in active if m.is_lead] or active
    return [
        (m.provider.id, now)
        for m in leads
        if m.provider.active and (grant is None or m.provider.id != grant.user_id)
    ]


def unprocessed_alerts(older_than: timedelta = timedelta(seconds=10)) -> list[int]:
    cutoff = utcnow() - older_than
    return list(
        db.session.scalars(
            select(OutboxAlert.id)
            .where(OutboxAlert.processed_at.is_(None), OutboxAlert.created_at <= cutoff)
            .order_by(OutboxAlert.id)
            .limit(500)
        )
    )


def _claim(delivery_id: int, now: datetime) -> AlertDelivery | None:
    lease = timedelta(seconds=current_app.config["DIGEST_LEASE_SECONDS"])
    result = db.session.execute(
        update(AlertDelivery)
        .where(
            AlertDelivery.id == delivery_id,
            AlertDelivery.deliver_after <= now,
            or_(
                AlertDelivery.status == AlertStatus.PENDING,
                (AlertDelivery.status == AlertStatus.SENDING) & (AlertDelivery.lease_until < now),
            ),
        )
        .values(
            status=AlertStatus.SENDING,
            lease_until=now + lease,
            attempts=AlertDelivery.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if result.rowcount != 1:
        return None
    return db.session.get(AlertDelivery, delivery_id, populate_existing=True)


def due_deliveries(now: datetime | None = None, limit: int = 200) -> list[int]:
    now = now or utcnow()
    return list(
        db.session.scalars(
            select(AlertDelivery.id)
            .where(
                AlertDelivery.deliver_after <= now,
                or_(
                    AlertDelivery.status == AlertStatus.PENDING,
                    (AlertDelivery.status == AlertStatus.SENDING)
                    & (AlertDelivery.lease_until < now),
                ),
            )
            .order_by(AlertDelivery.id)
            .limit(limit)
        )
    )


# A delivery dropped at send time is recorded as dropped, with the reason after this
# prefix in last_error: never sent, never retried, not counted as a failure.
DROPPED = "dropped: "


def drop_reason(delivery: AlertDelivery) -> str | None:
    """Why a claimed delivery must not go out now, or None to send it.

    Recipients were chosen at fan-out; quiet hours or SMTP retries can hold a delivery
    for hours, so it is checked again just before sending: the account must be active,
    the access policy must still let the recipient open the client's record (an active
    team member), and, for an entry, alerts must still be on and the entry current.
    An amended entry is dropped: its amendment is an entry of its own and raises its own
    alert if it still needs one (still urgent, not private), so a clinician gets the
    corrected version once rather than the stale one followed by its correction, and
    nothing when the author withdrew the urgency. An emergency-access notice is a
    security notice: the alert opt-out does not stop it, a lost membership does.
    """
    user = db.session.get(User, delivery.user_id)
    if user is None or not user.is_active:
        return "account deactivated"
    alert = delivery.alert
    client = db.session.get(Client, alert.client_id)
    decision = access.decide(
        user, access.Action.VIEW_RECORD, client, access.membership_of(user, client.id)
    )
    if not decision:
        return f"no access ({decision.reason})"
    if alert.entry is None:
        return None
    if not preference_for(user).alerts_enabled:
        return "alerts turned off"
    if not alert.entry.is_current:
        return "entry amended"
    return None


def _drop(delivery: AlertDelivery, reason: str) -> None:
    delivery.status = AlertStatus.DROPPED
    delivery.lease_until = None
    delivery.last_error = f"{DROPPED}{reason}"[:120]
    db.session.commit()
    current_app.logger.info(
        "alert dropped",
        extra={"delivery_id": delivery.id, "user_id": delivery.user_id, "reason": reason},
    )


def send_due(delivery_ids: list[int]) -> int:
    """Send due alert deliveries over one connection; returns how many were sent.

    Each is claimed, then checked again (drop_reason): one that must not go out any more
    is recorded as dropped instead.
    """
    now = utcnow()
    ready = []
    for delivery_id in delivery_ids:
        delivery = _claim(delivery_id, now)
        if delivery is None:
            continue
        reason = drop_reason(delivery)
        if reason is not None:
            _drop(delivery, reason)
            continue
        ready.append((delivery, render_alert(delivery)))
    if not ready:
        return 0
    recorded: set[int] = set()
    sent = 0

    def record(index: int, result: BaseException | None) -> None:
        # Committed as soon as the server answered: a worker killed mid-batch resends at
        # most the one alert accepted but not yet recorded.
        nonlocal sent
        delivery = ready[index][0]
        recorded.add(index)
        delivery.lease_until = None
        if result is None:
            delivery.status = AlertStatus.SENT
            delivery.sent_at = utcnow()
            sent += 1
        else:
            delivery.last_error = type(result).__name__[:120]
            delivery.status = (
                AlertStatus.FAILED if delivery.attempts >= MAX_ATTEMPTS else AlertStatus.PENDING
            )
            delivery.deliver_after = utcnow() + timedelta(
                seconds=backoff_seconds(delivery.attempts)
            )
        db.session.commit()

    try:
        mail.send_each([message for _, message in ready], on_result=record)
    except OSError as error:  # no connection, or it broke midway: the rest wait a retry
        for index in range(len(ready)):
            if index not in recorded:
                record(index, error)
    return sent


def unsubscribe(user: User) -> None:
    """One-click unsubscribe from immediate alerts (digests are a separate setting).

    Alerts already held for the user are dropped when their time comes (drop_reason).
    """
    pref = preference_for(user)
    pref.alerts_enabled = False
    pref.updated_at = utcnow()
    audit.record("unsubscribe_alerts", object_type="user", object_id=user.id, actor=user)
    db.session.commit()
