"""daily report roll-ups kept by triggers, duration columns

Revision ID: 0014_report_rollups
Revises: 0013_ticket_event_kind_index
Create Date: 2026-12-06 18:20:00

Issue 13 (annual metrics of a 1M-ticket year): the reports read whole UTC days from three roll-up tables
kept exact by triggers on `ticket` (hotline.reports.rollup: one spec generates the SQLite and the
PostgreSQL triggers), and the ragged edges from the ticket table. The first-response and resolution
durations become generated columns (whole seconds; VIRTUAL on SQLite, which can only add those, STORED on
PostgreSQL) indexed with the done time, so the exact median/p90 rank only one duration bucket's tickets.
Existing tickets are backfilled here.

The trigger SQL comes from the live spec in hotline.reports.rollup: a later change of the spec comes with
its own migration that drops and recreates the triggers and rebuilds the tables.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hotline.db.models import FIRST_RESPONSE_SECONDS, RESOLUTION_SECONDS, CaseType
from hotline.reports import rollup

revision: str = "0014_report_rollups"
down_revision: str | None = "0013_ticket_event_kind_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MEASURES_NEW = (
    "n",
    "migrant_worker",
    "disabled",
    "minor",
    "elderly",
    "women",
    "bot_only",
    "handoff",
    "fallback_tickets",
    "fallbacks_total",
    "bot_resolved",
)


def _counts(*names: str) -> list[sa.Column[int]]:
    return [sa.Column(name, sa.Integer(), nullable=False) for name in names]


def _case_type() -> sa.Column[CaseType]:
    return sa.Column("case_type", sa.Enum(CaseType, native_enum=False, length=16), nullable=False)


def upgrade() -> None:
    persisted = op.get_bind().dialect.name != "sqlite"  # SQLite can only ADD a VIRTUAL generated column
    for name, expression in (
        ("first_response_seconds", FIRST_RESPONSE_SECONDS),
        ("resolution_seconds", RESOLUTION_SECONDS),
    ):
        computed = sa.Computed(expression, persisted=persisted)
        op.add_column("ticket", sa.Column(name, sa.BigInteger(), computed, nullable=True))
    op.create_index(
        "ix_ticket_resolution_seconds",
        "ticket",
        ["resolution_seconds", "resolved_at", "county_code"],
    )
    op.create_index(
        "ix_ticket_first_response_seconds",
        "ticket",
        ["first_response_seconds", "first_response_at", "county_code"],
    )
    op.create_table(
        "ticket_rollup_new",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        _case_type(),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("eligibility_outcome", sa.String(length=48), nullable=False),
        *_counts(*MEASURES_NEW),
        sa.PrimaryKeyConstraint(
            "day",
            "county_code",
            "case_type",
            "category",
            "eligibility_outcome",
            name=op.f("pk_ticket_rollup_new"),
        ),
    )
    op.create_table(
        "ticket_rollup_closed",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        _case_type(),
        *_counts("n"),
        sa.PrimaryKeyConstraint("day", "county_code", "case_type", name=op.f("pk_ticket_rollup_closed")),
    )
    op.create_table(
        "ticket_rollup_duration",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        *_counts("n", "within_sla", "with_due"),
        sa.PrimaryKeyConstraint(
            "kind", "day", "county_code", "bucket", name=op.f("pk_ticket_rollup_duration")
        ),
    )
    connection = op.get_bind()
    rollup.backfill(connection)
    rollup.install_triggers(connection)


def downgrade() -> None:
    rollup.drop_triggers(op.get_bind())
    op.drop_table("ticket_rollup_duration")
    op.drop_table("ticket_rollup_closed")
    op.drop_table("ticket_rollup_new")
    op.drop_index("ix_ticket_first_response_seconds", table_name="ticket")
    op.drop_index("ix_ticket_resolution_seconds", table_name="ticket")
    op.drop_column("ticket", "resolution_seconds")
    op.drop_column("ticket", "first_response_seconds")
