"""knowledge-base proposals: entries operators propose from a ticket's answer, approved by supervisors

Revision ID: 0010_kb_proposals
Revises: 0009_nlu_example
Create Date: 2026-12-06 15:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_kb_proposals"
down_revision: str | None = "0009_nlu_example"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "kb_proposal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("questions", sa.JSON(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("articles", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("proposed_by", sa.Integer(), nullable=False),
        sa.Column("proposed_at", sa.DateTime(), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=False),
        sa.Column("entry_id", sa.String(length=64), nullable=True),
        sa.Column("checked_by", sa.String(length=96), nullable=True),
        sa.Column("last_checked", sa.Date(), nullable=True),
        sa.Column("review_due", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["operator.id"], name=op.f("fk_kb_proposal_decided_by_operator")
        ),
        sa.ForeignKeyConstraint(
            ["proposed_by"], ["operator.id"], name=op.f("fk_kb_proposal_proposed_by_operator")
        ),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"], name=op.f("fk_kb_proposal_ticket_id_ticket")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_proposal")),
        sa.UniqueConstraint("entry_id", name=op.f("uq_kb_proposal_entry_id")),
    )
    with op.batch_alter_table("kb_proposal", schema=None) as batch_op:
        batch_op.create_index("ix_kb_proposal_status", ["status", "decided_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_kb_proposal_ticket_id"), ["ticket_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("kb_proposal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kb_proposal_ticket_id"))
        batch_op.drop_index("ix_kb_proposal_status")
    op.drop_table("kb_proposal")
