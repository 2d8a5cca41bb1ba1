"""The one builder of a client record with every kind of entry, and what of it the client
may see.

The tests that sweep the whole record build it here: the authorization tables
(tests/authz_table.py, tests/test_api_authorization.py), the IDOR and injection probes,
what the client sees on pages, in the API and in the FHIR export, the FHIR export itself,
the log-leak scenario and the schemathesis run; `grow` adds more of every kind for the
tests that count queries. A new kind of entry is added once, here: a text in TEXTS (and
in SHARED_SLOTS or NOT_SHARED_SLOTS), a step in `build_world` that records its id in
`World.ids`, and one in `grow`; every table and sweep then meets it.

`build_world()` without arguments is the record of the visibility sweeps; the others
choose a tag (prefixed to every text, name and email, so that two worlds can share a
database and be told apart), emails, extra members, who writes what, and which entries
to leave out when a test counts exactly what a record holds. `make_team` is the same
client and team with no entries, for tests that write their own (through the API).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from careteam.auth.models import User
from careteam.clients import services as clients
from careteam.clients.models import CareTeamMember, Client
from careteam.enums import (
    PRESCRIBER_DISCIPLINES,
    Discipline,
    GoalDirection,
    LevelOfCare,
    MedicationAction,
    NutritionType,
    Role,
    Visibility,
)
from careteam.extensions import db
from careteam.goals.services import GoalFields, check_in, create_goal, update_goal
from careteam.invitations import services as invitations
from careteam.medications.services import acknowledge, record_change
from careteam.nutrition.services import post_update
from careteam.practice.rules import AssignmentFields
from careteam.practice.services import assign_practice, log_practice
from careteam.record.models import Entry
from careteam.record.services import post_note
from tests import factories
from tests.helpers import CSRF_RE

# Every text the record holds, by slot. Distinct enough to be searched for in a response.
TEXTS = {
    "client name": "Alex Client",
    "preferred name": "Lex",
    "private note title": "Formulation-draft-ZX",
    "private note": "Private-process-note-about-nightmares",
    "team note title": "Insurance-appeal-QV",
    "team note": "Team-only-discuss-readmission-criteria",
    "urgent team note": "Urgent-team-safety-concern-WK",
    "shared note": "Shared-bring-your-food-diary",
    "old text of an amended shared note": "Meet-at-three-on-Friday",
    "current text of the amended shared note": "Meet-at-four-on-Friday",
    "note shared then unshared": "Shared-then-withdrawn-JP",
    "shared goal": "Sleep-through-the-night",
    "shared check-in": "Comment-on-shared-goal-AA",
    "unshared goal title": "Reduce-purging-episodes",
    "unshared goal measure": "Purging-episodes-counted",
    "unshared goal description": "Description-hidden-goal-MM",
    "unshared goal check-in": "Comment-on-hidden-goal-RT",
    "goal unshared later": "Goal-withdrawn-from-client-BN",
    "check-in of goal unshared later": "Comment-on-withdrawn-goal-LS",
    "medication": "Olanzapinex",
    "medication reason": "Reason-for-medication-change-HG",
    "second medication": "Hydroxyzinex",
    "stop reason": "Reason-for-stopping-SR",
    "meal plan": "Meal-plan-six-exchanges-DC",
    "supplement": "Supplement-zinc-FF",
    "nutrition note": "Nutrition-note-body-image-YU",
    "blind weight note": "Weighed-blind-in-gown-EE",
    "level of care reason": "Reason-for-step-up-OP",
    "practice": "Box-breathing-SB",
    "practice instructions": "Breathe-in-for-four-IN",
    "practice reflection": "Calmer-after-breathing-RF",
}
# Texts with no default: a title the urgent note has only when a test gives it one.
OPTIONAL_TEXTS = ("urgent team note title",)
# Shown to the client somewhere (a search proves something only if these do show).
SHARED_SLOTS = (
    "shared note",
    "current text of the amended shared note",
    "shared goal",
    "shared check-in",
    "practice",
)
# Written by the team and never shown to the client, on any page, API response or export.
NOT_SHARED_SLOTS = (
    "private note title",
    "private note",
    "team note title",
    "team note",
    "urgent team note",
    "old text of an amended shared note",
    "note shared then unshared",
    "unshared goal title",
    "unshared goal measure",
    "unshared goal description",
    "unshared goal check-in",
    "goal unshared later",
    "check-in of goal unshared later",
    "medication",
    "medication reason",
    "second medication",
    "stop reason",
    "meal plan",
    "supplement",
    "nutrition note",
    "blind weight note",
    "level of care reason",
)
BLIND_WEIGHT = Decimal("47.3")
OPEN_WEIGHT = Decimal("52.85")

# What the client may and may not see of the default world (`build_world()`): a weight
# that is not blind shows in the portal and the client's copies, a blind one never does.
NOT_SHARED = {slot: TEXTS[slot] for slot in NOT_SHARED_SLOTS}
SHARED = {slot: TEXTS[slot] for slot in SHARED_SLOTS} | {"open weight": str(OPEN_WEIGHT)}


def weight_re(weight: Decimal) -> re.Pattern[str]:
    """The weight as a number on its own in any formatting (47.3, 47.30, 47,3), not part
    of a longer number such as 147.3 or 47.35."""
    whole, _, decimals = str(weight).partition(".")
    return re.compile(rf"(?<![\d.,]){whole}[.,]{decimals}0*(?!\d)")


BLIND_RE = weight_re(BLIND_WEIGHT)


def leaks(body: str) -> list[str]:
    """What of the default world's unshared content a response body shows."""
    # CSRF tokens are random text that could spell "47.3" by chance.
    body = CSRF_RE.sub("", body)
    found = [name for name, text in NOT_SHARED.items() if text in body]
    found += [f"blind weight as {m!r}" for m in BLIND_RE.findall(body)]
    return found


