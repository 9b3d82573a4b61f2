"""Schema creation/upgrade at start-up, so a deployment never needs a manual migration step."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from hotline.db.session import get_engine, normalise_url

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str) -> None:
    """Bring the database to the newest revision (idempotent)."""
    cfg = alembic_config(url)
    with get_engine(url).begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
