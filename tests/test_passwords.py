"""Password rules, the strength meter, reset by email and changing one's password."""

from __future__ import annotations

import re
import statistics
import threading
import time
from urllib.parse import urlsplit

import pytest
from argon2 import PasswordHasher
from itsdangerous import URLSafeTimedSerializer
from itsdangerous.timed import TimestampSigner
from sqlalchemy import select

from careteam.audit import AuditEvent
from careteam.auth import reset
from careteam.auth.models import User, UserSession
from careteam.auth.passwords import check_password, strength
from careteam.auth.services import AccountError, create_user
from careteam.enums import Role
from careteam.extensions import db
from tests.factories import PASSWORD, make_provider, make_user
from tests.harness import SMTPSink
from tests.helpers import AuthActions, csrf_from

NEW_PASSWORD = "velvet orbit lantern quietly"
BASE_URL = "https://care.example.org"
# 128 characters of unrelated words: strong in any 48-character stretch.
LONG_PASSWORD = (
    "maple quartz ferry lagoon violet cobbler anthem pickle walrus ember tundra "
    "saffron gizmo orchid banjo nimbus trellis quiver mosaic"
)[:128]
# PASSWORD typed on a full-width (East Asian) keyboard: NFKC makes it PASSWORD again.
FULL_WIDTH = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in PASSWORD)


# Rules -----------------------------------------------------------------------------------


def test_long_password_fixture_is_128_characters():
    assert len(LONG_PASSWORD) == 128


@pytest.mark.parametrize(
    "password",
    [
        "Xq9#mZ!2kLv",  # 11 characters, however random
        "password1234",  # common
        "qwertyuiopas",  # a keyboard row
        "passwordpassword",  # a repeat
        LONG_PASSWORD + "x",  # 129 characters
    ],
)
def test_refused_passwords(app, password):
    with pytest.raises(AccountError) as refused:
        check_password(password)
    assert refused.value.field == "password"
    assert str(refused.value)  # a plain sentence, shown next to the field


@pytest.mark.parametrize(
    "password",
    [
        "Xq9#mZ!2kLvB",  # 12 characters, strong
        LONG_PASSWORD,  # 128 characters
        "Ünïcödé pässwörd wörds",
        "яблоко туман звезда",
        PASSWORD,  # the factories' password
        "demo-password-2026",  # careteam.demo's public demo password
    ],
)
def test_accepted_passwords(app, password):
    check_password(password)


def test_messages_say_why_and_what_to_do(app):
    short = strength("Xq9#mZ!2kLv")
    assert short.message.startswith("Use at least 12 characters.")
    common = strength("password1234")
    assert "common password" in common.message and "A few unrelated words" in common.message
    assert common.label in ("too weak", "weak")
    assert strength(LONG_PASSWORD + "x").message.startswith("Use at most 128 characters.")


def test_the_persons_own_details_do_not_make_a_password(app):
    with pytest.raises(AccountError):
        create_user(
            email="jane.doe@example.org",
            password="jane.doe@example.org",
            role=Role.CLIENT,
            display_name="Jane Doe",
        )


def test_every_path_uses_the_rules_admin_new_user(app, client, auth):
    admin = make_user(Role.ADMIN)
    auth.login(admin.email)
    response = auth.post(
        "/admin/users/new",
        {
            "role": "client",
            "email": "weak@example.com",
            "display_name": "Weak",
            "password": "password1234",
        },
    )
    assert response.status_code == 400
    assert "common password" in response.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.email == "weak@example.com")) is None


def test_cli_create_user_uses_the_rules(app, runner):
    result = runner.invoke(
        args=[
            "careteam",
            "create-user",
            "--role",
            "client",
            "--email",
            "c@example.com",
            "--name",
            "C",
            "--password-stdin",
        ],
        input="qwertyuiopas\n",
    )
    assert result.exit_code != 0 and "common password" in result.output


def test_passwords_are_normalised_so_any_keyboard_logs_in(app, client, auth):
    # Full-width letters (an East Asian keyboard) are the same password as ASCII ones.
    assert FULL_WIDTH != PASSWORD
    user = make_provider(password=FULL_WIDTH)
    response = auth.login(user.email, PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] == "/clients/"


