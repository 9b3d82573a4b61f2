"""appointments at the county centres (预约)

Revision ID: 0011_appointments
Revises: 0010_kb_proposals
Create Date: 2026-12-06 15:00:00

One row per booking. A live booking holds one seat of its slot; (county, start, seat) is unique, so two
concurrent bookings cannot take the same seat, and `active_ticket_id` (unique) gives a ticket one live
booking at a time. Cancelling sets both to NULL.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_appointments"
down_revision: str | None = "0010_kb_proposals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUS = sa.Enum(
    "BOOKED",
    "CANCELLED",
    "REBOOKED",
    "ATTENDED",
    "NO_SHOW",
    name="appointmentstatus",
    native_enum=False,
    length=16,
)


def upgrade() -> None:
    op.create_table(
        "appointment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=96), nullable=True),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("ends_at", sa.DateTime(), nullable=False),
        sa.Column("seat", sa.Integer(), nullable=True),
        sa.Column("active_ticket_id", sa.Integer(), nullable=True),
        sa.Column("status", STATUS, nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("reminded_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"], name=op.f("fk_appointment_ticket_id_ticket")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointment")),
        sa.UniqueConstraint("county_code", "starts_at", "seat", name=op.f("uq_appointment_county_code")),
        sa.UniqueConstraint("active_ticket_id", name=op.f("uq_appointment_active_ticket_id")),
    )
    op.create_index("ix_appointment_county_starts", "appointment", ["county_code", "starts_at"])
    op.create_index(op.f("ix_appointment_ticket_id"), "appointment", ["ticket_id"])
    op.create_index(op.f("ix_appointment_conversation_id"), "appointment", ["conversation_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_appointment_conversation_id"), table_name="appointment")
    op.drop_index(op.f("ix_appointment_ticket_id"), table_name="appointment")
    op.drop_index("ix_appointment_county_starts", table_name="appointment")
    op.drop_table("appointment")
