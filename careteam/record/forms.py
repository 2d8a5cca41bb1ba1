"""Forms of the shared record: notes and the timeline's filters."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from careteam.enums import EntryKind, Visibility, choices
from careteam.record.rules import NOTE_BODY_MAX, NOTE_TITLE_MAX


class NoteForm(FlaskForm):
    title = StringField("Title", validators=[Optional(), Length(max=NOTE_TITLE_MAX)])
    body = TextAreaField(
        "Note",
        validators=[DataRequired(message="Write the note."), Length(max=NOTE_BODY_MAX)],
        description="Markdown: **bold**, *italic*, lists, links.",
    )
    visibility = RadioField(
        "Who can read it",
        choices=choices(Visibility),
        default=Visibility.TEAM,
        validators=[DataRequired(message="Choose who can read the note.")],
    )
    urgent = BooleanField("Urgent: the team needs to see this now")


class TimelineFilterForm(FlaskForm):
    class Meta:
        csrf = False

    kind = SelectMultipleField("Kind", choices=choices(EntryKind), validators=[Optional()])
    author = SelectField("Author", coerce=str, validators=[Optional()])


class SeenForm(FlaskForm):
    """An empty form: the "Seen" button of an urgent note, carrying the CSRF token."""
