"""What makes an assignment or a log acceptable; shared by the forms and the use cases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from careteam.enums import PracticePeriod
from careteam.errors import UserFacingError
from careteam.practice.models import MAX_TARGET, PracticeAssignment
from careteam.timefmt import format_date

SKILL_LIMIT = 120
INSTRUCTIONS_LIMIT = 5000
REFLECTION_LIMIT = 1000
ENDED_MESSAGE = (
    "This practice assignment has ended, so it takes no new logs. "
    "If you want to keep practising it, ask your care team to assign it again."
)


@dataclass(frozen=True)
class AssignmentFields:
    """What a provider sets on an assignment, parsed from a form (None where unparsed)."""

    skill: str
    target_count: int | None
    period: str | None
    starts_on: date | None
    ends_on: date | None = None
    instructions: str = ""


def assignment_problems(fields: AssignmentFields) -> list[UserFacingError]:
    """Every reason these values cannot make an assignment, each for its field."""
    problems = []
    skill = (fields.skill or "").strip()
    if not skill:
        problems.append(UserFacingError("Name the skill to practise.", "skill"))
    elif len(skill) > SKILL_LIMIT:
        problems.append(UserFacingError(f"Use at most {SKILL_LIMIT} characters.", "skill"))
    if len(fields.instructions or "") > INSTRUCTIONS_LIMIT:
        problems.append(
            UserFacingError(f"Use at most {INSTRUCTIONS_LIMIT} characters.", "instructions")
        )
    period = fields.period if fields.period in set(PracticePeriod) else None
    if period is None:
        problems.append(UserFacingError("Choose per day or per week.", "period"))
    if fields.target_count is None:
        problems.append(UserFacingError("Enter how many times.", "target_count"))
    elif period is not None and not 1 <= fields.target_count <= MAX_TARGET[period]:
        problems.append(
            UserFacingError(
                f"Enter a number from 1 to {MAX_TARGET[period]} {PracticePeriod(period).label}.",
                "target_count",
            )
        )
    if fields.starts_on is None:
        problems.append(UserFacingError("Enter the date the practice starts.", "starts_on"))
    elif fields.ends_on is not None and fields.ends_on < fields.starts_on:
        problems.append(
            UserFacingError("The end date must be on or after the start date.", "ends_on")
        )
    return problems


def log_problems(
    assignment: PracticeAssignment,
    *,
    practised_on: date | None,
    rating: int | None,
    reflection: str,
    today: date,
) -> list[UserFacingError]:
    """Every reason a log of this assignment cannot be taken, each for its field."""
    if not assignment.is_active:
        return [UserFacingError(ENDED_MESSAGE)]
    problems = []
    if practised_on is None:
        problems.append(UserFacingError("Enter the day you practised.", "practised_on"))
    elif practised_on > today:
        problems.append(
            UserFacingError(
                "That date is in the future. Enter the day you practised.", "practised_on"
            )
        )
    elif practised_on < assignment.starts_on:
        problems.append(
            UserFacingError(
                f"This practice starts on {format_date(assignment.starts_on)}. "
                "Enter a day from then on.",
                "practised_on",
            )
        )
    elif assignment.ends_on is not None and practised_on > assignment.ends_on:
        problems.append(
            UserFacingError(
                f"This practice ran until {format_date(assignment.ends_on)}. "
                "Enter a day up to then.",
                "practised_on",
            )
        )
    if rating is not None and not 1 <= rating <= 5:
        problems.append(UserFacingError("Choose a rating from 1 to 5, or none.", "rating"))
    if len(reflection or "") > REFLECTION_LIMIT:
        problems.append(
            UserFacingError(
                f"Keep the reflection to {REFLECTION_LIMIT} characters or fewer.", "reflection"
            )
        )
    return problems
