"""Admins manage accounts; they see no clinical content."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from careteam.auth.models import User
from careteam.enums import Role
from careteam.extensions import db
from tests.factories import make_client, make_provider, make_user


@pytest.fixture
def admin_logged_in(app, auth):
    admin = make_user(Role.ADMIN)
    auth.login(admin.email)
    return admin


def test_admin_creates_a_provider(app, client, auth, admin_logged_in):
    response = auth.post(
        "/admin/users/new",
        {
            "role": "provider",
            "email": "New.Person@Example.com",
            "display_name": "New Person",
            "discipline": "dietitian",
            "credentials": "RD",
            "password": "a long enough password",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/users"
    user = db.session.scalar(select(User).where(User.email == "new.person@example.com"))
    assert user.role == "provider" and user.discipline == "dietitian"
    auth.logout()
    redirected = auth.login("new.person@example.com", "a long enough password")
    assert redirected.status_code == 302
    assert redirected.headers["Location"] == "/clients/"


def test_admin_creates_a_client_account(app, client, auth, admin_logged_in):
    response = auth.post(
        "/admin/users/new",
        {
            "role": "client",
            "email": "client.person@example.com",
            "display_name": "Client Person",
            "password": "another long password",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/users"
    user = db.session.scalar(select(User).where(User.email == "client.person@example.com"))
    assert user.role == "client" and user.discipline is None


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"role": "provider", "discipline": ""}, "Choose the provider&#39;s discipline."),
        ({"role": "client", "discipline": "therapist"}, "Only providers have a discipline."),
        ({"password": "short"}, "Field must be between 12 and 128 characters long."),
        ({"email": "existing"}, "An account with this email address already exists."),
        ({"email": "not an email"}, "Enter an email address."),
    ],
)
def test_new_user_validation(app, client, auth, admin_logged_in, form, message):
    existing = make_provider()
    data = {
        "role": "provider",
        "email": "someone@example.com",
        "display_name": "Someone",
        "discipline": "therapist",
        "password": "a long enough password",
        **form,
    }
    if data["email"] == "existing":
        data["email"] = existing.email
    response = auth.post("/admin/users/new", data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.email == "someone@example.com")) is None


def test_deactivate_and_reactivate(app, client, auth, admin_logged_in):
    user = make_provider()
    response = auth.post(f"/admin/users/{user.id}/deactivate", {"confirm": "yes"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/users"
    db.session.refresh(user)
    assert not user.active and user.deactivated_at is not None
    response = auth.post(f"/admin/users/{user.id}/reactivate")
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/users"
    db.session.refresh(user)
    assert user.active and user.deactivated_at is None


def test_admin_cannot_deactivate_themself(app, client, auth, admin_logged_in):
    response = auth.post(
        f"/admin/users/{admin_logged_in.id}/deactivate",
        {"confirm": "yes"},
        follow_redirects=True,
    )
    assert "You cannot deactivate your own account." in response.get_data(as_text=True)
    db.session.refresh(admin_logged_in)
    assert admin_logged_in.active


def test_unknown_user_is_404(app, client, auth, admin_logged_in):
    assert auth.post("/admin/users/999999/deactivate").status_code == 404
    assert auth.post("/admin/users/999999/deactivate", {"confirm": "yes"}).status_code == 404


def test_users_list_filters_and_shows_no_clinical_content(app, client, auth, admin_logged_in):
    lead = make_provider(name="Filter Me")
    make_client(lead, name="Private Clientname")
    page = client.get("/admin/users?role=provider&q=filter").get_data(as_text=True)
    assert "Filter Me" in page
    assert "Private Clientname" not in page
    audit = client.get("/admin/audit").get_data(as_text=True)
    assert "Private Clientname" not in audit
