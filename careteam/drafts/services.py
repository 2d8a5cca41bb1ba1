"""Use cases of drafts: save as the author types, open with the form, discard, drop on post.

Every use case is the author's own: a draft is looked up by its author, so nobody else's
request can reach it. The caller has already loaded the client (and the parent entry)
through careteam/access.py with the right to post the form, so a provider who left the
team cannot read or write their drafts of that client any more. Saving and opening are
audited like any clinical content; the text itself never goes to the audit log or logs.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from careteam import audit
from careteam.auth.models import User
from careteam.clients.models import Client
from careteam.drafts.models import Draft, draft_key
from careteam.drafts.rules import SPECS, DraftForm
from careteam.errors import UserFacingError
from careteam.extensions import db, utcnow


class DraftError(UserFacingError):
    """A draft's input was refused (too long, or a form that keeps no draft)."""


def parse_form(value: str | None) -> DraftForm:
    """The draft form named by a request, or DraftError."""
    try:
        return DraftForm(value or "")
    except ValueError:
        raise DraftError("This form keeps no draft.", "draft_form", http_status=400) from None


def clean_fields(form: DraftForm, fields: Mapping[str, object]) -> dict[str, str]:
    """The draft's fields as stored: only the form's own, each within its limit."""
    spec = SPECS[form]
    clean: dict[str, str] = {}
    for name, limit in spec.fields.items():
        value = fields.get(name, "")
        value = value if isinstance(value, str) else ""
        if len(value) > limit:
            label = spec.labels.get(name, name.capitalize())
            raise DraftError(
                f"Draft not saved: {label.lower()} is {len(value):,} characters long; "
                f"the limit is {limit:,}. Shorten it.",
                name,
            )
        clean[name] = value
    return clean


def _find(author: User, client: Client, form: DraftForm, parent_id: int | None) -> Draft | None:
    return db.session.scalar(
        select(Draft).where(
            Draft.author_id == author.id,
            Draft.client_id == client.id,
            Draft.key == draft_key(form, parent_id),
        )
    )


def save_draft(
    *,
    author: User,
    client: Client,
    form: DraftForm,
    parent_id: int | None = None,
    fields: Mapping[str, object],
) -> Draft | None:
    """Keep what the author typed; a draft left without text is removed. Audited.

    Returns the saved draft, or None when there was nothing left to keep.
    """
    clean = clean_fields(form, fields)
    if not any(clean[name].strip() for name in SPECS[form].text):
        _remove(author=author, client=client, form=form, parent_id=parent_id, why="emptied")
        db.session.commit()
        return None
    for attempt in (1, 2):
        draft = _find(author, client, form, parent_id)
        if draft is None:
            draft = Draft(
                author_id=author.id,
                client_id=client.id,
                form=form,
                parent_entry_id=parent_id,
                key=draft_key(form, parent_id),
            )
            db.session.add(draft)
        draft.fields = clean
        draft.updated_at = utcnow()
        try:
            db.session.flush()
        except IntegrityError:
            # Two saves of a new draft raced (two tabs): the other one created it.
            db.session.rollback()
            if attempt == 2:
                raise
            continue
        break
    audit.record(
        "save_draft",
        object_type="draft",
        object_id=draft.id,
        client_id=client.id,
        actor=author,
        detail=str(form),
    )
    db.session.commit()
    return draft


def open_draft(
    *, author: User, client: Client, form: DraftForm, parent_id: int | None = None
) -> Draft | None:
    """The author's draft of this form, to restore into it; its reading is audited."""
    draft = _find(author, client, form, parent_id)
    if draft is None:
        return None
    audit.record_view(
        action="open_draft",
        object_type="draft",
        object_id=draft.id,
        client_id=client.id,
        actor=author,
        detail=str(form),
    )
    # record_view committed, which expired the row: read it again, once.
    return _find(author, client, form, parent_id)


def discard_draft(
    *, author: User, client: Client, form: DraftForm, parent_id: int | None = None
) -> bool:
    """The author throws the draft away ("Discard draft"). Whether there was one."""
    removed = _remove(
        author=author, client=client, form=form, parent_id=parent_id, why="discarded"
    )
    db.session.commit()
    return removed


def drop_posted_draft(
    *, author: User, client: Client, form: DraftForm, parent_id: int | None = None
) -> None:
    """The entry was posted: its draft goes, in the posting use case's transaction."""
    _remove(author=author, client=client, form=form, parent_id=parent_id, why="posted")


def _remove(
    *, author: User, client: Client, form: DraftForm, parent_id: int | None, why: str
) -> bool:
    draft_id = db.session.scalar(
        delete(Draft)
        .where(
            Draft.author_id == author.id,
            Draft.client_id == client.id,
            Draft.key == draft_key(form, parent_id),
        )
        .returning(Draft.id)
    )
    if draft_id is None:
        return False
    audit.record(
        "discard_draft",
        object_type="draft",
        object_id=draft_id,
        client_id=client.id,
        actor=author,
        detail=f"{form} {why}",
    )
    return True