# The team: the lead, then members by role. "prescriber" and "dietitian" below name the
# first of them (lead included) of that discipline.
NAMES = {
    "lead": "Dana Okafor",
    "psych": "Dr. Raman",
    "diet": "Noor Haddad",
    "ended": "Casey Leaving",
    "client": "Portal Person",
}
MEMBERS = {"psych": Discipline.PSYCHIATRIST, "diet": Discipline.DIETITIAN}
ENDED = Discipline.CASE_MANAGER
# Who writes each kind of entry (a role, "prescriber" or "dietitian"); `authors` changes it.
AUTHORS = {
    "private": "lead",
    "team_note": "prescriber",
    "urgent_note": "prescriber",
    "shared_note": "lead",
    "amended_note": "lead",
    "withdrawn_note": "lead",
    "goals": "lead",
    "shared_check_in": "prescriber",
    "hidden_check_in": "prescriber",
    "later_check_in": "lead",
    "medications": "prescriber",
    "nutrition": "dietitian",
    "level_change": "lead",
    "assignment": "prescriber",
    "invitation": "lead",
}
# Entries a test that counts exactly what the record holds may leave out.
OPTIONAL = (
    "team_note",
    "withdrawn_note",
    "hidden_check_in",
    "later_goal",
    "supplement",
    "nutrition_note",
)
SHARED_CHECK_IN = date(2026, 1, 12)


@dataclass
class World:
    """What `build_world` made: the record, its people by role ("lead", each member,
    "ended", "client"), their membership rows, and the ids of everything written."""

    record: Client
    people: dict[str, User]
    rows: dict[str, CareTeamMember]
    ids: dict[str, int] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    blind_weight: Decimal = BLIND_WEIGHT
    open_weight: Decimal = OPEN_WEIGHT

    @property
    def lead(self) -> User:
        return self.people["lead"]

    @property
    def own(self) -> User:
        """The client's own (portal) account."""
        return self.people["client"]

    def entry_ids(self) -> list[int]:
        """Every entry of the record (team changes, goal events, old versions too)."""
        return list(
            db.session.scalars(
                select(Entry.id).where(Entry.client_id == self.record.id).order_by(Entry.id)
            )
        )


def goal_fields(owner: User, title: str, *, shared: bool, **extra) -> GoalFields:
    """The world's kind of goal: 2 -> 5 nights a week of 7 hours' sleep, due in 2099."""
    values = {
        "title": title,
        "measure": "Nights with 7 hours of sleep",
        "unit": "nights a week",
        "baseline": Decimal(2),
        "target": Decimal(5),
        "direction": GoalDirection.UP,
        "target_date": date(2099, 1, 1),
        "shared_with_client": shared,
        **extra,
    }
    return factories.goal_fields(owner.id, **values)


def _texts(tag: str, texts: Mapping[str, str] | None) -> dict[str, str]:
    """The world's texts: TEXTS with the tag prefixed, then `texts` as given."""
    unknown = set(texts or {}) - set(TEXTS) - set(OPTIONAL_TEXTS)
    assert not unknown, f"no such texts: {unknown}"
    prefix = f"{tag}-" if tag else ""
    words = {slot: prefix + text for slot, text in TEXTS.items()}
    words["client name"] = f"{tag} {TEXTS['client name']}".strip()
    return words | dict(texts or {})


