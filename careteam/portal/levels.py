"""Each level of care explained to the client in plain words."""

from __future__ import annotations

from dataclasses import dataclass

from careteam.enums import LevelOfCare

EXPLANATIONS = {
    LevelOfCare.OUTPATIENT_WEEKLY: (
        "You live at home and meet with your care team about once a week. "
        "Weekly sessions give you steady support while you try things out in daily life."
    ),
    LevelOfCare.OUTPATIENT_BIWEEKLY: (
        "You live at home and meet with your care team about every two weeks. "
        "There is more time between sessions to use what you have learned on your own."
    ),
    LevelOfCare.OUTPATIENT_AS_NEEDED: (
        "You live at home and meet with your care team when you need to, not on a fixed "
        "schedule. You can reach out whenever you would like support or a check-in."
    ),
    LevelOfCare.INTENSIVE_OUTPATIENT: (
        "You take part in treatment for a few hours on several days each week and go home "
        "in between. It gives more support than weekly sessions while you keep up with home, "
        "school or work."
    ),
    LevelOfCare.PARTIAL_HOSPITALIZATION: (
        "You spend most of the day in a treatment program, usually five days a week, and "
        "sleep at home. It gives you close support every day without staying overnight."
    ),
    LevelOfCare.RESIDENTIAL: (
        "You live at a treatment center for a while, with staff there day and night. "
        "It gives you a calm, supported place to focus on getting better."
    ),
    LevelOfCare.INPATIENT: (
        "You stay in a hospital, where staff look after your health and safety around the "
        "clock. It is the most support care can offer, usually for a short time until it is "
        "safe to move to a lighter level."
    ),
}


@dataclass(frozen=True)
class LevelExplained:
    value: str
    label: str
    text: str
    current: bool


def explain(level: str) -> str:
    """What a level of care means, in one or two plain sentences."""
    return EXPLANATIONS[LevelOfCare(level)]


def all_levels(current: str) -> list[LevelExplained]:
    """Every level with its explanation, from the least to the most intensive."""
    return [
        LevelExplained(level.value, level.label, EXPLANATIONS[level], level == current)
        for level in LevelOfCare
    ]
