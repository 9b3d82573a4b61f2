"""Backups of the application database, verifying a backup, restoring one, and keeping N days of them.

SQLite is copied with SQLite's online backup API (`sqlite3.Connection.backup`): a consistent snapshot while
the gateway and action server keep writing, which a file copy of a WAL database is not. PostgreSQL is
dumped with `pg_dump -Fc` and restored with `pg_restore --clean --single-transaction`, so a failed restore
leaves the database as it was. A backup is written under a temporary name, checked, then renamed: a file
named `hotline-YYYYMMDD-HHMMSS.*` is always complete. Restore checks the file first (SQLite's integrity
check, or pg_restore's table of contents) and that it holds our schema (`alembic_version`).

Rotation keeps the backups of the last N days that have any ("keep N daily"; a day's manual backups stay
with its scheduled one) and only ever deletes files whose names this module wrote.
"""

from __future__ import annotations

import datetime as dt
import glob
import os
import re
import shutil
import sqlite3
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from sqlalchemy.engine import URL, make_url

from hotline.db.session import normalise_url
from hotline.settings import PROJECT_ROOT, Settings

Kind = Literal["sqlite", "postgresql"]

PREFIX = "hotline-"
STAMP = "%Y%m%d-%H%M%S"
SUFFIXES: dict[Kind, str] = {"sqlite": ".sqlite3", "postgresql": ".pgdump"}
NAME_RE = re.compile(r"^hotline-(\d{8})-(\d{6})(?:-(\d+))?\.(sqlite3|pgdump)$")
SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"
# SQLite copies in one step: one read transaction, which in WAL mode does not block the bot's writers;
# copying in several steps would start over each time another process writes in between (busy hours).
PAGES_PER_STEP = -1
PG_TIMEOUT_SECONDS = 6 * 3600


class BackupError(Exception):
    """A backup or restore could not be done; the message (Chinese) says why and what to do."""


@dataclass(frozen=True)
class Verified:
    """What a backup file holds, as far as can be told without restoring it."""

    kind: Kind
    revision: str | None  # Alembic schema revision in the backup
    tickets: int | None = None  # SQLite only (a PostgreSQL archive is not opened)

    def describe(self) -> str:
        kind = "SQLite" if self.kind == "sqlite" else "PostgreSQL (pg_dump -Fc)"
        tickets = f"，工单 {self.tickets} 件" if self.tickets is not None else ""
        return f"{kind} 备份，数据库结构版本 {self.revision or '未知'}{tickets}"


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    seconds: float
    verified: Verified
    removed: list[Path] = field(default_factory=list)


# --- where and what ------------------------------------------------------------------------------------
def kind_of_url(url: str) -> Kind:
    name = make_url(url).get_backend_name()
    if name == "sqlite":
        return "sqlite"
    if name in ("postgresql", "postgres"):
        return "postgresql"
    raise BackupError(f"不支持备份此类数据库：{name}（仅支持 SQLite 与 PostgreSQL）")


def sqlite_path(url: str) -> Path:
    database = make_url(normalise_url(url)).database
    if not database or database == ":memory:":
        raise BackupError("内存数据库无法备份（DATABASE_URL 须指向一个文件）")
    return Path(database)


def backup_dir(settings: Settings, to: str | Path | None = None) -> Path:
    """`--to`, else `backup.dir` (relative to the project root, like the SQLite path)."""
    path = Path(to) if to is not None else Path(settings.backup.dir)
    return path if path.is_absolute() else PROJECT_ROOT / path


def kind_of_file(path: Path) -> Kind:
    """SQLite or pg_dump custom archive, from the file's first bytes (not its name)."""
    try:
        with path.open("rb") as f:
            head = f.read(len(SQLITE_MAGIC))
    except FileNotFoundError as exc:
        raise BackupError(f"备份文件不存在：{path}") from exc
    except IsADirectoryError as exc:
        raise BackupError(f"{path} 是目录，不是备份文件") from exc
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PGDUMP_MAGIC):
        return "postgresql"
    raise BackupError(f"{path} 不是本系统的备份文件（既不是 SQLite 数据库，也不是 pg_dump -Fc 归档）")


def _new_name(directory: Path, kind: Kind, now: dt.datetime) -> Path:
    base = f"{PREFIX}{now.strftime(STAMP)}"
    path = directory / f"{base}{SUFFIXES[kind]}"
    n = 2
    while path.exists():  # two backups within one second
        path = directory / f"{base}-{n}{SUFFIXES[kind]}"
        n += 1
    return path


