"""update journal: Telegram updates kept from receipt until processed

Revision ID: 0008_update_journal
Revises: 0007_message_queue
Create Date: 2026-12-06 15:40:00

Telegram counts an update as delivered before python-telegram-bot's handlers ran (webhook 200, or the next
getUpdates offset); a gateway killed in between lost it. The journal row is written before the update is
queued in memory and marked done after its handlers ran; undone rows are replayed
(bot/transports/update_journal.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_update_journal"
down_revision: str | None = "0007_message_queue"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "update_journal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("update_id", sa.BigInteger(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("done_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_update_journal")),
        sa.UniqueConstraint("update_id", name=op.f("uq_update_journal_update_id")),
    )
    with op.batch_alter_table("update_journal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_update_journal_received_at"), ["received_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_update_journal_done_at"), ["done_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("update_journal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_update_journal_done_at"))
        batch_op.drop_index(batch_op.f("ix_update_journal_received_at"))
    op.drop_table("update_journal")
