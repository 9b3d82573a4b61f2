"""Service-level agreements: business calendar (Chinese holidays) and ticket due times.

The package root exports only the configuration model, which `hotline.settings` imports at start-up;
the clock (SQLAlchemy) and the calendar (chinese_calendar) are imported from their modules by the code
that computes due times, so reading the settings does not load the database layer.
"""

from hotline.sla.config import SlaConfig, SlaTarget

__all__ = ["SlaConfig", "SlaTarget"]
