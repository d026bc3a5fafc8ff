"""text original policy: the encrypted original of an analysed comment (MOMENTI_TEXT_KEEP_ORIGINAL)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-12
"""

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('text_results', schema=None) as batch_op:
        batch_op.add_column(sa.Column('original_enc', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('text_results', schema=None) as batch_op:
        batch_op.drop_column('original_enc')
