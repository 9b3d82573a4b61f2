"""report covering indexes

Revision ID: 0012_report_covering_indexes
Revises: 0011_appointments
Create Date: 2026-12-06 15:20:00

Issue 13 (reports at province scale): the annual metrics of a 1M-ticket year read every row of the year
several times. Each report query now reads one index range holding every column it needs (created_at,
resolved_at and first_response_at, each followed by what the report groups, sums and compares). The
single-column indexes they start with are dropped (the covering ones serve their queries too).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012_report_covering_indexes"
down_revision: str | None = "0011_appointments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_COLUMNS = [
    "county_code",
    "case_type",
    "category",
    "eligibility_outcome",
    "migrant_worker",
    "disabled",
    "minor",
    "elderly",
    "women",
    "handled_by_bot_only",
    "handoff_requested",
]


def upgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.create_index("ix_ticket_created_report", ["created_at", *NEW_COLUMNS], unique=False)
        batch_op.create_index(
            "ix_ticket_resolved_report",
            ["resolved_at", "created_at", "resolution_due", "case_type", "status", "county_code"],
            unique=False,
        )
        batch_op.create_index(
            "ix_ticket_first_response_report",
            ["first_response_at", "created_at", "first_response_due", "county_code", "source"],
            unique=False,
        )
        batch_op.drop_index("ix_ticket_created")
        batch_op.drop_index("ix_ticket_resolved_at")
        batch_op.drop_index("ix_ticket_first_response_at")


def downgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.create_index("ix_ticket_first_response_at", ["first_response_at"], unique=False)
        batch_op.create_index("ix_ticket_resolved_at", ["resolved_at"], unique=False)
        batch_op.create_index("ix_ticket_created", ["created_at"], unique=False)
        batch_op.drop_index("ix_ticket_first_response_report")
        batch_op.drop_index("ix_ticket_resolved_report")
        batch_op.drop_index("ix_ticket_created_report")