# --- PostgreSQL tools ----------------------------------------------------------------------------------
def find_pg_tool(name: str, bin_dir: str | None = None) -> Path:
    """`pg_dump`/`pg_restore`: from `backup.pg_bin_dir`, else the newest /usr/lib/postgresql/<v>/bin
    (Debian; a dump tool must be at least the server's version), else PATH."""
    if bin_dir:
        path = Path(bin_dir) / name
        if path.is_file():
            return path
        raise BackupError(f"在 backup.pg_bin_dir={bin_dir} 中找不到 {name}")
    versions = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0,
        reverse=True,
    )
    found = versions[0] if versions else shutil.which(name)
    if not found:
        raise BackupError(
            f"找不到 {name}：请安装 PostgreSQL 客户端（Debian/Ubuntu: apt-get install postgresql-client），"
            "或在配置 backup.pg_bin_dir 中写明其所在目录"
        )
    return Path(found)


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection URL without the password (visible in `ps`), and the environment carrying it."""
    parsed: URL = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(argv: list[str], env: dict[str, str], what: str) -> str:
    try:
        done = subprocess.run(
            argv, env=env, capture_output=True, text=True, timeout=PG_TIMEOUT_SECONDS, check=False
        )
    except OSError as exc:
        raise BackupError(f"无法运行 {argv[0]}：{exc}") from exc
    if done.returncode != 0:
        raise BackupError(
            f"{what}失败（{Path(argv[0]).name} 退出码 {done.returncode}）：{done.stderr.strip()[-800:]}"
        )
    return done.stdout


def _pg_archive_revision(pg_restore: Path, path: Path) -> str | None:
    """The alembic_version row inside a custom archive (pg_restore prints its COPY data as SQL)."""
    out = _run(
        [str(pg_restore), "--data-only", "--table=alembic_version", "--file=-", str(path)],
        dict(os.environ),
        "读取备份中的数据库结构版本",
    )
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("COPY ") and "alembic_version" in line and i + 1 < len(lines):
            value = lines[i + 1].strip()
            return None if value == "\\." else value
    return None


# --- verify --------------------------------------------------------------------------------------------
def verify(path: Path, bin_dir: str | None = None) -> Verified:
    """Check a backup file before it is trusted: complete, readable, and one of our databases."""
    kind = kind_of_file(path)
    if kind == "sqlite":
        return _verify_sqlite(path)
    pg_restore = find_pg_tool("pg_restore", bin_dir)
    toc = _run([str(pg_restore), "--list", str(path)], dict(os.environ), "检查备份文件")
    if not re.search(r"TABLE \S+ alembic_version ", toc):
        raise BackupError(f"{path} 是 PostgreSQL 归档，但不含本系统的数据表（缺少 alembic_version）")
    return Verified("postgresql", _pg_archive_revision(pg_restore, path))


def _verify_sqlite(path: Path) -> Verified:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise BackupError(f"无法打开备份文件 {path}：{exc}") from exc
    try:
        result = conn.execute("PRAGMA integrity_check").fetchone()
        if not result or result[0] != "ok":
            raise BackupError(
                f"备份文件 {path} 已损坏（integrity_check: {result[0] if result else '无结果'}）"
            )
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "alembic_version" not in tables:
            raise BackupError(f"{path} 是 SQLite 数据库，但不是本系统的数据库（缺少 alembic_version 表）")
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        tickets = conn.execute("SELECT count(*) FROM ticket").fetchone()[0] if "ticket" in tables else None
        return Verified("sqlite", row[0] if row else None, tickets)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"备份文件 {path} 无法读取：{exc}") from exc
    finally:
        conn.close()


# --- backup --------------------------------------------------------------------------------------------
def backup(
    url: str,
    directory: Path,
    *,
    now: dt.datetime,
    keep_daily: int | None = None,
    bin_dir: str | None = None,
) -> BackupResult:
    """Write one verified backup of the database at `url` into `directory`, then rotate (if keep_daily)."""
    kind = kind_of_url(url)
    directory.mkdir(parents=True, exist_ok=True)
    final = _new_name(directory, kind, now)
    tmp = final.with_name(f".{final.name}.part")
    started = time.monotonic()
    try:
        if kind == "sqlite":
            _backup_sqlite(sqlite_path(url), tmp)
        else:
            pg_dump = find_pg_tool("pg_dump", bin_dir)
            target, env = _libpq(normalise_url(url))
            _run([str(pg_dump), "-Fc", f"--file={tmp}", f"--dbname={target}"], env, "备份（pg_dump）")
        verified = verify(tmp, bin_dir)
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    removed = rotate(directory, keep_daily) if keep_daily else []
    return BackupResult(final, final.stat().st_size, time.monotonic() - started, verified, removed)


def _backup_sqlite(source: Path, target: Path) -> None:
    if not source.is_file():
        raise BackupError(f"数据库文件不存在：{source}")
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst, pages=PAGES_PER_STEP)
        dst.execute("PRAGMA journal_mode=DELETE")  # a standalone file: no -wal/-shm needed to read it
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite 备份失败：{exc}") from exc
    finally:
        dst.close()
        src.close()


# --- restore -------------------------------------------------------------------------------------------
def restore(url: str, path: Path, *, bin_dir: str | None = None) -> Verified:
    """Replace the database at `url` with the backup `path` (verified first). Returns what was restored."""
    verified = verify(path, bin_dir)
    kind = kind_of_url(url)
    if verified.kind != kind:
        raise BackupError(f"备份文件是 {verified.kind} 数据库，而当前 DATABASE_URL 是 {kind}：不能跨类型恢复")
    if kind == "sqlite":
        _restore_sqlite(path, sqlite_path(url))
    else:
        pg_restore = find_pg_tool("pg_restore", bin_dir)
        target, env = _libpq(normalise_url(url))
        argv = [
            str(pg_restore),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",  # all or nothing
            "--exit-on-error",
            f"--dbname={target}",
            str(path),
        ]
        _run(argv, env, "恢复（pg_restore）")
    return verified


def _restore_sqlite(source: Path, target: Path) -> None:
    """The backup API in the other direction: pages replaced under SQLite's own locking, so processes that
    still have the file open see the restored database instead of a file swapped under them."""
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target, timeout=30)
    try:
        src.backup(dst, pages=PAGES_PER_STEP)
        dst.execute("PRAGMA journal_mode=WAL")  # as hotline.db.session opens it
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite 恢复失败：{exc}") from exc
    finally:
        dst.close()
        src.close()


# --- rotation ------------------------------------------------------------------------------------------
def backups_in(directory: Path) -> list[Path]:
    """Our backup files in `directory`, oldest first (by the time in their names)."""
    if not directory.is_dir():
        return []
    found = [p for p in directory.iterdir() if p.is_file() and NAME_RE.match(p.name)]
    return sorted(found, key=_sort_key)


def _sort_key(path: Path) -> tuple[str, str, int]:
    m = NAME_RE.match(path.name)
    assert m is not None
    return m.group(1), m.group(2), int(m.group(3) or 1)


def rotate(directory: Path, keep_daily: int) -> list[Path]:
    """Keep the backups of the `keep_daily` most recent days that have any; delete older ones.

    Every backup of a kept day stays (not only its newest): a manual backup taken before an upgrade, or
    the one just restored from, is never deleted by a later backup on the same day.
    """
    if keep_daily < 1:
        raise ValueError("keep_daily must be at least 1")
    found = backups_in(directory)
    days = sorted({_sort_key(path)[0] for path in found}, reverse=True)[:keep_daily]
    removed = [path for path in found if _sort_key(path)[0] not in days]
    for path in removed:
        path.unlink(missing_ok=True)
    return removed


def newest_backup_time(directory: Path) -> float | None:
    """Modification time (Unix seconds) of the newest backup in `directory`: what the backup-age alert
    watches."""
    found = backups_in(directory)
    return found[-1].stat().st_mtime if found else None


def backup_now(
    settings: Settings,
    to: str | Path | None = None,
    *,
    rotate: bool = True,
) -> BackupResult:
    """One backup as configured (`backup:` section); rotation only in the configured directory."""
    from zoneinfo import ZoneInfo

    directory = backup_dir(settings, to)
    keep = settings.backup.keep_daily if rotate and directory == backup_dir(settings) else None
    now = dt.datetime.now(ZoneInfo(settings.city.timezone))
    return backup(
        settings.database_url,
        directory,
        now=now,
        keep_daily=keep,
        bin_dir=settings.backup.pg_bin_dir,
    )
