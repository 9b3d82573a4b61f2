from __future__ import annotations

from sqlalchemy import inspect

from hotline.db.migrate import upgrade
from hotline.db.models import Base
from hotline.db.session import get_engine


def test_migrations_create_every_model_table(db_url: str) -> None:
    tables = set(inspect(get_engine(db_url)).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_upgrade_is_idempotent(db_url: str) -> None:
    upgrade(db_url)  # second run at head must be a no-op, not an error
    assert "ticket" in inspect(get_engine(db_url)).get_table_names()


def test_migration_matches_models(db_url: str) -> None:
    """Autogenerate against the migrated DB finds nothing: models and migrations agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with get_engine(db_url).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_attachment_table_dropped_and_restored_by_downgrade(db_url: str) -> None:
    """0006 drops the never-used `attachment` table; its downgrade brings it back, upgrade drops it again."""
    from alembic import command

    from hotline.db.migrate import alembic_config

    def tables() -> set[str]:
        return set(inspect(get_engine(db_url)).get_table_names())

    assert "attachment" not in tables()
    cfg = alembic_config(db_url)
    with get_engine(db_url).begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0005")
    assert "attachment" in tables()
    upgrade(db_url)
    assert "attachment" not in tables()
