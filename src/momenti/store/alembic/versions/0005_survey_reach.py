"""survey reach: link uses, invitations, deliveries, unsubscribes, contact skips, triggers, rules

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-09
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('link_uses',
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('survey_key', sa.String(length=100), nullable=False),
    sa.Column('customer_key', sa.String(length=200), nullable=True),
    sa.Column('used_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('nonce', name=op.f('pk_link_uses'))
    )
    op.create_table('reach_rules',
    sa.Column('survey_key', sa.String(length=100), nullable=False),
    sa.Column('max_per_day', sa.Integer(), nullable=True),
    sa.Column('max_per_week', sa.Integer(), nullable=True),
    sa.Column('sample_rate', sa.Float(), nullable=False),
    sa.Column('sample_seed', sa.String(length=100), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('survey_key', name=op.f('pk_reach_rules'))
    )
    op.create_table('invitations',
    sa.Column('id', BigId, sa.Identity(always=False), nullable=False),
    sa.Column('survey_key', sa.String(length=100), nullable=False),
    sa.Column('customer_key', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('language', sa.String(length=10), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('touchpoint', sa.String(length=100), nullable=True),
    sa.Column('trigger_event', sa.String(length=200), nullable=True),
    sa.Column('link_nonce', sa.String(length=64), nullable=True),
    sa.Column('link_token', sa.Text(), nullable=True),
    sa.Column('link_expires_at', sa.DateTime(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('planned_at', sa.DateTime(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.Column('reminded_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invitations')),
    sa.UniqueConstraint('survey_key', 'customer_key', 'trigger_event', name=op.f('uq_invitations_survey_key_customer_key_trigger_event'))
    )
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invitations_survey_key'), ['survey_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_invitations_customer_key'), ['customer_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_invitations_link_nonce'), ['link_nonce'], unique=False)
        batch_op.create_index(batch_op.f('ix_invitations_planned_at'), ['planned_at'], unique=False)
    op.create_table('deliveries',
    sa.Column('id', BigId, sa.Identity(always=False), nullable=False),
    sa.Column('invitation_id', BigId, nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('message_id', sa.String(length=300), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['invitation_id'], ['invitations.id'], name=op.f('fk_deliveries_invitation_id_invitations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deliveries'))
    )
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deliveries_invitation_id'), ['invitation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_deliveries_message_id'), ['message_id'], unique=False)
    op.create_table('unsubscribes',
    sa.Column('customer_key', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('customer_key', name=op.f('pk_unsubscribes'))
    )
    with op.batch_alter_table('unsubscribes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unsubscribes_email'), ['email'], unique=False)
    op.create_table('contact_skips',
    sa.Column('id', BigId, sa.Identity(always=False), nullable=False),
    sa.Column('survey_key', sa.String(length=100), nullable=False),
    sa.Column('customer_key', sa.String(length=200), nullable=False),
    sa.Column('reason', sa.String(length=30), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('trigger_event', sa.String(length=200), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_skips'))
    )
    with op.batch_alter_table('contact_skips', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contact_skips_survey_key'), ['survey_key'], unique=False)
    op.create_table('invite_triggers',
    sa.Column('survey_key', sa.String(length=100), nullable=False),
    sa.Column('activity', sa.String(length=200), nullable=False),
    sa.Column('last_event_id', sa.BigInteger(), nullable=False),
    sa.Column('last_run_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('survey_key', 'activity', name=op.f('pk_invite_triggers'))
    )


def downgrade() -> None:
    op.drop_table('invite_triggers')
    with op.batch_alter_table('contact_skips', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contact_skips_survey_key'))
    op.drop_table('contact_skips')
    with op.batch_alter_table('unsubscribes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unsubscribes_email'))
    op.drop_table('unsubscribes')
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deliveries_message_id'))
        batch_op.drop_index(batch_op.f('ix_deliveries_invitation_id'))
    op.drop_table('deliveries')
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invitations_planned_at'))
        batch_op.drop_index(batch_op.f('ix_invitations_link_nonce'))
        batch_op.drop_index(batch_op.f('ix_invitations_customer_key'))
        batch_op.drop_index(batch_op.f('ix_invitations_survey_key'))
    op.drop_table('invitations')
    op.drop_table('reach_rules')
    op.drop_table('link_uses')
