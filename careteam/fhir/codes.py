"""The code systems and codes the FHIR export writes, in one place."""

from __future__ import annotations

from careteam.enums import Discipline, GoalAchievement, GoalStatus

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
NUCC = "http://nucc.org/provider-taxonomy"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
GOAL_ACHIEVEMENT = "http://terminology.hl7.org/CodeSystem/goal-achievement"
# CareTeam's own tags. A product-wide code system, so a fixed URN rather than one
# installation's address.
CARETEAM_TAGS = "urn:careteam:fhir:tag"

# CareTeam.category: LOINC answer LA28865-6 from the care-team category list.
CARE_TEAM_CATEGORY = {
    "system": LOINC,
    "code": "LA28865-6",
    "display": "Longitudinal care-coordination focused care team",
}
BODY_WEIGHT = {"system": LOINC, "code": "29463-7", "display": "Body weight"}
VITAL_SIGNS = {"system": OBSERVATION_CATEGORY, "code": "vital-signs", "display": "Vital Signs"}
BLIND_WEIGHT_TAG = {
    "system": CARETEAM_TAGS,
    "code": "blind-weight",
    "display": "Blind weight: never shown to the client",
}

# Each discipline's NUCC Health Care Provider Taxonomy code (the US Core provider-role
# code system). CareTeam's "therapist" covers counsellors, clinical social workers and
# psychologists; the nearest single code for a behavioural-health therapist is
# "Counselor, Mental Health", and the role's text keeps our own word. "Other" has no code.
NUCC_BY_DISCIPLINE: dict[Discipline, tuple[str, str]] = {
    Discipline.THERAPIST: ("101YM0800X", "Counselor, Mental Health"),
    Discipline.PSYCHIATRIST: ("2084P0800X", "Psychiatry & Neurology, Psychiatry"),
    Discipline.DIETITIAN: ("133V00000X", "Dietitian, Registered"),
    Discipline.PRIMARY_CARE: ("208D00000X", "General Practice"),
    Discipline.NURSE_PRACTITIONER: ("363L00000X", "Nurse Practitioner"),
    Discipline.CASE_MANAGER: ("171M00000X", "Case Manager/Care Coordinator"),
}

# Goal.lifecycleStatus (http://hl7.org/fhir/goal-status, required binding).
GOAL_LIFECYCLE = {
    GoalStatus.PROPOSED: "proposed",
    GoalStatus.ACTIVE: "active",
    GoalStatus.ON_HOLD: "on-hold",
    GoalStatus.COMPLETED: "completed",
    GoalStatus.CANCELLED: "cancelled",
}
# Goal.achievementStatus codes and their displays in the goal-achievement code system.
GOAL_ACHIEVEMENT_CODES = {
    GoalAchievement.IN_PROGRESS: ("in-progress", "In Progress"),
    GoalAchievement.IMPROVING: ("improving", "Improving"),
    GoalAchievement.WORSENING: ("worsening", "Worsening"),
    GoalAchievement.NO_CHANGE: ("no-change", "No Change"),
    GoalAchievement.ACHIEVED: ("achieved", "Achieved"),
}


def role(discipline: str) -> dict:
    """A CodeableConcept for a discipline: the NUCC coding where one fits, our label as text."""
    found = Discipline(discipline)
    if found not in NUCC_BY_DISCIPLINE:
        return {"text": found.label}
    code, display = NUCC_BY_DISCIPLINE[found]
    return {"coding": [{"system": NUCC, "code": code, "display": display}], "text": found.label}


def achievement(value: str) -> dict:
    code, display = GOAL_ACHIEVEMENT_CODES[GoalAchievement(value)]
    return {"coding": [{"system": GOAL_ACHIEVEMENT, "code": code, "display": display}]}
