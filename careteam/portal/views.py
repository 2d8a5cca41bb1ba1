"""The client's own view: who is on my team and my level of care."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from careteam import audit
from careteam.access import Action, load_client, require
from careteam.clients import services as client_services
from careteam.extensions import db
from careteam.portal import services

bp = Blueprint("portal", __name__, url_prefix="/portal")


@bp.get("/")
@require(Action.VIEW_PORTAL)
def home():
    client_id = services.own_client_id(current_user)
    if client_id is None:
        return render_template("portal/not_linked.html")
    access = load_client(client_id, Action.VIEW_ROSTER)
    audit.record("view_roster", object_type="client", object_id=client_id, client_id=client_id)
    db.session.commit()
    client = client_services.record_page(access.client)
    return render_template(
        "portal/home.html",
        client=client,
        roster=client_services.active_roster(client),
    )