def test_hashes_from_before_normalisation_still_verify_and_are_upgraded(app, client, auth):
    typed = FULL_WIDTH
    user = make_provider()
    user.password_hash = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(typed)
    db.session.commit()
    response = auth.login(user.email, typed)
    assert response.status_code == 302
    assert response.headers["Location"] == "/clients/"
    db.session.refresh(user)
    PasswordHasher().verify(user.password_hash, PASSWORD)  # now stored normalised


# Meter -------------------------------------------------------------------------------------


def meter(html: str) -> re.Match | None:
    return re.search(r'<meter[^>]*value="(\d)"', html)


def test_meter_is_on_the_page_but_empty_before_a_submit(app, client, auth):
    user = make_provider()
    auth.login(user.email)
    html = client.get("/settings/password").get_data(as_text=True)
    assert re.search(r'class="password-meter"[^>]*\bhidden\b', html, re.S)
    assert "js/password-meter.js" in html
    assert 'name="check_strength"' in html
    assert "<script>" not in html  # no inline script (CSP)


def test_check_strength_without_javascript_shows_the_meter_and_saves_nothing(app, client, auth):
    user = make_provider()
    auth.login(user.email)
    before = user.password_hash
    response = auth.post("/settings/password", {"password": NEW_PASSWORD, "check_strength": "1"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert meter(html).group(1) in ("3", "4")
    assert re.search(r"Password strength: <strong[^>]*>(strong|very strong)</strong>", html)
    assert "type it again" in html
    assert NEW_PASSWORD not in html  # never sent back
    db.session.refresh(user)
    assert user.password_hash == before


def test_check_strength_of_a_weak_password_says_why(app, client, auth):
    user = make_provider()
    auth.login(user.email)
    response = auth.post("/settings/password", {"password": "password1234", "check_strength": "1"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert meter(html).group(1) in ("0", "1")
    assert "common password" in html
    assert "Current password" in html and "This field is required" not in html


def test_json_endpoint_scores_as_the_person_types(app, client, auth):
    user = make_provider(email="robin.quill@example.com", name="Robin Quill")
    auth.login(user.email)
    token = auth.token()
    headers = {"X-CSRFToken": token}
    strong = client.post("/password/strength", json={"password": NEW_PASSWORD}, headers=headers)
    assert strong.status_code == 200
    assert strong.json["score"] >= 3 and strong.json["acceptable"] is True
    assert strong.json["label"] in ("strong", "very strong")
    assert strong.headers["Cache-Control"] == "no-store"
    weak = client.post("/password/strength", json={"password": "qwertyuiopas"}, headers=headers)
    assert weak.json["acceptable"] is False and weak.json["message"]
    # The logged-in person's own email is guessable.
    own = client.post(
        "/password/strength", json={"password": "robin.quill@example.com"}, headers=headers
    )
    assert own.json["acceptable"] is False
    # Other fields of the form count too (e.g. the email on an invitation form).
    typed = client.post(
        "/password/strength",
        json={"password": "ottolinebrackwater", "inputs": ["ottoline.brackwater@x.org"]},
        headers=headers,
    )
    assert typed.json["acceptable"] is False


def test_json_endpoint_needs_a_session_csrf_token(app, client):
    refused = client.post("/password/strength", json={"password": NEW_PASSWORD})
    assert refused.status_code == 400
    token = csrf_from(client.get("/password/forgot").get_data(as_text=True))
    allowed = client.post(
        "/password/strength", json={"password": NEW_PASSWORD}, headers={"X-CSRFToken": token}
    )
    assert allowed.status_code == 200 and allowed.json["acceptable"] is True
    bad = client.post("/password/strength", json=["x"], headers={"X-CSRFToken": token})
    assert bad.status_code == 400


# Reset by email ----------------------------------------------------------------------------


@pytest.fixture
def sink(app, sink):
    app.config.update(BASE_URL=BASE_URL)
    return sink


@pytest.fixture
def published(monkeypatch):
    """What the forgot form hands to the publishing thread (user id or None)."""
    calls: list[int | None] = []
    monkeypatch.setattr(reset, "_queue", lambda app, user_id: calls.append(user_id))
    return calls


def anon_post(client, path: str, data: dict):
    token = csrf_from(client.get(path).get_data(as_text=True))
    return client.post(path, data={**data, "csrf_token": token})


def emailed_link(sink: SMTPSink, to: str) -> str:
    [message] = [m for m in sink.wait_for(1) if m["To"] == to]
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    link = re.search(r"https://\S+/password/reset/\S+", text).group(0)
    assert f'href="{link}"' in html
    return link


def path_of(link: str) -> str:
    assert link.startswith(BASE_URL + "/")
    return urlsplit(link).path


def new_password_form(client, path: str, password: str = NEW_PASSWORD, **extra):
    token = csrf_from(client.get(path).get_data(as_text=True))
    data = {"password": password, "confirm": password, "csrf_token": token, **extra}
    return client.post(path, data=data)


def test_login_page_links_to_forgot_password(app, client):
    assert 'href="/password/forgot"' in client.get("/login").get_data(as_text=True)


def test_reset_life_cycle(app, client, sink, published):
    user = make_provider(email="kim@example.com")
    # A browser logged in before the reset, whose cookie must stop working.
    other = AuthActions(app.test_client())
    redirected = other.login(user.email)
    assert redirected.status_code == 302
    assert redirected.headers["Location"] == "/clients/"
    assert other._client.get("/settings/profile").status_code == 200

    response = anon_post(client, "/password/forgot", {"email": " Kim@Example.com "})
    assert response.status_code == 200
    assert published == [user.id]
    assert reset.send_reset_email(user.id) is not None  # what the task does
    message = sink.wait_for(1)[0]
    assert message["Subject"] == "Reset your CareTeam password"
    assert message.is_multipart()
    text = message.get_body(("plain",)).get_content()
    assert "ignore this email" in text and "60 minutes" in text
    path = path_of(emailed_link(sink, "kim@example.com"))

    page = client.get(path)
    assert page.status_code == 200 and "Choose a new password" in page.get_data(as_text=True)
    assert page.headers["Referrer-Policy"] == "no-referrer"
    done = new_password_form(client, path)
    assert done.status_code == 302 and done.headers["Location"] == "/login"

    redirected = other._client.get("/settings/profile")
    assert redirected.status_code == 302  # session revoked
    assert redirected.headers["Location"] == "/login?next=%2Fsettings%2Fprofile"
    live = db.session.scalars(
        select(UserSession).where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
    ).all()
    assert live == []
    auth = AuthActions(client)
    assert auth.login(user.email, PASSWORD).status_code == 200  # old password refused
    redirected = auth.login(user.email, NEW_PASSWORD)
    assert redirected.status_code == 302
    assert redirected.headers["Location"] == "/clients/"
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_id == user.id)
    ).all()
    assert {"password_reset_request", "password_reset_email", "password_reset"} <= set(actions)

    # Second use of the same link.
    again = AuthActions(app.test_client())._client.get(path)
    assert again.status_code == 400
    assert "does not work" in again.get_data(as_text=True)
    assert 'href="/password/forgot"' in again.get_data(as_text=True)


def test_reset_form_refuses_a_weak_or_mismatched_password(app, client, sink):
    user = make_provider()
    path = path_of(reset.send_reset_email(user.id).link)
    weak = new_password_form(client, path, password="password1234")
    assert weak.status_code == 400 and "common password" in weak.get_data(as_text=True)
    token = csrf_from(client.get(path).get_data(as_text=True))
    mismatch = client.post(
        path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD + "!", "csrf_token": token}
    )
    assert mismatch.status_code == 400 and "not the same" in mismatch.get_data(as_text=True)
    # The link still works after refused attempts.
    response = new_password_form(client, path)
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"


def test_reset_form_has_the_meter_and_checks_without_saving(app, client, sink):
    user = make_provider()
    path = path_of(reset.send_reset_email(user.id).link)
    checked = new_password_form(client, path, check_strength="1")
    assert checked.status_code == 200 and meter(checked.get_data(as_text=True))
    response = new_password_form(client, path)
    assert response.status_code == 302  # not spent by the check
    assert response.headers["Location"] == "/login"


def test_expired_link_is_refused(app, client, sink, monkeypatch):
    user = make_provider()
    issued = int(time.time()) - 61 * 60
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: issued)
    token = reset.make_token(user)
    monkeypatch.undo()
    response = client.get(f"/password/reset/{token}")
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)
    assert 'name="password"' not in response.get_data(as_text=True)