def _email(tag: str, role: str, emails: Mapping[str, str] | None) -> str:
    return (emails or {}).get(role) or f"{tag.lower()}{'-' if tag else ''}{role}@example.com"


def make_team(
    *,
    tag: str = "",
    lead: Discipline = Discipline.THERAPIST,
    members: Mapping[str, Discipline] | None = None,
    emails: Mapping[str, str] | None = None,
    texts: Mapping[str, str] | None = None,
) -> World:
    """The world's client and team, with no entries yet: a lead (`lead`'s discipline,
    credentials and a shared email), a psychiatrist and a dietitian (and `members`, role ->
    discipline), a case manager whose membership ended, and the client's portal account.
    Emails default to "<tag->role@example.com"."""
    words = _texts(tag, texts)

    def person(role: str, discipline: Discipline) -> User:
        name = f"{tag} {NAMES.get(role, role.capitalize())}".strip()
        return factories.make_provider(discipline, email=_email(tag, role, emails), name=name)

    people = {"lead": person("lead", lead)}
    people["lead"].credentials, people["lead"].share_email = "LCSW", True
    people["lead"].phone = "+1 555 0100"  # not shared
    team = {**MEMBERS, **(members or {})}
    for role, discipline in team.items():
        people[role] = person(role, discipline)
    people["ended"] = person("ended", ENDED)
    people["client"] = factories.make_user(
        Role.CLIENT,
        email=_email(tag, "client", emails),
        name=f"{tag} {NAMES['client']}".strip(),
    )

    record = factories.make_client(people["lead"], name=words["client name"])
    record.preferred_name = words["preferred name"]
    record.date_of_birth = date(2001, 4, 9)
    db.session.commit()
    rows = {
        role: factories.add_member(record, people[role], people["lead"])
        for role in [*team, "ended"]
    }
    clients.end_member(actor=people["lead"], client=record, member_id=rows["ended"].id)
    clients.link_portal_account(actor=people["lead"], client=record, email=people["client"].email)
    return World(record=record, people=people, rows=rows, texts=words)


