"""message queue: claims, dispatch and desk-relay marks, outage escalation, outbox backoff

Revision ID: 0007_message_queue
Revises: 0006_drop_attachment
Create Date: 2026-12-06 12:00:00

The message log is the gateway's queue in both directions. These columns let one gateway replica claim a
message (with a time-to-live, so a crashed replica's claim expires), remember that the engine may already
have seen it (so the engine's tracker is checked before resending), record when the operators' desk got
it, keep it for the engine after an outage handoff, and back off an outbound reply Telegram refused.
The new outbound state "QUEUED" needs no DDL: the state column is a plain VARCHAR(16).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_message_queue"
down_revision: str | None = "0006_drop_attachment"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("message_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claim_token", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("claimed_until", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("dispatched_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("relayed_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("escalated", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("next_attempt_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    op.execute("UPDATE message_log SET state = 'FAILED' WHERE state = 'QUEUED'")
    with op.batch_alter_table("message_log", schema=None) as batch_op:
        batch_op.drop_column("next_attempt_at")
        batch_op.drop_column("escalated")
        batch_op.drop_column("relayed_at")
        batch_op.drop_column("dispatched_at")
        batch_op.drop_column("claimed_until")
        batch_op.drop_column("claim_token")