@pytest.mark.parametrize("tamper", ["flip", "other_user", "wrong_salt", "garbage"])
def test_tampered_link_is_refused(app, client, tamper):
    user = make_provider()
    victim = make_provider()
    token = reset.make_token(user)
    if tamper == "flip":
        token = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    elif tamper == "other_user":
        forged = URLSafeTimedSerializer("not-the-secret", salt="password-reset")
        token = forged.dumps({"u": victim.id, "f": "0" * 32})
    elif tamper == "wrong_salt":
        token = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="other").dumps(
            {"u": victim.id}
        )
    else:
        token = "not-a-token"
    response = client.get(f"/password/reset/{token}")
    assert response.status_code == 400
    posted = client.post(f"/password/reset/{token}", data={"password": NEW_PASSWORD})
    assert posted.status_code == 400
    redirected = AuthActions(client).login(victim.email, PASSWORD)
    assert redirected.status_code == 302
    assert redirected.headers["Location"] == "/clients/"


def test_logging_in_spends_an_unused_link(app, client, sink):
    user = make_provider()
    path = path_of(reset.send_reset_email(user.id).link)
    AuthActions(app.test_client()).login(user.email)
    assert client.get(path).status_code == 400


def test_deactivated_accounts_get_no_email_and_cannot_reset(app, client, sink, published):
    from careteam.admin.services import set_active

    admin = make_user(Role.ADMIN)
    user = make_provider()
    path = path_of(reset.send_reset_email(user.id).link)
    sink.wait_for(1)
    sink.clear()
    set_active(actor=admin, user=user, active=False)
    db.session.commit()
    assert anon_post(client, "/password/forgot", {"email": user.email}).status_code == 200
    assert published == [None]
    assert reset.send_reset_email(user.id) is None
    assert client.get(path).status_code == 400
    time.sleep(0.2)
    assert sink.messages == []


