"""Use cases of the shared record: add an entry, amend it, read the timeline, track visits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from careteam import access, audit
from careteam.access import entry_visible_to
from careteam.alerts.outbox import queue_alert
from careteam.auth.models import User
from careteam.clients.models import CareTeamChange, CareTeamMember, Client, LevelOfCareChange
from careteam.drafts import services as drafts
from careteam.drafts.rules import DraftForm
from careteam.enums import EntryKind, Visibility
from careteam.errors import UserFacingError
from careteam.extensions import db, dialect_insert, joins_as_written, utcnow
from careteam.paging import (
    Cursor,
    Page,
    cursor_parameters,
    cursor_values,
    older_than,
    page_of,
)
from careteam.record.models import (
    Entry,
    LevelOfCareEntry,
    Note,
    NoteAck,
    RecordVisit,
    TeamEntry,
    entries_of_every_kind,
)

TIMELINE_PAGE = 20


class EntryError(UserFacingError):
    """A use case on an entry refused its input."""


def add_entry(entry: Entry, *, actor: User, client: Client, commit: bool = True) -> Entry:
    """Append an entry to a client's timeline, audited in the same transaction."""
    entry.client_id = client.id
    entry.author_id = actor.id
    entry.created_at = utcnow()
    db.session.add(entry)
    db.session.flush()
    if entry.visibility != Visibility.PRIVATE:  # a private note leaves no trace for others
        client.last_activity_at = entry.created_at
    queue_alert(entry)  # urgent entries alert in this same transaction
    audit.record(
        f"create_{entry.kind}",
        object_type="entry",
        object_id=entry.id,
        client_id=client.id,
        actor=actor,
    )
    if commit:
        db.session.commit()
    return entry


def check_amendable(old: Entry, *, actor: User, client: Client) -> None:
    """The record's own guard (access.load_entry decides it for requests, with the audit)."""
    if old.client_id != client.id:
        raise LookupError(old.id)
    if old.author_id != actor.id:
        raise EntryError("Only the author can amend an entry. Add a note instead.")
    if old.superseded_at is not None:
        raise EntryError(
            "This entry was already amended. Amend the newest version.", http_status=409
        )


def amend_entry(old: Entry, new: Entry, *, actor: User, client: Client) -> Entry:
    """Replace an entry by a corrected version; both stay in the history.

    Only the author amends, only the current version, and only once (a unique
    constraint settles two amendments racing for the same version).
    """
    check_amendable(old, actor=actor, client=client)
    if new.kind != old.kind:
        raise EntryError("An amendment must be of the same kind as the entry.")
    return supersede(
        old,
        new,
        actor=actor,
        client=client,
        action="amend_entry",
        conflict=EntryError(
            "This entry was amended meanwhile. Reload it and try again.", http_status=409
        ),
    )


def supersede(
    old: Entry, new: Entry, *, actor: User, client: Client, action: str, conflict: Exception
) -> Entry:
    """Append `new` as the version that replaces `old`, audited, in one commit.

    The callers check who may do it; a unique constraint settles two versions racing for
    the same one, and the loser gets `conflict`.
    """
    new.supersedes_id = old.id
    new.root_id = old.history_root_id
    old.superseded_at = utcnow()
    try:
        add_entry(new, actor=actor, client=client, commit=False)
        audit.record(
            action,
            object_type="entry",
            object_id=old.id,
            client_id=client.id,
            actor=actor,
            detail=f"superseded by {new.id}",
        )
        db.session.commit()
    except IntegrityError as error:
        db.session.rollback()
        raise conflict from error
    return new


