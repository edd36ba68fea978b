"""users.age within 0..150, as the API has it

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_check_constraint("users_age_range", "users", "age BETWEEN 0 AND 150")


def downgrade() -> None:
    op.drop_constraint("users_age_range", "users", type_="check")
