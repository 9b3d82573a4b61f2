"""Service-level agreements: business calendar (Chinese holidays) and ticket due times."""

from hotline.sla.calendar import BusinessCalendar
from hotline.sla.clock import (
    SlaClock,
    compute_due_times,
    overdue_tickets,
    recompute_due_times,
)
from hotline.sla.config import SlaConfig, SlaTarget, load_sla_config

__all__ = [
    "BusinessCalendar",
    "SlaClock",
    "SlaConfig",
    "SlaTarget",
    "compute_due_times",
    "load_sla_config",
    "overdue_tickets",
    "recompute_due_times",
]