def post_note(
    *,
    actor: User,
    client: Client,
    body: str,
    title: str = "",
    visibility: Visibility = Visibility.TEAM,
    urgent: bool = False,
    amends: Note | None = None,
    from_draft: bool = False,
) -> Note:
    """Post a coordination note, or amend one.

    `from_draft`: posted from the web form, whose draft (careteam/drafts) goes in the same
    transaction; a failed post keeps it. Other adapters (the API) leave the draft alone.
    """
    if not body.strip():
        raise EntryError("Write the note.", "body")
    if from_draft:
        drafts.drop_posted_draft(
            author=actor,
            client=client,
            form=DraftForm.NOTE if amends is None else DraftForm.NOTE_AMENDMENT,
            parent_id=None if amends is None else amends.id,
        )
    note = Note(
        title=title.strip(),
        body=body.strip(),
        visibility=Visibility(visibility),
        urgent=urgent,
    )
    if amends is not None:
        return amend_entry(amends, note, actor=actor, client=client)
    return add_entry(note, actor=actor, client=client)


def record_level_change(change: LevelOfCareChange, *, actor: User, alert: bool = True) -> None:
    """Put a level-of-care change on the timeline (the caller commits).

    A new client's first level alerts nobody: the team is only its creator.
    """
    entry = LevelOfCareEntry(
        client_id=change.client_id,
        author_id=actor.id,
        change_id=change.id,
        created_at=change.created_at,
    )
    db.session.add(entry)
    db.session.flush()
    if alert:
        queue_alert(entry)  # urgent entries alert in this same transaction


def record_team_change(change: CareTeamChange, *, actor: User) -> None:
    """Put a care-team change on the timeline (the caller commits)."""
    db.session.add(
        TeamEntry(
            client_id=change.client_id,
            author_id=actor.id,
            change_id=change.id,
            created_at=change.created_at,
        )
    )


