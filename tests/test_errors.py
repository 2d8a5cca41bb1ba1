"""Our own error pages, security headers, and no stack trace ever shown."""

from __future__ import annotations

from tests.factories import make_provider


def test_404_page(app, client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "Page not found" in page and "Traceback" not in page


def test_500_page_hides_the_error(app, client, auth, monkeypatch):
    from careteam.clients import services

    def boom(*args, **kwargs):
        raise RuntimeError("secret internals /etc/passwd")

    monkeypatch.setattr(services, "dashboard_query", boom)
    auth.login(make_provider().email)
    response = client.get("/clients/")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Something went wrong on our side" in page
    assert "secret internals" not in page and "Traceback" not in page


def test_405_page(app, client):
    response = client.get("/logout")
    assert response.status_code == 405
    assert "That action is not available here" in response.get_data(as_text=True)


def test_oversized_body_is_refused_cleanly(app, client):
    response = client.post("/login", data={"email": "a" * (2 * 1024 * 1024)})
    assert response.status_code == 413
    assert "That was too large" in response.get_data(as_text=True)


def test_security_headers(app, client, auth):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Request-ID"]
    auth.login(make_provider().email)
    assert client.get("/clients/").headers["Cache-Control"] == "no-store"


def test_pages_have_no_inline_script(app, client, auth):
    auth.login(make_provider().email)
    for path in ("/login", "/clients/", "/clients/new", "/settings/profile"):
        page = client.get(path).get_data(as_text=True)
        assert "<script>" not in page and "onclick=" not in page and "style=" not in page


def test_requests_are_logged_without_query_strings(app, client, auth, caplog):
    auth.login(make_provider().email)
    with caplog.at_level("INFO", logger="careteam.request"):
        client.get("/clients/?q=Secret+Clientname")
    text = " ".join(r.getMessage() + str(r.__dict__) for r in caplog.records)
    assert "clients.dashboard" in text
    assert "Secret" not in text


def test_403_page(app, client, auth):
    auth.login(make_provider().email)
    response = client.get("/admin/users")
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert "You do not have access to this" in page and "team lead or an administrator" in page
    assert "Traceback" not in page


def test_400_page_for_a_malformed_request(app, client, auth):
    auth.login(make_provider().email)
    response = client.get("/clients/?q=%00")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Something in the request was not right" in page and "Traceback" not in page