def test_one_email_per_minute_however_often_asked(app, sink):
    user = make_provider()
    assert reset.send_reset_email(user.id) is not None
    assert reset.send_reset_email(user.id) is None  # a flood or a redelivered task
    assert len(sink.wait_for(1)) == 1


def test_publishing_sends_the_task_only_for_an_account(app, monkeypatch):
    from careteam.auth import tasks

    sent: list[int] = []
    celery = app.extensions["celery"]
    monkeypatch.setattr(celery, "send_task", lambda name, args: sent.append((name, *args)))
    reset._publish(app, None)
    reset._publish(app, 7)
    assert sent == [(tasks.send_password_reset.name, 7)]


def test_queueing_publishes_from_a_thread(app, monkeypatch):
    done = threading.Event()
    seen: list[tuple[int | None, bool]] = []

    def publish(app, user_id):
        seen.append((user_id, threading.current_thread() is threading.main_thread()))
        done.set()

    monkeypatch.setattr(reset, "_publish", publish)
    reset._queue(app, 5)
    assert done.wait(5)
    assert seen == [(5, False)]


# No account enumeration --------------------------------------------------------------------


def test_forgot_answers_the_same_for_known_and_unknown_addresses(
    app, client, published, count_queries, monkeypatch
):
    make_provider(email="known@example.com")
    hashes: list[str] = []
    monkeypatch.setattr(PasswordHasher, "hash", lambda self, p, **k: hashes.append("hash"))
    monkeypatch.setattr(PasswordHasher, "verify", lambda self, h, p: hashes.append("verify"))
    answers = {}
    queries = {}
    for email in ("known@example.com", "nobody@example.com"):
        token = csrf_from(client.get("/password/forgot").get_data(as_text=True))
        with count_queries() as counter:
            response = client.post("/password/forgot", data={"email": email, "csrf_token": token})
        answers[email] = (response.status_code, response.get_data(as_text=True))
        queries[email] = counter.count
    assert answers["known@example.com"] == answers["nobody@example.com"]
    assert answers["known@example.com"][0] == 200
    assert "If an account uses this address, we sent a link" in answers["known@example.com"][1]
    assert queries["known@example.com"] == queries["nobody@example.com"]
    assert hashes == []  # no hashing on either path
    assert len(published) == 2  # one publishing thread each, a no-op for the unknown one


