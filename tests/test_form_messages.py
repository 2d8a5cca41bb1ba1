"""Every required field says what to do (issue 13 item 16): no WTForms form of CareTeam
leaves a DataRequired or InputRequired validator with its generic "This field is
required.", which does not say which field or what to enter.

The forms are found by walking every `careteam` module whose name ends in `forms`, so a
new form is checked as soon as it exists.
"""

from __future__ import annotations

import importlib
import pkgutil

from flask_wtf import FlaskForm
from wtforms import Form
from wtforms.fields.core import UnboundField
from wtforms.validators import DataRequired, InputRequired

import careteam

GENERIC = "This field is required."


def _form_modules() -> list[str]:
    names = [
        info.name
        for info in pkgutil.walk_packages(careteam.__path__, prefix="careteam.")
        if info.name.rsplit(".", 1)[-1].endswith("forms")
    ]
    for name in names:
        importlib.import_module(name)
    return names


def _subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found.add(sub)
        found |= _subclasses(sub)
    return found


def _forms() -> list[type]:
    modules = set(_form_modules())
    return sorted(
        (form for form in _subclasses(FlaskForm) if form.__module__ in modules),
        key=lambda form: f"{form.__module__}.{form.__qualname__}",
    )


def _validators(unbound: UnboundField) -> list:
    validators = list(unbound.kwargs.get("validators") or [])
    if len(unbound.args) > 1:  # Field(label, validators)
        validators += list(unbound.args[1] or [])
    return validators


def _fields(form: type, prefix: str = ""):
    """(dotted name, unbound field) of a form class, nested FormFields and FieldLists too."""
    for name in dir(form):
        unbound = getattr(form, name, None)
        if not isinstance(unbound, UnboundField):
            continue
        yield f"{prefix}{name}", unbound
        inner = unbound.kwargs.get("form_class") or (unbound.args[0] if unbound.args else None)
        if isinstance(inner, type) and issubclass(inner, Form):  # FormField(form_class)
            yield from _fields(inner, f"{prefix}{name}.")
        if unbound.args and isinstance(unbound.args[0], UnboundField):  # FieldList(Field)
            yield f"{prefix}{name}[]", unbound.args[0]


def test_the_walk_finds_the_forms():
    names = {form.__name__ for form in _forms()}
    assert len(names) > 20
    assert {"LoginForm", "NoteForm", "ClientForm", "LevelOfCareForm"} <= names


def test_every_required_field_has_its_own_message():
    generic = []
    for form in _forms():
        for name, unbound in _fields(form):
            for validator in _validators(unbound):
                if isinstance(validator, DataRequired | InputRequired) and (
                    validator.message is None or validator.message == GENERIC
                ):
                    generic.append(f"{form.__module__}.{form.__qualname__}.{name}")
    assert not generic, (
        "required fields without a field-specific message (say what to enter, e.g. "
        f'"Enter the note\'s text."): {generic}'
    )
