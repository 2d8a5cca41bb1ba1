"""Two-factor authentication: enrolment with a QR code, the second login step, replay
and lockout, recovery codes, the policy for each role, and what never reaches logs."""

from __future__ import annotations

import hashlib
import logging
import re
import time

import pyotp
import pytest
from sqlalchemy import select

from careteam import create_app
from careteam.audit import AuditEvent
from careteam.auth import two_factor
from careteam.auth.models import User, UserSession
from careteam.auth.two_factor_models import RecoveryCode, TwoFactorCredential
from careteam.enums import AuditOutcome, Role
from careteam.extensions import db
from tests.factories import PASSWORD, TOTP_SECRET, make_provider, make_user
from tests.helpers import csrf_from

CODE_RE = re.compile(r"<code>([0-9A-Z]{4}(?:-[0-9A-Z]{4}){3})</code>")


def code_for(secret: str, steps_ahead: int = 0) -> str:
    totp = pyotp.TOTP(secret)
    return totp.at(int(time.time()) + 30 * steps_ahead)


def password_step(client, email: str, next_path: str = ""):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    return client.post(
        f"/login{next_path}", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )


def code_step(client, code: str):
    page = client.get("/login/two-factor")
    assert page.status_code == 200
    token = csrf_from(page.get_data(as_text=True))
    return client.post("/login/two-factor", data={"code": code, "csrf_token": token})


def audit_rows(action: str, outcome: AuditOutcome | None = None) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.action == action)
    if outcome is not None:
        query = query.where(AuditEvent.outcome == outcome)
    return list(db.session.scalars(query.order_by(AuditEvent.id)))


def secret_on(page: str) -> str:
    match = re.search(r'class="secret-key"><code>([A-Z2-7]+)</code>', page)
    assert match, "no secret for manual entry on the page"
    return match.group(1)


def enrol_through_pages(client, auth) -> tuple[str, list[str]]:
    """Enrol the logged-in user through the settings page; the secret and recovery codes."""
    page = client.get("/settings/two-factor").get_data(as_text=True)
    secret = secret_on(page)
    response = client.post(
        "/settings/two-factor", data={"code": code_for(secret), "csrf_token": csrf_from(page)}
    )
    assert response.status_code == 200
    codes = CODE_RE.findall(response.get_data(as_text=True))
    assert len(codes) == 10
    return secret, codes


def test_enrolment_shows_a_qr_code_and_the_secret_then_confirms_with_a_code(app, client, auth):
    user = make_user(Role.CLIENT)  # clients choose; they start without two-factor
    auth.login(user.email)
    response = client.get("/settings/two-factor")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    assert "<svg" in html and "style=" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline script on the page"
    secret = secret_on(html)
    assert len(secret) == 32
    # Reloading shows the same pending secret, so a scan already made stays valid.
    assert secret_on(client.get("/settings/two-factor").get_data(as_text=True)) == secret

    # The secret is stored encrypted: not in the row, and not readable under another key.
    row = db.session.get(TwoFactorCredential, user.id)
    assert row.confirmed_at is None and secret not in row.secret_encrypted
    key = app.config["SECRET_KEY"]
    app.config["SECRET_KEY"] = "another-key-entirely"
    try:
        with pytest.raises(RuntimeError):
            two_factor._decrypt(row.secret_encrypted)
    finally:
        app.config["SECRET_KEY"] = key

    wrong = client.post(
        "/settings/two-factor", data={"code": "000000", "csrf_token": csrf_from(html)}
    )
    assert wrong.status_code == 400
    assert "That code is not right" in wrong.get_data(as_text=True)
    assert db.session.get(TwoFactorCredential, user.id).confirmed_at is None
    assert audit_rows("enable_two_factor", AuditOutcome.DENIED)

    done = client.post(
        "/settings/two-factor", data={"code": code_for(secret), "csrf_token": csrf_from(html)}
    )
    assert done.status_code == 200 and done.headers["Cache-Control"] == "no-store"
    page = done.get_data(as_text=True)
    codes = CODE_RE.findall(page)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert "Two-factor authentication is on." in page
    assert 'download="careteam-recovery-codes.txt"' in page
    assert db.session.get(TwoFactorCredential, user.id).confirmed_at is not None
    stored = set(db.session.scalars(select(RecoveryCode.code_hash)))
    assert stored == {hashlib.sha256(c.replace("-", "").encode()).hexdigest() for c in codes}
    assert [r.outcome for r in audit_rows("enable_two_factor")][-1] == AuditOutcome.ALLOWED
    # The settings page now shows the status, never the secret or the codes again.
    status = client.get("/settings/two-factor").get_data(as_text=True)
    assert "Two-factor authentication is on" in status and "10</strong> unused" in status
    assert secret not in status and codes[0] not in status


