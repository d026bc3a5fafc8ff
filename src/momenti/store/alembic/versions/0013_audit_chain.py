"""audit chain: prev_hash and hash on audit_log, the audit_head row, append-only guards

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04

The chain over the entries already there is computed here, in id order, in batches. The canonical form is
copied from domains/audit.py (`canonical`) on purpose: a migration must keep computing what it computed when
it was written, whatever the application code becomes.
"""

import hashlib
import json

from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

ZERO = '0' * 64
BATCH = 5000
MESSAGE = 'audit_log is append-only'
SQLITE_TRIGGERS = {
    'audit_log_no_update': "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
                           f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
    'audit_log_no_delete': "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
                           f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
}
PG_FUNCTION = ("CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger "
               f"LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '{MESSAGE}'; END $$")
PG_TRIGGERS = {
    'audit_log_no_update': "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
                           "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    'audit_log_no_delete': "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
                           "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
}


def _canonical(prev_hash, at, actor, action, target, detail, ip, note):  # noqa: ANN001, ANN202
    detail_text = None if detail is None else json.dumps(detail, sort_keys=True, separators=(',', ':'),
                                                         ensure_ascii=False)
    return json.dumps([prev_hash, at.isoformat(timespec='microseconds'), actor, action, target, detail_text, ip,
                       note], ensure_ascii=False, separators=(',', ':'))


def _chain(bind) -> tuple:  # noqa: ANN001
    log = sa.table('audit_log', sa.column('id', sa.BigInteger()), sa.column('at', sa.DateTime()),
                   sa.column('actor', sa.String()), sa.column('action', sa.String()),
                   sa.column('target', sa.String()), sa.column('detail', sa.JSON()), sa.column('ip', sa.String()),
                   sa.column('note', sa.Text()))
    set_hash = sa.text('UPDATE audit_log SET prev_hash = :p, hash = :h WHERE id = :i')
    prev, last_id, count = ZERO, None, 0
    while True:
        stmt = sa.select(log.c.id, log.c.at, log.c.actor, log.c.action, log.c.target, log.c.detail, log.c.ip,
                         log.c.note).order_by(log.c.id).limit(BATCH)
        if last_id is not None:
            stmt = stmt.where(log.c.id > last_id)
        rows = bind.execute(stmt).all()
        if not rows:
            return last_id, prev, count
        params = []
        for r in rows:
            digest = hashlib.sha256(_canonical(prev, r.at, r.actor, r.action, r.target, r.detail, r.ip,
                                               r.note).encode('utf-8')).hexdigest()
            params.append({'p': prev, 'h': digest, 'i': r.id})
            prev, last_id = digest, r.id
        bind.execute(set_hash, params)
        count += len(rows)


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table('audit_log') as batch:
        batch.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('hash', sa.String(length=64), nullable=True))
    op.create_table('audit_head',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last_id', sa.BigInteger(), nullable=True),
    sa.Column('last_hash', sa.String(length=64), nullable=False),
    sa.Column('entries', sa.BigInteger(), nullable=False),
    sa.Column('base_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_head')),
    )
    last_id, last_hash, count = _chain(bind)
    bind.execute(sa.text('INSERT INTO audit_head (id, last_id, last_hash, entries, base_hash) '
                         'VALUES (1, :i, :h, :n, :b)'), {'i': last_id, 'h': last_hash, 'n': count, 'b': ZERO})
    with op.batch_alter_table('audit_log') as batch:
        batch.alter_column('hash', existing_type=sa.String(length=64), nullable=False)
    # The guards last: SQLite's batch mode above rebuilds the table, which would drop them.
    if bind.dialect.name == 'postgresql':
        op.execute(PG_FUNCTION)
        for ddl in PG_TRIGGERS.values():
            op.execute(ddl)
    else:
        for ddl in SQLITE_TRIGGERS.values():
            op.execute(ddl)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        for name in PG_TRIGGERS:
            op.execute(f'DROP TRIGGER IF EXISTS {name} ON audit_log')
        op.execute('DROP FUNCTION IF EXISTS audit_log_append_only()')
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f'DROP TRIGGER IF EXISTS {name}')
    op.drop_table('audit_head')
    with op.batch_alter_table('audit_log') as batch:
        batch.drop_column('hash')
        batch.drop_column('prev_hash')
