"""The `reports:` section of config/hotline.yaml (schedules, output directory, follow-up knobs)."""

from __future__ import annotations

from pydantic import Field

from hotline.config_model import Strict


class Cron(Strict):
    """APScheduler cron fields (strings or ints, as in CronTrigger)."""

    month: str | None = None
    day: str | None = None
    day_of_week: str | None = None
    hour: str = "8"
    minute: str = "30"

    def fields(self) -> dict[str, str]:
        return {k: str(v) for k, v in self.model_dump().items() if v is not None}


class ReportsConfig(Strict):
    """`settings.reports`, validated with the rest of the settings at start-up."""

    timezone: str = "Asia/Shanghai"  # Settings fills in city.timezone when the section does not set it
    out_dir: str = "var/reports"
    weekly: Cron = Cron(day_of_week="mon", hour="8", minute="30")
    monthly: Cron = Cron(day="1", hour="9", minute="0")
    annual: Cron = Cron(month="1", day="5", hour="9", minute="0")
    enabled_kinds: list[str] = ["weekly", "monthly", "annual"]
    per_county: bool = True  # also produce one report per county besides the city one
    misfire_grace_seconds: int = Field(default=86400, ge=1)
    lock_ttl_seconds: int = Field(default=60, ge=5)
    stale_run_seconds: int = Field(default=3600, ge=60)  # a "running" claim older than this is taken over
    sla_refresh_minutes: int = Field(default=15, ge=1)
    followup_poll_minutes: int = Field(default=15, ge=1)
    review_alert_minutes: int = Field(default=2, ge=1)  # low ratings/complaints reach supervisors fast
    # Follow-up visit (回访)
    rating_reminder_hours: float = Field(default=24, gt=0)
    satisfied_min_score: int = Field(default=4, ge=1, le=5)
    low_rating_max_score: int = Field(default=2, ge=1, le=5)
    complaint_categories: list[str] = ["complaint"]
    # Warn (start-up, weekly summary, every report) when the newest 低保 row behind the means test is older
    # than this many months (hotline/eligibility/dibao.py); cities publish a new standard about once a year.
    dibao_stale_months: int = Field(default=13, ge=1)
    # The annual draft's 存在的问题 names categories with low satisfaction only when this many ratings back
    # them (a category with two answers is noise, not a finding).
    findings_min_ratings: int = Field(default=5, ge=1)
    # The annual draft's template (docxtpl: Word document with {{ }} tags); empty = the packaged one,
    # hotline/reports/templates/annual_draft.docx. A bureau points this at its own edited copy.
    annual_template: str | None = None
    # Where deliveries go; defaults to telegram.supervisors_chat_id, else the outbox directory.
    chat: str | None = None
