"""Event images: the picture's description on the event row, its WebP variants in a table.

Revision ID: 0008_images
Revises: 0005_search
Create Date: 2026-12-07

`events.image` (JSON, null when there is none) holds the alt text, the blurred placeholder
and each variant's digest and size, so lists and pages show images without a join.
`image_variants` holds the re-encoded bytes, one row per (event, width), found by digest
when `/media/<digest>.webp` is asked for (models/image.py). A new upload replaces the event's
rows; deleting the event deletes them (ON DELETE CASCADE).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_images"
down_revision: str | None = "0007_accounts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("events", sa.Column("image", sa.JSON(), nullable=True))
    op.create_table(
        "image_variants",
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("event_id", "width"),
    )
    op.create_index("ix_image_variants_digest", "image_variants", ["digest"])


def downgrade() -> None:
    op.drop_table("image_variants")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("image")
