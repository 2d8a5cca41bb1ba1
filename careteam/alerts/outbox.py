"""The alerts outbox: the rows an entry or an emergency grant writes in its own transaction.

Writers only: `careteam.alerts.services` fans the rows out and sends them. Kept apart so
that the record and the emergency grants can queue an alert without importing the sender
(which asks the access policy at send time).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from careteam.alerts.models import OutboxAlert
from careteam.enums import EntryKind
from careteam.extensions import db
from careteam.record.models import Entry
from careteam.relay import relay

if TYPE_CHECKING:
    from careteam.emergency.models import EmergencyAccess

# New alerts are published after the entry commits; beat's drain_alerts sends the rest.
RELAY = relay(name="alert", task="careteam.process_alert", setting="ALERT_RELAY", what="alert_id")


def needs_alert(entry: Entry) -> bool:
    """Urgent notes, medication changes and level-of-care changes alert the team."""
    kind = EntryKind(entry.kind)
    if kind == EntryKind.NOTE:
        return bool(entry.urgent) and entry.visibility != "private"
    return kind in (EntryKind.MEDICATION, EntryKind.LEVEL_OF_CARE)


def queue_alert(entry: Entry) -> None:
    """Write the outbox row in the entry's own transaction (the caller commits)."""
    if not needs_alert(entry):
        return
    alert = OutboxAlert(entry_id=entry.id, client_id=entry.client_id)
    db.session.add(alert)
    db.session.flush()
    RELAY.queue(alert.id)


def queue_emergency_alert(grant: EmergencyAccess) -> None:
    """Tell the client's team lead(s) of an emergency access: an outbox row in the grant's
    own transaction (the caller commits), relayed and drained like every alert."""
    alert = OutboxAlert(client_id=grant.client_id, entry_id=None)
    db.session.add(alert)
    db.session.flush()
    grant.alert_id = alert.id
    RELAY.queue(alert.id)