def test_login_needs_the_code_and_starts_a_fresh_session_after_it(app, client):
    provider = make_provider()
    response = password_step(client, provider.email, "?next=/settings/profile")
    assert response.headers["Location"] == "/login/two-factor"
    pending_cookie = client.get_cookie("careteam_session", domain="careteam.test").value
    # A correct password alone opens nothing, and no server-side session exists yet.
    assert client.get("/clients/").headers["Location"].startswith("/login")
    assert db.session.scalar(select(UserSession)) is None

    wrong = code_step(client, "123456" if code_for(TOTP_SECRET) != "123456" else "654321")
    assert wrong.status_code == 200
    assert "That code is not right" in wrong.get_data(as_text=True)
    denied = audit_rows("two_factor_login", AuditOutcome.DENIED)
    assert [e.actor_id for e in denied] == [provider.id]

    ok = code_step(client, code_for(TOTP_SECRET))
    assert ok.status_code == 302 and ok.headers["Location"] == "/settings/profile"
    assert client.get("/clients/").status_code == 200
    after = client.get_cookie("careteam_session", domain="careteam.test").value
    assert after != pending_cookie
    assert audit_rows("two_factor_login", AuditOutcome.ALLOWED)
    assert [e.actor_id for e in audit_rows("login") if e.outcome == AuditOutcome.ALLOWED][-1] == (
        provider.id
    )


