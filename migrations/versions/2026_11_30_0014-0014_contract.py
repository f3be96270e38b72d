"""Yellow gold is stored as `yellow_gold`, not `gold`.

`gold` read as "any gold" although white and rose gold have their own values. Products,
variants and the options recorded on order lines are renamed; no column changes.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 06:20:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_order_lines = sa.table(
    'order_lines', sa.column('id', sa.Uuid()), sa.column('options', sa.JSON())
)


def _rename(old: str, new: str) -> None:
    for table in ('products', 'variants'):
        op.execute(sa.text(f"UPDATE {table} SET metal = :new WHERE metal = :old").bindparams(
            new=new, old=old
        ))
    bind = op.get_bind()
    # JSON is compared in Python: the same code then works on SQLite and PostgreSQL.
    for line_id, options in bind.execute(sa.select(_order_lines.c.id, _order_lines.c.options)):
        if isinstance(options, dict) and options.get('metal') == old:
            bind.execute(
                _order_lines.update()
                .where(_order_lines.c.id == line_id)
                .values(options={**options, 'metal': new})
            )


def upgrade() -> None:
    _rename('gold', 'yellow_gold')


def downgrade() -> None:
    _rename('yellow_gold', 'gold')
