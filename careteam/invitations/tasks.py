"""Thin Celery tasks for invitation emails: ids only."""

from __future__ import annotations

from celery import shared_task

from careteam.invitations import sending, services


@shared_task(name="careteam.send_invitation", ignore_result=True, acks_late=True)
def send_invitation(invitation_id: int) -> None:
    """Email the invitation's link if an email is still wanted; duplicates send nothing."""
    services.send_invitation_email(int(invitation_id))


@shared_task(name="careteam.sweep_invitations", ignore_result=True)
def sweep_invitations() -> None:
    """Run by beat: queue emails the after-commit relay missed or SMTP refused."""
    for invitation_id in sending.unsent_invitations():
        send_invitation.delay(invitation_id)