def test_the_same_code_is_refused_the_second_time(app, client, auth):
    provider = make_provider()
    code = code_for(TOTP_SECRET)
    password_step(client, provider.email)
    response = code_step(client, code)
    assert response.status_code == 302
    assert response.headers["Location"] == "/clients/"
    auth.logout()
    password_step(client, provider.email)
    again = code_step(client, code)
    assert again.status_code == 200
    assert "already used" in again.get_data(as_text=True)
    response = client.get("/clients/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Fclients%2F"
    assert audit_rows("two_factor_login", AuditOutcome.DENIED)[-1].detail == "code already used"
    # The next time step's code (within the one-step window) is accepted.
    response = code_step(client, code_for(TOTP_SECRET, steps_ahead=1))
    assert response.status_code == 302
    assert response.headers["Location"] == "/clients/"


def test_a_recovery_code_logs_in_once(app, client, auth):
    user = make_user(Role.CLIENT)
    auth.login(user.email)
    _, codes = enrol_through_pages(client, auth)
    auth.logout()

    password_step(client, user.email)
    # Typed in lower case without dashes: still the code.
    ok = code_step(client, codes[3].replace("-", "").lower())
    assert ok.status_code == 302 and ok.headers["Location"] == "/portal/"
    assert "9 left" in client.get("/portal/").get_data(as_text=True)
    assert audit_rows("two_factor_login")[-1].detail == "recovery code, 9 left"
    auth.logout()

    password_step(client, user.email)
    again = code_step(client, codes[3])
    assert again.status_code == 200 and "That code is not right" in again.get_data(as_text=True)
    response = code_step(client, codes[4])
    assert response.status_code == 302
    assert response.headers["Location"] == "/portal/"


def test_new_recovery_codes_need_a_current_code_and_replace_the_old(app, client, auth):
    user = make_user(Role.CLIENT)
    auth.login(user.email)
    secret, old_codes = enrol_through_pages(client, auth)
    token = auth.token("/settings/two-factor")

    refused = client.post(
        "/settings/two-factor/recovery-codes", data={"code": old_codes[0], "csrf_token": token}
    )
    assert refused.status_code == 400
    assert audit_rows("regenerate_recovery_codes", AuditOutcome.DENIED)

    made = client.post(
        "/settings/two-factor/recovery-codes",
        data={"code": code_for(secret, steps_ahead=1), "csrf_token": token},
    )
    assert made.status_code == 200
    new_codes = CODE_RE.findall(made.get_data(as_text=True))
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    assert audit_rows("regenerate_recovery_codes", AuditOutcome.ALLOWED)
    auth.logout()
    password_step(client, user.email)
    assert code_step(client, old_codes[1]).status_code == 200
    response = code_step(client, new_codes[1])
    assert response.status_code == 302
    assert response.headers["Location"] == "/portal/"


def test_admin_without_two_factor_can_only_enrol_until_enrolled(app, client, auth):
    admin = make_user(Role.ADMIN, two_factor=False)
    response = auth.login(admin.email)
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/users"
    for path in ("/admin/users", "/admin/audit", "/settings/profile", "/settings/password"):
        blocked = client.get(path)
        assert blocked.status_code == 302, path
        assert blocked.headers["Location"] == "/settings/two-factor"
    blocked_post = client.post(
        "/settings/profile", data={"csrf_token": auth.token("/settings/two-factor")}
    )
    assert blocked_post.headers["Location"] == "/settings/two-factor"
    page = client.get("/settings/two-factor").get_data(as_text=True)
    assert "Your account needs two-factor authentication" in page
    enrol_through_pages(client, auth)
    assert client.get("/admin/users").status_code == 200
    # Admins cannot turn it off; a wrong code does not even reset it.
    status = client.get("/settings/two-factor").get_data(as_text=True)
    assert "must keep two-factor authentication on" in status and "Turn off" not in status
    refused = client.post(
        "/settings/two-factor/disable",
        data={"disable-code": "000000", "csrf_token": auth.token("/settings/two-factor")},
    )
    assert refused.status_code == 400
    assert db.session.get(TwoFactorCredential, admin.id).confirmed_at is not None


def test_an_admin_who_lost_the_phone_sets_up_again_with_a_recovery_code(app, client, auth):
    admin = make_user(Role.ADMIN, two_factor=False)
    auth.login(admin.email)
    old_secret, codes = enrol_through_pages(client, auth)
    auth.logout()
    password_step(client, admin.email)
    response = code_step(client, codes[0])
    assert response.status_code == 302  # no phone: a recovery code
    assert response.headers["Location"] == "/admin/users"
    reset = client.post(
        "/settings/two-factor/disable",
        data={"disable-code": codes[1], "csrf_token": auth.token("/settings/two-factor")},
    )
    assert reset.headers["Location"] == "/settings/two-factor"
    assert audit_rows("reset_two_factor", AuditOutcome.ALLOWED)
    # Held on the enrolment page until a new phone is set up; the old codes are gone.
    assert client.get("/admin/users").headers["Location"] == "/settings/two-factor"
    assert db.session.scalar(select(RecoveryCode.id)) is None
    new_secret, _ = enrol_through_pages(client, auth)
    assert new_secret != old_secret
    assert client.get("/admin/users").status_code == 200


def test_the_enrolment_guard_lets_logout_through(app, client, auth):
    admin = make_user(Role.ADMIN, two_factor=False)
    auth.login(admin.email)
    # auth.logout() takes its token from the profile page, which the guard redirects.
    response = client.post("/logout", data={"csrf_token": auth.token("/settings/two-factor")})
    assert response.headers["Location"] == "/login"


def test_typing_on_the_enrolment_page_keeps_the_session_alive(app, client, auth):
    """Typing the code is activity: its keep-alive must not be sent back to the enrolment
    page, which the page's script took as a logoff and reloaded, losing the code typed."""
    admin = make_user(Role.ADMIN, two_factor=False)
    auth.login(admin.email)
    response = client.post(
        "/session/keepalive", headers={"X-CSRFToken": auth.token("/settings/two-factor")}
    )
    assert response.status_code == 204
    assert client.get("/admin/users").headers["Location"] == "/settings/two-factor"


@pytest.mark.parametrize(("required", "status"), [(True, 302), (False, 200)])
def test_providers_need_two_factor_unless_configured_otherwise(
    app, client, auth, required, status
):
    app.config["TWO_FACTOR_REQUIRED_FOR_PROVIDERS"] = required
    provider = make_provider(two_factor=False)
    auth.login(provider.email)
    response = client.get("/clients/")
    assert response.status_code == status
    if required:
        assert response.headers["Location"] == "/settings/two-factor"


def test_provider_setting_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("CARETEAM_TWO_FACTOR_REQUIRED_FOR_PROVIDERS", "false")
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    provider, admin = User(role=Role.PROVIDER), User(role=Role.ADMIN)
    with app.app_context():
        assert two_factor.required_for(provider) is False
        assert two_factor.required_for(admin) is True
        assert two_factor.required_for(User(role=Role.CLIENT)) is False
    monkeypatch.setenv("CARETEAM_TWO_FACTOR_REQUIRED_FOR_PROVIDERS", "true")
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    with app.app_context():
        assert two_factor.required_for(provider) is True


def test_optional_two_factor_can_be_turned_off_with_a_code(app, client, auth):
    app.config["TWO_FACTOR_REQUIRED_FOR_PROVIDERS"] = False
    provider = make_provider()
    auth.login(provider.email)
    token = auth.token("/settings/two-factor")
    wrong = client.post(
        "/settings/two-factor/disable", data={"disable-code": "12", "csrf_token": token}
    )
    assert wrong.status_code == 400
    off = client.post(
        "/settings/two-factor/disable",
        data={"disable-code": code_for(TOTP_SECRET, steps_ahead=1), "csrf_token": token},
    )
    assert off.status_code == 302
    assert off.headers["Location"] == "/settings/two-factor"
    assert db.session.get(TwoFactorCredential, provider.id) is None
    assert audit_rows("disable_two_factor", AuditOutcome.ALLOWED)
    auth.logout()
    assert password_step(client, provider.email).headers["Location"] == "/clients/"


def test_wrong_codes_lock_the_account(app, client):
    provider = make_provider()
    earlier = app.test_client()  # a second browser, at the code step before the lock
    password_step(earlier, provider.email)
    password_step(client, provider.email)
    right = code_for(TOTP_SECRET)
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(app.config["LOGIN_LOCKOUT_THRESHOLD"] - 1):
        assert code_step(client, wrong).status_code == 200
    locked = code_step(client, wrong)
    assert locked.status_code == 302 and locked.headers["Location"] == "/login"
    assert "Too many wrong attempts" in client.get("/login").get_data(as_text=True)
    assert db.session.get(User, provider.id).locked_until is not None
    # Locked: the right password does not reach the code step, and the right code is
    # refused where the code step was already open.
    assert password_step(client, provider.email).status_code == 200
    refused = code_step(earlier, right)
    assert refused.headers["Location"] == "/login"
    response = earlier.get("/clients/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Fclients%2F"
    details = [e.detail for e in audit_rows("two_factor_login", AuditOutcome.DENIED)]
    assert details[-2:] == ["wrong code; locked out", "locked out"]
    assert audit_rows("account_locked")


def test_the_pending_login_expires(app, client):
    provider = make_provider()
    password_step(client, provider.email)
    with client.session_transaction() as session:
        pending = dict(session["tfa_pending"])
        pending["at"] -= app.config["TWO_FACTOR_PENDING_SECONDS"] + 1
        session["tfa_pending"] = pending
    response = client.get("/login/two-factor")
    assert response.headers["Location"] == "/login"
    redirected = client.get("/clients/")
    assert redirected.status_code == 302
    assert redirected.headers["Location"] == "/login?next=%2Fclients%2F"


def test_the_second_step_without_a_password_step_goes_to_login(app, client):
    assert client.get("/login/two-factor").headers["Location"] == "/login"


@pytest.mark.parametrize(
    "path", ["/login/two-factor", "/settings/two-factor", "/settings/two-factor/recovery-codes"]
)
def test_two_factor_forms_need_the_csrf_token(app, client, auth, path):
    provider = make_provider()
    if path == "/login/two-factor":
        password_step(client, provider.email)
    else:
        auth.login(provider.email)
    response = client.post(path, data={"code": code_for(TOTP_SECRET)})
    assert response.status_code == 400
    assert "This form has expired" in response.get_data(as_text=True)


def test_secrets_and_codes_never_reach_logs_or_audit(app, client, auth, caplog):
    caplog.set_level(logging.DEBUG)
    user = make_user(Role.CLIENT)
    auth.login(user.email)
    secret, codes = enrol_through_pages(client, auth)
    auth.logout()
    password_step(client, user.email)
    code_step(client, "999999")
    code_step(client, codes[0])
    auth.logout()
    password_step(client, user.email)
    typed = code_for(secret, steps_ahead=1)
    code_step(client, typed)
    logged = caplog.text + "".join(str(r.__dict__) for r in caplog.records)
    details = " ".join(e.detail for e in db.session.scalars(select(AuditEvent)))
    for value in (secret, typed, "999999", *codes, *(c.replace("-", "") for c in codes)):
        assert value not in logged
        assert value not in details


def test_demo_admin_logs_in_with_the_printed_demo_secret(app, runner, client, auth):
    from careteam.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET

    result = runner.invoke(args=["careteam", "seed-demo"])
    assert result.exit_code == 0, result.output
    assert DEMO_TOTP_SECRET in result.output and "DEMO ONLY" in result.output
    email = "admin@demo.careteam.example"
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"email": email, "password": DEMO_PASSWORD, "csrf_token": token}
    )
    assert response.headers["Location"] == "/login/two-factor"
    done = auth.enter_code(email, code=code_for(DEMO_TOTP_SECRET))
    assert done.headers["Location"] == "/admin/users"
    assert client.get("/admin/users").status_code == 200


