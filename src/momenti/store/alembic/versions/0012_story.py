"""story: offers, customer notes, weekly review activities

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('teams') as batch:
        batch.add_column(sa.Column('timezone', sa.String(length=64), nullable=False, server_default='Europe/Rome'))
    op.create_index('ix_contact_skips_customer_key', 'contact_skips', ['customer_key'], unique=False)
    op.create_table('offers',
    sa.Column('id', _ID, sa.Identity(always=False), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=False),
    sa.Column('customer_key', sa.String(length=200), nullable=False),
    sa.Column('offer', sa.String(length=200), nullable=False),
    sa.Column('channel', sa.String(length=50), nullable=True),
    sa.Column('agent', sa.String(length=100), nullable=True),
    sa.Column('proposed_at', sa.DateTime(), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_offers')),
    sa.UniqueConstraint('external_id', name=op.f('uq_offers_external_id')),
    )
    op.create_index('ix_offers_customer_key_proposed_at', 'offers', ['customer_key', 'proposed_at'], unique=False)
    op.create_index(op.f('ix_offers_seq'), 'offers', ['seq'], unique=False)
    op.create_table('customer_notes',
    sa.Column('id', _ID, sa.Identity(always=False), nullable=False),
    sa.Column('customer_key', sa.String(length=200), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('author', sa.String(length=400), nullable=False),
    sa.Column('team', sa.String(length=200), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_notes')),
    )
    op.create_index('ix_customer_notes_customer_key_at', 'customer_notes', ['customer_key', 'at'], unique=False)
    op.create_table('review_activities',
    sa.Column('id', _ID, sa.Identity(always=False), nullable=False),
    sa.Column('team', sa.String(length=200), nullable=False),
    sa.Column('week_start', sa.Date(), nullable=False),
    sa.Column('what', sa.Text(), nullable=False),
    sa.Column('touchpoints', sa.JSON(), nullable=False),
    sa.Column('case_ids', sa.JSON(), nullable=False),
    sa.Column('improvement', sa.Boolean(), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.Column('ease', sa.Integer(), nullable=False),
    sa.Column('pleasantness', sa.Integer(), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=True),
    sa.Column('author', sa.String(length=400), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_activities')),
    sa.UniqueConstraint('external_id', name=op.f('uq_review_activities_external_id')),
    )
    op.create_index('ix_review_activities_team_week', 'review_activities', ['team', 'week_start'], unique=False)
    op.create_table('review_mails',
    sa.Column('id', _ID, sa.Identity(always=False), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('week_start', sa.Date(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('detail', sa.String(length=300), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_mails')),
    sa.UniqueConstraint('kind', 'week_start', 'email', name=op.f('uq_review_mails_kind_week_start_email')),
    )


def downgrade() -> None:
    op.drop_table('review_mails')
    op.drop_table('review_activities')
    op.drop_table('customer_notes')
    op.drop_table('offers')
    op.drop_index('ix_contact_skips_customer_key', 'contact_skips')
    with op.batch_alter_table('teams') as batch:
        batch.drop_column('timezone')