def build_world(
    *,
    tag: str = "",
    lead: Discipline = Discipline.THERAPIST,
    members: Mapping[str, Discipline] | None = None,
    emails: Mapping[str, str] | None = None,
    texts: Mapping[str, str] | None = None,
    authors: Mapping[str, str] | None = None,
    leave_out: Collection[str] = (),
    blind_weight: Decimal = BLIND_WEIGHT,
    open_weight: Decimal = OPEN_WEIGHT,
) -> World:
    """A client record with every kind of entry, written through the app's services.

    The team is `make_team`'s. The record: private, team, urgent and shared notes, a
    shared note amended and one shared then withdrawn; a shared goal and an unshared one
    with check-ins, and a goal unshared after a check-in; a medication started then its
    dose changed, another started then stopped; a blind and an open weight, a meal plan, a
    supplement and a nutrition note; a change of level of care; a practice assignment the
    client logged; a pending invitation to the team. `authors` changes who writes what
    (AUTHORS), `leave_out` drops entries of OPTIONAL.
    """
    unknown = set(leave_out) - set(OPTIONAL)
    assert not unknown, f"cannot leave out {unknown}: one of {OPTIONAL}"
    world = make_team(tag=tag, lead=lead, members=members, emails=emails, texts=texts)
    world.blind_weight, world.open_weight = blind_weight, open_weight
    record, people, words = world.record, world.people, world.texts
    team = [role for role in people if role not in ("ended", "client")]
    roles = {
        "prescriber": next(r for r in team if people[r].discipline in PRESCRIBER_DISCIPLINES),
        "dietitian": next(r for r in team if people[r].discipline == Discipline.DIETITIAN),
    }
    who = {**AUTHORS, **(authors or {})}

    def by(kind: str) -> User:
        return people[roles.get(who[kind], who[kind])]

    ids = world.ids
    today = date.today()

    # Notes of every visibility; an amended shared note; a shared note withdrawn.
    ids["private"] = post_note(
        actor=by("private"),
        client=record,
        title=words["private note title"],
        body=words["private note"],
        visibility=Visibility.PRIVATE,
    ).id
    if "team_note" not in leave_out:
        ids["team_note"] = post_note(
            actor=by("team_note"),
            client=record,
            title=words["team note title"],
            body=words["team note"],
            visibility=Visibility.TEAM,
        ).id
    ids["urgent_note"] = post_note(
        actor=by("urgent_note"),
        client=record,
        title=words.get("urgent team note title", ""),
        body=words["urgent team note"],
        visibility=Visibility.TEAM,
        urgent=True,
    ).id
    ids["shared_note"] = post_note(
        actor=by("shared_note"),
        client=record,
        body=words["shared note"],
        visibility=Visibility.CLIENT,
    ).id
    old = post_note(
        actor=by("amended_note"),
        client=record,
        body=words["old text of an amended shared note"],
        visibility=Visibility.CLIENT,
    )
    ids["old_note"] = old.id
    ids["amended_note"] = post_note(
        actor=by("amended_note"),
        client=record,
        body=words["current text of the amended shared note"],
        visibility=Visibility.CLIENT,
        amends=old,
    ).id
    if "withdrawn_note" not in leave_out:
        withdrawn = post_note(
            actor=by("withdrawn_note"),
            client=record,
            body=words["note shared then unshared"],
            visibility=Visibility.CLIENT,
        )
        ids["withdrawn_note"] = post_note(
            actor=by("withdrawn_note"),
            client=record,
            body=words["note shared then unshared"],
            visibility=Visibility.TEAM,
            amends=withdrawn,
        ).id

    # Goals: shared, unshared, and one unshared after a check-in the client saw.
    owner = by("goals")
    shared = create_goal(
        actor=owner, client=record, fields=goal_fields(owner, words["shared goal"], shared=True)
    )
    ids["shared_goal"] = shared.id
    ids["shared_check_in"] = check_in(
        actor=by("shared_check_in"),
        client=record,
        goal=shared,
        measured_on=SHARED_CHECK_IN,
        value=Decimal("3.5"),
        comment=words["shared check-in"],
    ).id
    hidden = create_goal(
        actor=owner,
        client=record,
        fields=goal_fields(
            owner,
            words["unshared goal title"],
            shared=False,
            measure=words["unshared goal measure"],
            description=words["unshared goal description"],
        ),
    )
    ids["hidden_goal"] = hidden.id
    if "hidden_check_in" not in leave_out:
        ids["hidden_check_in"] = check_in(
            actor=by("hidden_check_in"),
            client=record,
            goal=hidden,
            measured_on=SHARED_CHECK_IN,
            value=Decimal(4),
            comment=words["unshared goal check-in"],
        ).id
    if "later_goal" not in leave_out:
        later = create_goal(
            actor=owner,
            client=record,
            fields=goal_fields(owner, words["goal unshared later"], shared=True),
        )
        ids["later_check_in"] = check_in(
            actor=by("later_check_in"),
            client=record,
            goal=later,
            measured_on=SHARED_CHECK_IN + timedelta(days=1),
            value=Decimal(4),
            comment=words["check-in of goal unshared later"],
        ).id
        update_goal(
            actor=owner,
            client=record,
            goal=later,
            fields=goal_fields(owner, words["goal unshared later"], shared=False),
            expected_version=later.version,
        )
        ids["later_goal"] = later.id

    # Medications: one started, then its dose changed; another started, then stopped.
    start = today - timedelta(days=30)
    med = {"actor": by("medications"), "client": record}
    dosed = {**med, "unit": "mg", "route": "oral", "frequency": "daily"}
    ids["medication"] = record_change(
        medication=words["medication"],
        action=MedicationAction.STARTED,
        effective_date=start,
        dose=Decimal(50),
        **dosed,
    ).id
    ids["dose_change"] = record_change(
        medication=words["medication"],
        action=MedicationAction.DOSE_CHANGED,
        effective_date=start + timedelta(days=14),
        dose=Decimal(100),
        reason=words["medication reason"],
        **dosed,
    ).id
    ids["second_medication"] = record_change(
        medication=words["second medication"],
        action=MedicationAction.STARTED,
        effective_date=start,
        dose=Decimal(25),
        **dosed,
    ).id
    ids["stopped_medication"] = record_change(
        medication=words["second medication"],
        action=MedicationAction.STOPPED,
        effective_date=start + timedelta(days=7),
        reason=words["stop reason"],
        **med,
    ).id

    # Nutrition: a blind and an open weight, a meal plan, a supplement, a note.
    diet = {"actor": by("nutrition"), "client": record}
    weigh = {**diet, "update_type": NutritionType.WEIGHT}
    ids["blind_weight"] = post_update(
        weight_kg=blind_weight,
        blind=True,
        measured_on=today,
        text=words["blind weight note"],
        **weigh,
    ).id
    ids["open_weight"] = post_update(
        weight_kg=open_weight, measured_on=today - timedelta(days=7), **weigh
    ).id
    ids["meal_plan"] = post_update(
        update_type=NutritionType.MEAL_PLAN, text=words["meal plan"], **diet
    ).id
    if "supplement" not in leave_out:
        ids["supplement"] = post_update(
            update_type=NutritionType.SUPPLEMENT, text=words["supplement"], **diet
        ).id
    if "nutrition_note" not in leave_out:
        ids["nutrition_note"] = post_update(
            update_type=NutritionType.NOTE, text=words["nutrition note"], **diet
        ).id

    clients.change_level_of_care(
        actor=by("level_change"),
        client=record,
        level=LevelOfCare.INTENSIVE_OUTPATIENT,
        effective_date=today,
        reason=words["level of care reason"],
    )

    # Practice the client was given three days ago, and logged today.
    assignment = assign_practice(
        actor=by("assignment"),
        client=record,
        fields=AssignmentFields(
            skill=words["practice"],
            instructions=words["practice instructions"],
            target_count=1,
            period="day",
            starts_on=today - timedelta(days=3),
        ),
    )
    ids["assignment"] = assignment.id
    ids["practice_log"] = log_practice(
        actor=people["client"],
        client=record,
        assignment=assignment,
        practised_on=today,
        reflection=words["practice reflection"],
    ).id

    ids["invitation"] = invitations.invite_to_team(
        actor=by("invitation"),
        client=record,
        email=_email(tag, "invitee", emails),
        discipline=Discipline.OTHER,
    ).id
    return world