def timeline(
    viewer: User,
    client: Client,
    *,
    kinds: list[str] | None = None,
    author_id: int | None = None,
    cursor: Cursor | None = None,
    limit: int = TIMELINE_PAGE,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Page[Entry]:
    """Current versions of the entries a team member may see, newest first, one page.

    `since` (inclusive) and `until` (exclusive) narrow it to entries created in between.
    """
    stmt = _timeline_statement(
        kinds=bool(kinds),
        author=bool(author_id),
        since=since is not None,
        until=until is not None,
        cursor=cursor is not None,
        limit=limit,
    )
    params: dict = {"client_id": client.id, "viewer_id": viewer.id}
    if kinds:
        params["kinds"] = list(kinds)
    if author_id:
        params["author_id"] = author_id
    if since is not None:
        params["since"] = since
    if until is not None:
        params["until"] = until
    if cursor is not None:
        params.update(cursor_values(cursor))
    with joins_as_written():
        rows = list(db.session.scalars(stmt, params).unique())
    return entry_page(rows, limit)


@cache
def _timeline_statement(
    *, kinds: bool, author: bool, since: bool, until: bool, cursor: bool, limit: int
) -> Select:
    """The timeline's query for one combination of filters, built once per process.

    Every value (the client, the viewer, the filters, the cursor) is a bound parameter
    given at execution, so one statement object serves every request: SQLAlchemy keeps
    its cache key on the object, where building the statement and its key over every
    kind's table and eager load took about 3 ms a request.
    """
    from careteam.medications.models import MedicationAck

    poly = entries_of_every_kind()
    stmt = (
        select(poly)
        .where(poly.client_id == bindparam("client_id"), poly.superseded_at.is_(None))
        .where(entry_visible_to(bindparam("viewer_id"), poly))
        .options(
            joinedload(poly.author),
            joinedload(poly.LevelOfCareEntry.change),
            joinedload(poly.TeamEntry.change)
            .joinedload(CareTeamChange.member)
            .joinedload(CareTeamMember.provider),
            joinedload(poly.GoalEvent.goal),
            joinedload(poly.GoalProgress.goal),
            selectinload(poly.MedicationChange.acknowledgements).joinedload(MedicationAck.user),
            selectinload(poly.Note.acknowledgements).joinedload(NoteAck.user),
        )
        .order_by(poly.created_at.desc(), poly.id.desc())
        .limit(limit + 1)
    )
    if kinds:
        stmt = stmt.where(poly.kind.in_(bindparam("kinds", expanding=True)))
    if author:
        stmt = stmt.where(poly.author_id == bindparam("author_id"))
    return narrow(
        stmt,
        poly,
        since=bindparam("since") if since else None,
        until=bindparam("until") if until else None,
        cursor=cursor_parameters() if cursor else None,
    )


def narrow(stmt, entity, *, since=None, until=None, cursor: Cursor | None = None):
    """A newest-first entry query narrowed to a time window and to after a cursor."""
    if since is not None:
        stmt = stmt.where(entity.created_at >= since)
    if until is not None:
        stmt = stmt.where(entity.created_at < until)
    if cursor is not None:
        stmt = older_than(stmt, entity.created_at, entity.id, cursor)
    return stmt


def entry_page(rows: list[Entry], limit: int) -> Page[Entry]:
    """A page of entries from a query that fetched one more to see if more follow."""
    return page_of(rows, limit, at=lambda entry: entry.created_at)


def history(entry: Entry, *, viewer: User | None = None) -> list[Entry]:
    """Every version of an entry, oldest first; with `viewer`, those they may see."""
    return history_of(entry.history_root_id, viewer=viewer)


def history_of(root: int, *, viewer: User | None = None) -> list[Entry]:
    """Every version of the entry whose first version is `root`, oldest first; with
    `viewer`, only the versions the access policy lets them see."""
    from careteam.medications.models import MedicationAck

    poly = entries_of_every_kind()
    stmt = (
        select(poly)
        .where(or_(poly.id == root, poly.root_id == root))
        .options(
            joinedload(poly.author),
            selectinload(poly.MedicationChange.acknowledgements).joinedload(MedicationAck.user),
            selectinload(poly.Note.acknowledgements).joinedload(NoteAck.user),
            joinedload(poly.GoalProgress.goal),
        )
        .order_by(poly.created_at, poly.id)
    )
    if viewer is not None:
        stmt = stmt.where(entry_visible_to(viewer, poly))
    with joins_as_written():
        return list(db.session.scalars(stmt).unique())


@dataclass(frozen=True)
class EntryPage:
    """What an entry's page shows: its versions newest first, the current one, the team."""

    versions: list[Entry]
    current: Entry
    team: list[CareTeamMember]


def open_entry(entry: Entry, *, viewer: User, client: Client) -> EntryPage:
    """Open an entry's page: audited as a view, then every version the viewer may see."""
    root_id, client_id = entry.history_root_id, client.id
    audit.record_view(
        action="view_entry", object_type="entry", object_id=entry.id, client_id=client_id
    )
    versions = history_of(root_id, viewer=viewer)
    current = next((v for v in versions if v.is_current), versions[-1])
    return EntryPage(list(reversed(versions)), current, access.active_members(client_id))


def open_amend_form(
    entry: Entry, *, client_id: int, action: str = "view_entry", object_type: str = "entry"
) -> None:
    """An amend form shows the entry's content: audited as a view of it (commits)."""
    audit.record_view(
        action=action, object_type=object_type, object_id=entry.id, client_id=client_id
    )


# The time before any entry: a record never opened shows every entry by others as New.
FIRST_VISIT = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class OpenedTimeline:
    """What opening a client's timeline decided: since when entries are New, who wrote on
    it (the author filter) and the active team."""

    previous_visit: datetime
    authors: list[User]
    team: list[CareTeamMember]


def open_timeline(*, viewer: User, client: Client, move_marker: bool) -> OpenedTimeline:
    """Open a client's timeline: the visit marker, the unread rule and the audit, committed
    before anything the page shows is loaded (a commit expires what the session holds).

    `move_marker`: only the whole first page records a visit. A filtered or older page
    marks New what that first page marked New: entries since the visit before it (so
    their links carry no time and stay the same from one visit to the next).
    """
    client_id = client.id
    previous = mark_visit(viewer, client, move=move_marker)
    audit.record_view(
        action="view_record", object_type="client", object_id=client_id, client_id=client_id
    )
    # Everyone ever on the team, with their accounts, in one statement: the author filter
    # lists them all, the page's team is the active ones.
    members = list(
        db.session.scalars(
            select(CareTeamMember)
            .where(CareTeamMember.client_id == client_id)
            .options(joinedload(CareTeamMember.provider))
            .order_by(CareTeamMember.id)
        )
    )
    authors = {member.provider_id: member.provider for member in members}
    return OpenedTimeline(
        # Never opened: every entry by someone else is new, as the dashboard counts them.
        previous_visit=previous or FIRST_VISIT,
        authors=sorted(authors.values(), key=lambda user: user.display_name),
        team=[member for member in members if member.is_active],
    )


def mark_visit(viewer: User, client: Client, *, move: bool = True) -> datetime | None:
    """Since when entries are New for the viewer (None: since ever).

    `move` records a visit now and answers the previous one. Without it, the answer is
    the visit before the last one: what the last whole first page marked New stays New
    on its filtered and older pages.
    """
    if not move:
        return db.session.scalar(
            select(RecordVisit.previous_seen_at).where(
                RecordVisit.user_id == viewer.id, RecordVisit.client_id == client.id
            )
        )
    # One statement, where there were two (read the visit, then write it), and atomic:
    # two tabs opening the record at once cannot both read the same previous visit and
    # lose one. The update keeps the visit it replaces as previous_seen_at and answers
    # it; a first visit inserts the row and answers NULL.
    table = RecordVisit.__table__
    stmt = dialect_insert(table).values(
        user_id=viewer.id, client_id=client.id, last_seen_at=utcnow()
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.user_id, table.c.client_id],
        set_={
            "previous_seen_at": table.c.last_seen_at,
            "last_seen_at": stmt.excluded.last_seen_at,
        },
    ).returning(table.c.previous_seen_at)
    return db.session.execute(stmt).scalar_one()


