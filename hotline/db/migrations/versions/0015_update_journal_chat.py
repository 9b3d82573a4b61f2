"""update journal: the update's chat, so replicas keep one chat's updates in order

Revision ID: 0015_update_journal_chat
Revises: 0014_report_rollups
Create Date: 2026-12-06 18:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_update_journal_chat"
down_revision: str | None = "0014_report_rollups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("update_journal", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chat_id", sa.BigInteger(), nullable=True))
        batch_op.create_index("ix_update_journal_chat", ["chat_id", "update_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("update_journal", schema=None) as batch_op:
        batch_op.drop_index("ix_update_journal_chat")
        batch_op.drop_column("chat_id")
