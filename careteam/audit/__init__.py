"""The audit log of who touched which record: write it here, read it in viewer.

Callers write through this package's API (`audit.record(...)`, `audit.record_view(...)`,
`audit.shown(...)`); the table and its append-only guards are in models, the hash chain
in chain, the admin's reading side in viewer, the scheduled sealing in tasks.
"""

from careteam.audit.models import AuditEvent
from careteam.audit.writer import record, record_view, shown

__all__ = ["AuditEvent", "record", "record_view", "shown"]