def test_forgot_takes_similar_time_for_known_and_unknown_addresses(app, client, monkeypatch):
    # The real publishing threads start on both paths; only the broker is left out.
    monkeypatch.setattr(reset, "_publish", lambda app, user_id: None)
    make_provider(email="known@example.com")
    token = csrf_from(client.get("/password/forgot").get_data(as_text=True))
    timings: dict[str, list[float]] = {"known@example.com": [], "nobody@example.com": []}
    for _ in range(15):
        for email in timings:  # interleaved, so that a slow moment hits both
            started = time.perf_counter()
            client.post("/password/forgot", data={"email": email, "csrf_token": token})
            timings[email].append(time.perf_counter() - started)
    known = statistics.median(timings["known@example.com"])
    unknown = statistics.median(timings["nobody@example.com"])
    # Generous: the paths do the same work, so only noise separates them.
    assert abs(known - unknown) < max(0.05, 0.5 * min(known, unknown)), (known, unknown)


def test_forgot_form_errors(app, client):
    response = anon_post(client, "/password/forgot", {"email": "not an email"})
    assert response.status_code == 400
    assert "Enter an email address." in response.get_data(as_text=True)


# Change password ---------------------------------------------------------------------------


def test_change_password_ends_other_sessions_but_keeps_this_one(app, client, auth):
    user = make_provider()
    other = AuthActions(app.test_client())
    other.login(user.email)
    auth.login(user.email)
    assert other._client.get("/settings/profile").status_code == 200
    response = auth.post(
        "/settings/password",
        {"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/settings/password"
    page = client.get("/settings/password")  # this session lives on
    assert page.status_code == 200 and "password was changed" in page.get_data(as_text=True)
    redirected = other._client.get("/settings/profile")
    assert redirected.status_code == 302  # the other one ended
    assert redirected.headers["Location"] == "/login?next=%2Fsettings%2Fprofile"
    live = db.session.scalars(
        select(UserSession).where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
    ).all()
    assert len(live) == 1
    assert (
        "change_password"
        in db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.object_id == user.id)
        ).all()
    )
    fresh = AuthActions(app.test_client())
    assert fresh.login(user.email, PASSWORD).status_code == 200
    redirected = fresh.login(user.email, NEW_PASSWORD)
    assert redirected.status_code == 302
    assert redirected.headers["Location"] == "/clients/"


def test_change_password_with_a_wrong_current_password(app, client, auth):
    user = make_provider()
    auth.login(user.email)
    before = user.password_hash
    response = auth.post(
        "/settings/password",
        {
            "current_password": "not my password at all",
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert re.search(r'id="current_password-error">That is not your current password', html), html
    db.session.refresh(user)
    assert user.password_hash == before


def test_change_password_refuses_a_weak_new_password(app, client, auth):
    user = make_provider()
    auth.login(user.email)
    response = auth.post(
        "/settings/password",
        {"current_password": PASSWORD, "password": "qwertyuiopas", "confirm": "qwertyuiopas"},
    )
    assert response.status_code == 400
    assert 'id="password-error"' in response.get_data(as_text=True)


@pytest.mark.parametrize("role", [Role.PROVIDER, Role.CLIENT, Role.ADMIN])
def test_every_role_finds_the_password_page_from_settings(app, client, auth, role):
    user = make_user(role)
    auth.login(user.email)
    assert 'href="/settings/password"' in client.get("/settings/profile").get_data(as_text=True)
    assert client.get("/settings/password").status_code == 200


def test_password_page_needs_a_login(app, client):
    response = client.get("/settings/password")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
