"""nlu_example: labelled messages learned from operators' corrections and citizens' button choices

Revision ID: 0009_nlu_example
Revises: 0008_update_journal
Create Date: 2026-12-06 15:30:00

The NLU inbox (issue 11): every category an operator corrects on a ticket and every category a citizen picks
from the clarification buttons is kept, PII-masked, for a supervisor to approve and export to nlu/learned/.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_nlu_example"
down_revision: str | None = "0008_update_journal"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "nlu_example",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("intent", sa.String(length=32), nullable=False),
        sa.Column("previous_intent", sa.String(length=32), nullable=True),
        sa.Column("source", sa.String(length=24), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("conversation_id", sa.String(length=96), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("reviewed_by", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["reviewed_by"], ["operator.id"], name=op.f("fk_nlu_example_reviewed_by_operator")
        ),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"], name=op.f("fk_nlu_example_ticket_id_ticket")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nlu_example")),
    )
    op.create_index(op.f("ix_nlu_example_status"), "nlu_example", ["status"], unique=False)
    op.create_index(op.f("ix_nlu_example_ticket_id"), "nlu_example", ["ticket_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_nlu_example_ticket_id"), table_name="nlu_example")
    op.drop_index(op.f("ix_nlu_example_status"), table_name="nlu_example")
    op.drop_table("nlu_example")
