"""outbox: events written in the same transaction as the data, and what each subscriber has handled

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sqlite_autoincrement=True,
    )
    op.create_index(op.f('ix_outbox_kind'), 'outbox', ['kind'], unique=False)
    op.create_table('outbox_delivered',
    sa.Column('subscriber', sa.String(length=64), nullable=False),
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('delivered_at', sa.DateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['outbox.id'], name=op.f('fk_outbox_delivered_event_id_outbox'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('subscriber', 'event_id', name=op.f('pk_outbox_delivered')),
    )


def downgrade() -> None:
    op.drop_table('outbox_delivered')
    op.drop_index(op.f('ix_outbox_kind'), table_name='outbox')
    op.drop_table('outbox')
