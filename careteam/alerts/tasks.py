"""Thin Celery tasks for immediate alerts: ids only."""

from __future__ import annotations

from celery import shared_task

from careteam.alerts import services


@shared_task(name="careteam.process_alert", ignore_result=True, acks_late=True)
def process_alert(alert_id: int) -> None:
    """Fan an alert out to its recipients and send what is not held by quiet hours."""
    services.fan_out(int(alert_id))
    services.send_due(services.due_deliveries())


@shared_task(name="careteam.drain_alerts", ignore_result=True)
def drain_alerts() -> None:
    """Run by beat: whatever the relay missed, and alerts whose quiet hours ended."""
    for alert_id in services.unprocessed_alerts():
        services.fan_out(alert_id)
    services.send_due(services.due_deliveries())
