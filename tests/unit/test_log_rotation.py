"""Log files do not grow without bound: each process's file rotates by size, masked like the terminal."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from hotline.cli import main as cli_main
from hotline.logging_setup import MB, rotate_if_large, setup_logging
from hotline.settings import PROJECT_ROOT, LoggingSettings, load_settings
from stack.components import Component

SMALL = LoggingSettings(max_mb=1, backups=2)


@pytest.fixture()
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers[:], root.level = handlers, level


def test_process_log_rotates_at_max_size_and_keeps_backups(tmp_path: Path, restore_root_logger: None) -> None:
    setup_logging("gateway", tmp_path, files=SMALL)
    log = logging.getLogger("hotline.test")
    line = "市民来电 13912345678 " + "x" * 1000
    for _ in range(3 * 1100):  # ~3.3 MB: the file rotates three times, the oldest is dropped
        log.info(line)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["gateway.log", "gateway.log.1", "gateway.log.2"]
    for name in files:
        assert (tmp_path / name).stat().st_size <= MB + 2048
        text = (tmp_path / name).read_text(encoding="utf-8")
        assert "13912345678" not in text and "139****5678" in text


def test_rotate_if_large_shifts_old_files_and_drops_the_oldest(tmp_path: Path) -> None:
    out = tmp_path / "rasa.out"
    assert rotate_if_large(out, SMALL) is False  # no file yet
    out.write_bytes(b"small")
    assert rotate_if_large(out, SMALL) is False and out.read_bytes() == b"small"
    for generation in (b"a", b"b", b"c"):
        out.write_bytes(generation * MB)
        assert rotate_if_large(out, SMALL) is True and not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rasa.out.1", "rasa.out.2"]
    assert (tmp_path / "rasa.out.1").read_bytes()[:1] == b"c"
    assert (tmp_path / "rasa.out.2").read_bytes()[:1] == b"b"


def test_stack_component_rotates_its_output_file_when_started(tmp_path: Path) -> None:
    out = tmp_path / "actions.out"
    out.write_bytes(b"old" * MB)
    component = Component(
        name="echo",
        label="测试",
        argv=["true"],
        ready_url=None,
        log_path=out,
        log_files=LoggingSettings(max_mb=1, backups=3),
    )
    component.start()
    assert component.process is not None and component.process.wait(10) == 0
    assert (tmp_path / "actions.out.1").read_bytes()[:3] == b"old"
    assert out.exists() and out.stat().st_size == 0


def test_settings_logging_section(tmp_path: Path) -> None:
    settings = load_settings(PROJECT_ROOT / "config" / "hotline.yaml", environ={})
    assert (settings.logging.max_mb, settings.logging.backups) == (20, 5)
    env = {"HOTLINE_LOGGING__MAX_MB": "50"}
    assert load_settings(PROJECT_ROOT / "config" / "hotline.yaml", environ=env).logging.max_mb == 50


def test_cli_log_records_are_masked(capsys: pytest.CaptureFixture[str], restore_root_logger: None) -> None:
    assert cli_main(["dibao", "list"]) == 0
    logging.getLogger("hotline.test").warning("身份证 110101199003074514 电话 13912345678")
    err = capsys.readouterr().err
    assert "110101199003074514" not in err and "13912345678" not in err
