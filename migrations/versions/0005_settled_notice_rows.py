"""The database refuses to change a client's answer to a notice once given, or an e-mail once sent

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""
from alembic import op
from sqlalchemy import text


revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Frozen SQL (no import of dpa_tracker): later changes to the package's protection helpers must not
# change what this migration did.
UPGRADE = {'postgresql': ["CREATE OR REPLACE FUNCTION dpa_refuse_change() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION '% "
                "rows are immutable', TG_TABLE_NAME; END; $$ LANGUAGE plpgsql",
                'CREATE TRIGGER notice_recipient_no_delete BEFORE DELETE ON notice_recipient FOR EACH ROW EXECUTE '
                'FUNCTION dpa_refuse_change()',
                'CREATE TRIGGER notice_recipient_content_fixed BEFORE UPDATE ON notice_recipient FOR EACH ROW WHEN '
                "(OLD.state <> 'pending') EXECUTE FUNCTION dpa_refuse_change()",
                "CREATE OR REPLACE FUNCTION dpa_refuse_change() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION '% "
                "rows are immutable', TG_TABLE_NAME; END; $$ LANGUAGE plpgsql",
                'CREATE TRIGGER notice_delivery_no_delete BEFORE DELETE ON notice_delivery FOR EACH ROW EXECUTE '
                'FUNCTION dpa_refuse_change()',
                'CREATE TRIGGER notice_delivery_content_fixed BEFORE UPDATE ON notice_delivery FOR EACH ROW WHEN '
                "(OLD.state = 'sent') EXECUTE FUNCTION dpa_refuse_change()"],
 'sqlite': ['CREATE TRIGGER notice_recipient_no_delete BEFORE DELETE ON notice_recipient BEGIN SELECT RAISE(ABORT, '
            "'notice_recipient rows are immutable'); END",
            'CREATE TRIGGER notice_recipient_content_fixed BEFORE UPDATE ON notice_recipient FOR EACH ROW WHEN '
            "OLD.state <> 'pending' BEGIN SELECT RAISE(ABORT, 'notice_recipient rows are immutable'); END",
            'CREATE TRIGGER notice_delivery_no_delete BEFORE DELETE ON notice_delivery BEGIN SELECT RAISE(ABORT, '
            "'notice_delivery rows are immutable'); END",
            'CREATE TRIGGER notice_delivery_content_fixed BEFORE UPDATE ON notice_delivery FOR EACH ROW WHEN '
            "OLD.state = 'sent' BEGIN SELECT RAISE(ABORT, 'notice_delivery rows are immutable'); END"]}

DOWNGRADE = {'postgresql': ['DROP TRIGGER IF EXISTS notice_recipient_immutable ON notice_recipient',
                'DROP TRIGGER IF EXISTS notice_recipient_no_delete ON notice_recipient',
                'DROP TRIGGER IF EXISTS notice_recipient_content_fixed ON notice_recipient',
                'DROP TRIGGER IF EXISTS notice_delivery_immutable ON notice_delivery',
                'DROP TRIGGER IF EXISTS notice_delivery_no_delete ON notice_delivery',
                'DROP TRIGGER IF EXISTS notice_delivery_content_fixed ON notice_delivery'],
 'sqlite': ['DROP TRIGGER IF EXISTS notice_recipient_no_update',
            'DROP TRIGGER IF EXISTS notice_recipient_no_delete',
            'DROP TRIGGER IF EXISTS notice_recipient_content_fixed',
            'DROP TRIGGER IF EXISTS notice_delivery_no_update',
            'DROP TRIGGER IF EXISTS notice_delivery_no_delete',
            'DROP TRIGGER IF EXISTS notice_delivery_content_fixed']}


def upgrade():
    for statement in UPGRADE[op.get_bind().dialect.name]:
        op.execute(text(statement))


def downgrade():
    for statement in DOWNGRADE[op.get_bind().dialect.name]:
        op.execute(text(statement))