def unread(viewer: User, since: ColumnElement) -> ColumnElement[bool]:
    """The unread rule, in SQL: a current entry by someone else, not private, that arrived
    after `since`, the viewer's last visit of the record (never visited: FIRST_VISIT)."""
    return and_(
        Entry.superseded_at.is_(None),
        Entry.created_at > since,
        Entry.author_id != viewer.id,
        Entry.visibility != Visibility.PRIVATE,
    )


def is_unread(entry: Entry, *, viewer: User, previous_visit: datetime) -> bool:
    """The same rule for an entry a page already shows (current, and visible to the viewer)."""
    return entry.created_at > previous_visit and entry.author_id != viewer.id


# Unread counts stop here: "100 new" is shown as "99+", and a record of a million
# entries never opened costs what one of a hundred does.
UNREAD_COUNT_LIMIT = 100


def unread_counts(viewer: User, client_ids: list[int]) -> dict[int, int]:
    """For each client, how many entries by others arrived since the viewer's last visit,
    counted up to UNREAD_COUNT_LIMIT.

    One statement: per client, the entries after the visit (an index range on `entries`
    (client_id, superseded_at, created_at)), at most the limit of them, then counted.
    Counting every unread entry read a never-opened record whole: with a record of
    1,000,000 entries in the caseload, My clients answered 4 requests a second.
    """
    if not client_ids:
        return {}
    parts = []
    for client_id in dict.fromkeys(client_ids):
        seen = (
            select(RecordVisit.last_seen_at)
            .where(RecordVisit.user_id == viewer.id, RecordVisit.client_id == client_id)
            .scalar_subquery()
        )
        since = func.coalesce(seen, literal(FIRST_VISIT, Entry.created_at.type))
        newest = (
            select(Entry.client_id)
            .where(Entry.client_id == client_id, unread(viewer, since))
            .limit(UNREAD_COUNT_LIMIT)
            .subquery()
        )
        parts.append(select(newest.c.client_id))
    counted = union_all(*parts).subquery()
    rows = db.session.execute(
        select(counted.c.client_id, func.count()).group_by(counted.c.client_id)
    )
    return {client_id: count for client_id, count in rows}


KIND_CHOICES = [(kind.value, kind.label) for kind in EntryKind]
