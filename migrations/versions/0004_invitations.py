"""Invitations: team, portal and account invitations with single-use link nonces.

Only a SHA-256 of each link's nonce is stored; "expired" is computed from expires_at.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 01:42:50.373203

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('invitations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=True),
    sa.Column('discipline', sa.String(length=40), nullable=True),
    sa.Column('is_lead', sa.Boolean(), nullable=False),
    sa.Column('invited_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('accepted_by_id', sa.Integer(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_by_id', sa.Integer(), nullable=True),
    sa.Column('send_requested_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('send_count', sa.Integer(), nullable=False),
    sa.Column('nonce_hash', sa.String(length=64), nullable=True),
    sa.CheckConstraint("(kind = 'account' AND client_id IS NULL) OR (kind <> 'account' AND client_id IS NOT NULL)", name=op.f('ck_invitations_client_unless_account')),
    sa.CheckConstraint("(kind = 'portal' AND discipline IS NULL) OR (kind <> 'portal' AND discipline IS NOT NULL)", name=op.f('ck_invitations_discipline_for_providers')),
    sa.CheckConstraint("discipline IN ('therapist', 'psychiatrist', 'dietitian', 'primary_care', 'nurse_practitioner', 'case_manager', 'other')", name=op.f('ck_invitations_discipline_valid')),
    sa.CheckConstraint("kind IN ('team', 'portal', 'account')", name=op.f('ck_invitations_kind_valid')),
    sa.CheckConstraint("status IN ('pending', 'accepted', 'revoked')", name=op.f('ck_invitations_status_valid')),
    sa.CheckConstraint('send_count >= 0', name=op.f('ck_invitations_send_count_valid')),
    sa.ForeignKeyConstraint(['accepted_by_id'], ['users.id'], name=op.f('fk_invitations_accepted_by_id_users')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_invitations_client_id_clients')),
    sa.ForeignKeyConstraint(['invited_by_id'], ['users.id'], name=op.f('fk_invitations_invited_by_id_users')),
    sa.ForeignKeyConstraint(['revoked_by_id'], ['users.id'], name=op.f('fk_invitations_revoked_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invitations'))
    )
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.create_index('ix_invitations_client_status', ['client_id', 'status'], unique=False)
        batch_op.create_index('ix_invitations_email_status', ['email', 'status'], unique=False)
        batch_op.create_index('ix_invitations_invited_by_status', ['invited_by_id', 'status'], unique=False)
        batch_op.create_index('ix_invitations_status_kind', ['status', 'kind'], unique=False)


def downgrade():
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.drop_index('ix_invitations_status_kind')
        batch_op.drop_index('ix_invitations_invited_by_status')
        batch_op.drop_index('ix_invitations_email_status')
        batch_op.drop_index('ix_invitations_client_status')

    op.drop_table('invitations')
