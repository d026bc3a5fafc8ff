"""text analytics results

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('text_results',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), sa.Identity(always=False), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('item_id', sa.BigInteger(), nullable=False),
    sa.Column('question_id', sa.BigInteger(), nullable=False),
    sa.Column('language', sa.String(length=10), nullable=True),
    sa.Column('masked_text', sa.Text(), nullable=False),
    sa.Column('pii_kinds', sa.Text(), nullable=True),
    sa.Column('sentiment', sa.String(length=10), nullable=False),
    sa.Column('sentiment_score', sa.Float(), nullable=False),
    sa.Column('sentiment_confidence', sa.Float(), nullable=False),
    sa.Column('sentiment_source', sa.String(length=20), nullable=False),
    sa.Column('topics', sa.Text(), nullable=False),
    sa.Column('aspects', sa.Text(), nullable=False),
    sa.Column('keywords', sa.Text(), nullable=False),
    sa.Column('analyzer_version', sa.String(length=100), nullable=False),
    sa.Column('analysed_at', sa.DateTime(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_text_results')),
    sa.UniqueConstraint('kind', 'item_id', 'question_id', name=op.f('uq_text_results_kind_item_id_question_id'))
    )
    with op.batch_alter_table('text_results', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_text_results_seq'), ['seq'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('text_results', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_text_results_seq'))
    op.drop_table('text_results')
