"""What every amend page audits, whatever the kind: the content it shows, the refusal it gives."""

from __future__ import annotations

from careteam import audit
from careteam.extensions import db
from careteam.record.models import Entry
from careteam.record.services import refuse_amendment


def audit_amend_page(old: Entry, *, client_id: int, shown: bool, refused: bool) -> None:
    """Record (and commit) that an amend page showed `old`, and that a non-author was refused.

    Call it once the page is rendered: the commit expires what the page has loaded.
    """
    if shown:
        audit.record("view_entry", object_type="entry", object_id=old.id, client_id=client_id)
    if refused:
        refuse_amendment(old, client_id=client_id)  # commits the view with it
    else:
        db.session.commit()
