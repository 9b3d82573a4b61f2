"""index ticket events by kind (reports count handoffs a citizen left from the audit trail)

Revision ID: 0013_ticket_event_kind_index
Revises: 0012_report_covering_indexes
Create Date: 2026-12-06 16:15:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013_ticket_event_kind_index"
down_revision: str | None = "0012_report_covering_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ticket_event", schema=None) as batch_op:
        batch_op.create_index("ix_ticket_event_kind", ["kind", "ticket_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ticket_event", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_event_kind")
