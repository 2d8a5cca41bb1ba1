"""The alert emails: one delivery's message, built from templates/email/."""

from __future__ import annotations

from email.message import EmailMessage

from flask import render_template

from careteam import mail
from careteam.alerts.models import AlertDelivery
from careteam.auth.models import User
from careteam.digests.services import preference_for
from careteam.enums import DigestDetail, EntryKind, Role
from careteam.extensions import db
from careteam.links import external_url, unsubscribe_url
from careteam.record.models import Entry
from careteam.record.summary import client_short_name, summary_line
from careteam.timefmt import format_in_zone, zone_of


def render_alert(delivery: AlertDelivery) -> EmailMessage:
    """The email of one delivery, in the recipient's detail level."""
    recipient = db.session.get(User, delivery.user_id)
    if delivery.alert.entry_id is None:
        return _render_emergency_alert(delivery, recipient)
    entry = delivery.alert.entry
    pref = preference_for(recipient)
    client = entry.client
    unsubscribe = unsubscribe_url(recipient.id, purpose="alerts")
    full = pref.detail == DigestDetail.FULL
    # Minimal (the default) names no client and says nothing clinical: only what kind of
    # update it is, and a link. Full gives the client's name and the entry's summary line
    # (a note's title, or its first line).
    context = {
        "entry": entry,
        "full": full,
        "client_label": client.display_name if full else "",
        "summary": summary_line(entry) if full else "",
        "url": external_url("clients.show", client_id=client.id, _anchor=f"e{entry.id}"),
        "settings_url": external_url("digests.settings"),
        "unsubscribe_url": unsubscribe,
    }
    subject = f"CareTeam alert: {_alert_title(entry)}"
    return _message(delivery, recipient, subject, "alert", context, unsubscribe)


def _render_emergency_alert(delivery: AlertDelivery, recipient: User) -> EmailMessage:
    """Who opened which client's record and when; never the reason (read it in CareTeam).

    A security notice, which the alert opt-out does not stop: so no unsubscribe link.
    """
    grant = delivery.alert.emergency_access
    opener = grant.user
    context = {
        "who": opener.display_name,
        "role": "administrator"
        if opener.role == Role.ADMIN
        else (opener.discipline_label or "provider"),
        "client_label": client_short_name(grant.client),
        "when": format_in_zone(grant.created_at, zone_of(recipient)),
        "until": format_in_zone(grant.expires_at, zone_of(recipient)),
        "url": external_url("clients.team", client_id=grant.client_id, _anchor="emergency-access"),
    }
    subject = f"CareTeam: emergency access to {context['client_label']}'s record"
    return _message(delivery, recipient, subject, "emergency_access", context)


def _message(
    delivery: AlertDelivery,
    recipient: User,
    subject: str,
    template: str,
    context: dict,
    unsubscribe: str | None = None,
) -> EmailMessage:
    """The delivery's email from templates/email/<template>.txt and .html, carrying the
    delivery's own Message-ID (a resend after a crash folds into the first)."""
    message = mail.build_message(
        to=recipient.email,
        subject=subject,
        text=render_template(f"email/{template}.txt", **context),
        html=render_template(f"email/{template}.html", **context),
        unsubscribe_url=unsubscribe,
    )
    message.replace_header("Message-ID", delivery.message_id)
    return message


def _alert_title(entry: Entry) -> str:
    kind = EntryKind(entry.kind)
    if kind == EntryKind.NOTE:
        return "urgent note"
    if kind == EntryKind.MEDICATION:
        return "medication change"
    return "level of care changed"