def grow(world: World, times: int, tag: str = "") -> None:
    """More of every kind, `times` over, for tests that count a page's queries at two
    sizes of record: a member joins; a shared note and its amendment, an urgent note; a
    shared goal and a check-in; a medication started and acknowledged; a blind weight, a
    meal plan, a supplement and a nutrition note; practice and its log; a level change."""
    record, lead, people = world.record, world.lead, world.people
    psych, diet = people["psych"], people["diet"]
    today = date.today()
    levels = [LevelOfCare.PARTIAL_HOSPITALIZATION, LevelOfCare.INTENSIVE_OUTPATIENT]
    for n in range(times):
        factories.add_member(record, factories.make_provider(Discipline.NURSE_PRACTITIONER), lead)
        note = post_note(
            actor=psych, client=record, body=f"More {tag}{n}", visibility=Visibility.CLIENT
        )
        post_note(
            actor=psych,
            client=record,
            body=f"More {tag}{n}, corrected",
            visibility=Visibility.CLIENT,
            amends=note,
        )
        post_note(actor=psych, client=record, body=f"Urgent {tag}{n}", urgent=True)
        goal = create_goal(
            actor=lead, client=record, fields=goal_fields(lead, f"Goal {tag}{n}", shared=True)
        )
        check_in(
            actor=lead, client=record, goal=goal, measured_on=SHARED_CHECK_IN, value=Decimal(n)
        )
        change = record_change(
            actor=psych,
            client=record,
            medication=f"Drug {tag}{n}",
            action=MedicationAction.STARTED,
            effective_date=today,
            dose=Decimal(1),
            unit="mg",
            route="oral",
            frequency="daily",
        )
        acknowledge(actor=lead, client=record, entry_id=change.id)
        diet_entry = {"actor": diet, "client": record}
        post_update(
            update_type=NutritionType.WEIGHT,
            weight_kg=Decimal(60 + n),
            measured_on=today,
            blind=n % 2 == 0,
            **diet_entry,
        )
        post_update(update_type=NutritionType.MEAL_PLAN, text=f"Plan {tag}{n}", **diet_entry)
        post_update(update_type=NutritionType.SUPPLEMENT, text=f"Zinc {tag}{n}", **diet_entry)
        post_update(update_type=NutritionType.NOTE, text=f"Note {tag}{n}", **diet_entry)
        assignment = assign_practice(
            actor=lead,
            client=record,
            fields=AssignmentFields(
                skill=f"Skill {tag}{n}", target_count=1, period="day", starts_on=today
            ),
        )
        log_practice(actor=world.own, client=record, assignment=assignment, practised_on=today)
        current = LevelOfCare(db.session.get(Client, record.id).level_of_care)
        clients.change_level_of_care(
            actor=lead,
            client=record,
            level=levels[(levels.index(current) + 1) % 2] if current in levels else levels[0],
            effective_date=today,
            reason=f"Reason {tag}{n}",
        )