def test_an_admin_resets_the_two_factor_of_someone_who_lost_phone_and_codes(app, client, auth):
    admin = make_user(Role.ADMIN, email="admin@example.com")
    provider = make_provider(email="lost.phone@example.com")
    theirs = app.test_client()
    auth_theirs = type(auth)(theirs)
    redirected = auth_theirs.login(provider.email)
    assert redirected.status_code == 302
    assert redirected.headers["Location"] == "/clients/"
    assert theirs.get("/clients/").status_code == 200

    auth.login(admin.email)
    users_page = client.get("/admin/users").get_data(as_text=True)
    assert users_page.count("Reset two-factor") == 1  # the provider's; never the admin's own
    response = auth.post(f"/admin/users/{provider.id}/reset-two-factor")
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/users"
    assert "was reset" in client.get("/admin/users").get_data(as_text=True)
    assert db.session.get(TwoFactorCredential, provider.id) is None
    assert not db.session.scalars(
        select(RecoveryCode).where(RecoveryCode.user_id == provider.id)
    ).all()
    # Their sessions ended; with the password alone they reach only the enrolment page.
    redirected = theirs.get("/clients/")
    assert redirected.status_code == 302
    assert redirected.headers["Location"] == "/login?next=%2Fclients%2F"
    redirected = password_step(theirs, provider.email)
    assert redirected.status_code == 302  # no code asked
    assert redirected.headers["Location"] == "/clients/"
    assert theirs.get("/clients/").headers["Location"] == "/settings/two-factor"
    [row] = audit_rows("admin_reset_two_factor")
    assert (row.actor_id, row.object_id) == (admin.id, provider.id)


def test_an_admin_cannot_reset_their_own_two_factor(app, client, auth):
    admin = make_user(Role.ADMIN, email="admin@example.com")
    auth.login(admin.email)
    auth.post(f"/admin/users/{admin.id}/reset-two-factor")
    assert "Reset your own two-factor under Settings" in client.get("/admin/users").get_data(
        as_text=True
    )
    assert db.session.get(TwoFactorCredential, admin.id) is not None
    assert audit_rows("admin_reset_two_factor") == []
