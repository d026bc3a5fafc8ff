"""surveys: definitions, versions, respondent sessions

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('surveys',
    sa.Column('id', BigId, sa.Identity(always=False), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('allow_anonymous', sa.Boolean(), nullable=False),
    sa.Column('closes_at', sa.DateTime(), nullable=True),
    sa.Column('current_version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_surveys')),
    sa.UniqueConstraint('key', name=op.f('uq_surveys_key'))
    )
    op.create_table('survey_versions',
    sa.Column('id', BigId, sa.Identity(always=False), nullable=False),
    sa.Column('survey_id', BigId, nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['survey_id'], ['surveys.id'], name=op.f('fk_survey_versions_survey_id_surveys')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_versions')),
    sa.UniqueConstraint('survey_id', 'version', name=op.f('uq_survey_versions_survey_id_version'))
    )
    op.create_table('survey_sessions',
    sa.Column('id', BigId, sa.Identity(always=False), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('survey_key', sa.String(length=100), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('customer_key', sa.String(length=200), nullable=True),
    sa.Column('touchpoint', sa.String(length=100), nullable=False),
    sa.Column('hidden', sa.Text(), nullable=True),
    sa.Column('language', sa.String(length=10), nullable=False),
    sa.Column('link_nonce', sa.String(length=200), nullable=True),
    sa.Column('answers', sa.Text(), nullable=False),
    sa.Column('page', sa.Integer(), nullable=False),
    sa.Column('trail', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('response_external_id', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_sessions')),
    sa.UniqueConstraint('token', name=op.f('uq_survey_sessions_token'))
    )
    with op.batch_alter_table('survey_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_survey_sessions_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_survey_sessions_updated_at'), ['updated_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('survey_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_survey_sessions_updated_at'))
        batch_op.drop_index(batch_op.f('ix_survey_sessions_status'))
    op.drop_table('survey_sessions')
    op.drop_table('survey_versions')
    op.drop_table('surveys')
