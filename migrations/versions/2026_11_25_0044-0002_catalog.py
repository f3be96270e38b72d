"""Catalog: categories, products, variants, inventory ledger, images, pages.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 00:44:40.653040+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('categories',
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('parent_id', sa.Uuid(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('is_published', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['categories.id'], name=op.f('fk_categories_parent_id_categories'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_categories')),
    sa.UniqueConstraint('slug', name=op.f('uq_categories_slug'))
    )
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_categories_parent_id'), ['parent_id'], unique=False)

    op.create_table('pages',
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('summary', sa.String(length=500), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('is_published', sa.Boolean(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pages')),
    sa.UniqueConstraint('slug', name=op.f('uq_pages_slug'))
    )
    op.create_table('products',
    sa.Column('slug', sa.String(length=120), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('category_id', sa.Uuid(), nullable=False),
    sa.Column('metal', sa.Enum('gold', 'white_gold', 'rose_gold', 'platinum', 'silver', 'tungsten', 'titanium', name='metal', native_enum=False, length=16), nullable=False),
    sa.Column('metal_purity', sa.Enum('10k', '14k', '18k', '925', '950', name='metalpurity', native_enum=False, length=8), nullable=True),
    sa.Column('stone_type', sa.Enum('diamond', 'lab_diamond', 'sapphire', 'ruby', 'emerald', 'pearl', 'moissanite', 'amethyst', 'aquamarine', 'topaz', 'none', name='stonetype', native_enum=False, length=16), nullable=True),
    sa.Column('carat_points', sa.Integer(), nullable=True),
    sa.Column('cut', sa.Enum('ideal', 'excellent', 'very_good', 'good', 'fair', 'poor', name='diamondcut', native_enum=False, length=16), nullable=True),
    sa.Column('color', sa.String(length=1), nullable=True),
    sa.Column('clarity', sa.Enum('FL', 'IF', 'VVS1', 'VVS2', 'VS1', 'VS2', 'SI1', 'SI2', 'I1', 'I2', 'I3', name='diamondclarity', native_enum=False, length=8), nullable=True),
    sa.Column('grading_lab', sa.Enum('GIA', 'IGI', 'AGS', 'HRD', 'GCAL', name='gradinglab', native_enum=False, length=8), nullable=True),
    sa.Column('certificate_number', sa.String(length=40), nullable=True),
    sa.Column('is_published', sa.Boolean(), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('curated_rank', sa.Integer(), nullable=True),
    sa.Column('price_from_minor', sa.BigInteger(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('units_sold', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('carat_points IS NULL OR carat_points > 0', name=op.f('ck_products_carat_positive')),
    sa.ForeignKeyConstraint(['category_id'], ['categories.id'], name=op.f('fk_products_category_id_categories'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_products')),
    sa.UniqueConstraint('slug', name=op.f('uq_products_slug'))
    )
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_products_carat_points'), ['carat_points'], unique=False)
        batch_op.create_index(batch_op.f('ix_products_category_id'), ['category_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_products_clarity'), ['clarity'], unique=False)
        batch_op.create_index(batch_op.f('ix_products_color'), ['color'], unique=False)
        batch_op.create_index(batch_op.f('ix_products_cut'), ['cut'], unique=False)
        batch_op.create_index(batch_op.f('ix_products_metal'), ['metal'], unique=False)
        batch_op.create_index(batch_op.f('ix_products_price_from_minor'), ['price_from_minor'], unique=False)
        batch_op.create_index('ix_products_published_created', ['is_published', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_products_published_name', ['is_published', 'name', 'id'], unique=False)
        batch_op.create_index('ix_products_published_price', ['is_published', 'price_from_minor', 'id'], unique=False)
        batch_op.create_index('ix_products_published_sold', ['is_published', 'units_sold', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_products_stone_type'), ['stone_type'], unique=False)

    op.create_table('product_images',
    sa.Column('product_id', sa.Uuid(), nullable=False),
    sa.Column('url', sa.String(length=500), nullable=False),
    sa.Column('alt_text', sa.String(length=300), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_product_images_product_id_products'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product_images'))
    )
    with op.batch_alter_table('product_images', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_product_images_product_id'), ['product_id'], unique=False)

    op.create_table('variants',
    sa.Column('product_id', sa.Uuid(), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('ring_size', sa.String(length=8), nullable=True),
    sa.Column('chain_length_cm', sa.Integer(), nullable=True),
    sa.Column('metal', sa.Enum('gold', 'white_gold', 'rose_gold', 'platinum', 'silver', 'tungsten', 'titanium', name='metal', native_enum=False, length=16), nullable=True),
    sa.Column('price_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('stock_on_hand', sa.Integer(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('price_minor >= 0', name=op.f('ck_variants_price_not_negative')),
    sa.CheckConstraint('stock_on_hand >= 0', name=op.f('ck_variants_stock_not_negative')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_variants_product_id_products'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_variants')),
    sa.UniqueConstraint('sku', name=op.f('uq_variants_sku'))
    )
    with op.batch_alter_table('variants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_variants_product_id'), ['product_id'], unique=False)

    op.create_table('inventory_movements',
    sa.Column('variant_id', sa.Uuid(), nullable=False),
    sa.Column('delta', sa.Integer(), nullable=False),
    sa.Column('stock_after', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Enum('initial', 'restock', 'correction', 'damaged', 'returned', 'sale', 'release', name='movementreason', native_enum=False, length=16), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('actor_account_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['actor_account_id'], ['accounts.id'], name=op.f('fk_inventory_movements_actor_account_id_accounts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['variant_id'], ['variants.id'], name=op.f('fk_inventory_movements_variant_id_variants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inventory_movements'))
    )
    with op.batch_alter_table('inventory_movements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inventory_movements_variant_id'), ['variant_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('inventory_movements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inventory_movements_variant_id'))

    op.drop_table('inventory_movements')
    with op.batch_alter_table('variants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_variants_product_id'))

    op.drop_table('variants')
    with op.batch_alter_table('product_images', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_product_images_product_id'))

    op.drop_table('product_images')
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_products_stone_type'))
        batch_op.drop_index('ix_products_published_sold')
        batch_op.drop_index('ix_products_published_price')
        batch_op.drop_index('ix_products_published_name')
        batch_op.drop_index('ix_products_published_created')
        batch_op.drop_index(batch_op.f('ix_products_price_from_minor'))
        batch_op.drop_index(batch_op.f('ix_products_metal'))
        batch_op.drop_index(batch_op.f('ix_products_cut'))
        batch_op.drop_index(batch_op.f('ix_products_color'))
        batch_op.drop_index(batch_op.f('ix_products_clarity'))
        batch_op.drop_index(batch_op.f('ix_products_category_id'))
        batch_op.drop_index(batch_op.f('ix_products_carat_points'))

    op.drop_table('products')
    op.drop_table('pages')
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_categories_parent_id'))

    op.drop_table('categories')
