"""Fuzz: `python -m hotline tickets import --dry-run` with hostile CSV and XLSX files (issue 14).

Wrong encodings, random bytes, huge fields, formula cells, missing or shuffled columns, broken zip
archives: the command either validates the file (exit 0, 校验通过) or refuses it with a clear Chinese
message and a non-zero exit code; never a traceback, and the database is unchanged either way. Most
examples call the CLI's `main` in-process (a process per example would take the whole CI budget); a few
worst cases run the real `python -m hotline` once each.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from sqlalchemy import MetaData, func, select

from hotline.cli import main
from hotline.db.session import session_scope
from hotline.settings import PROJECT_ROOT

COLUMNS = ["受理日期", "县区", "类别", "案件类型", "编号", "描述"]
CJK = re.compile(r"[\u4e00-\u9fff]")
HUGE = 1 << 20

cells = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "2019-03-01",
            "2019-02-30",
            "琅琊",
            "wage_arrears",
            "民事",
            "OLD-1",
            "",
            "=cmd|' /C calc'!A0",
            '=HYPERLINK("http://evil","点我")',
            "+1+1",
            "@SUM(A1)",
            "\x00",
            "\ud800",
            '"',
            "\r\n",
            "１２",
        ]
    ),
)
headers = st.one_of(
    st.just(COLUMNS),
    st.permutations(COLUMNS),
    st.lists(st.sampled_from(COLUMNS), max_size=6),  # missing or repeated columns
    st.lists(st.text(max_size=8), max_size=6),
)
tables = st.tuples(headers, st.lists(st.lists(cells, max_size=8), max_size=5), st.booleans())


def _csv_bytes(header: list[str], rows: list[list[str]], huge: bool, encoding: str) -> bytes:
    out = io.StringIO()
    for line in [header, *rows]:
        out.write(",".join('"' + c.replace('"', '""') + '"' for c in line) + "\n")
    if huge:
        out.write('2019-03-01,琅琊,wage_arrears,民事,HUGE,"' + "欠" * HUGE + '"\n')
    return out.getvalue().encode(encoding, "surrogatepass" if encoding.startswith("utf") else "replace")


def _xlsx_bytes(header: list[str], rows: list[list[str]], huge: bool) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for line in [header, *rows]:
        # openpyxl refuses control characters and surrogates in cells: those are the CSV's job
        sheet.append([re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]", "", c) for c in line])
    if huge:
        sheet.append(["2019-03-01", "琅琊", "wage_arrears", "民事", "HUGE", "欠" * 32767])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@st.composite
def files(draw: st.DrawFn) -> tuple[str, bytes]:
    """(suffix, content): a CSV in some encoding, an XLSX, a damaged XLSX, or random bytes."""
    header, rows, huge = draw(tables)
    huge = huge and draw(st.integers(0, 7)) == 0
    kind = draw(st.sampled_from(["csv", "csv", "xlsx", "broken-xlsx", "bytes"]))
    if kind == "csv":
        encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16", "latin-1"]))
        event(f"csv {encoding}")
        return ".csv", _csv_bytes(header, rows, huge, encoding)
    if kind == "xlsx":
        event("xlsx")
        return ".xlsx", _xlsx_bytes(header, rows, huge)
    if kind == "broken-xlsx":
        event("damaged xlsx")
        good = _xlsx_bytes(header, rows, False)
        cut = draw(st.integers(0, len(good)))
        flips = draw(st.lists(st.integers(0, len(good) - 1), max_size=3))
        damaged = bytearray(good[:cut] if draw(st.booleans()) else good)
        for i in flips:
            if i < len(damaged):
                damaged[i] ^= 0xFF
        return ".xlsx", bytes(damaged)
    event("random bytes")
    return draw(st.sampled_from([".csv", ".xlsx"])), draw(st.binary(max_size=4000))


def _row_counts(db_url: str) -> dict[str, int]:
    with session_scope(db_url) as s:
        meta = MetaData()
        meta.reflect(bind=s.get_bind())
        return {
            name: int(s.scalar(select(func.count()).select_from(t)) or 0) for name, t in meta.tables.items()
        }


@pytest.fixture
def env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("HOTLINE_CONFIG", str(PROJECT_ROOT / "config" / "hotline.yaml"))
    return db_url


def _check(code: int, out: str, err: str) -> None:
    assert "Traceback" not in out + err
    if code == 0:
        assert "校验通过" in out and "未写入" in out
    else:
        # stderr also carries the progress bar (tqdm): the message is the line after it
        lines = [
            line for line in err.splitlines() if line.startswith(("错误：", "配置错误：", "数据库错误："))
        ]
        assert lines and CJK.search(lines[0][3:]), err[:300]


@settings(
    max_examples=30,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(file=files())
def test_import_dry_run_refuses_hostile_files_clearly(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], file: tuple[str, bytes]
) -> None:
    suffix, content = file
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(content)
    before = _row_counts(env)
    code = main(["tickets", "import", "--dry-run", str(path)])  # an exception here fails the test
    captured = capsys.readouterr()
    event("accepted" if code == 0 else f"refused (exit {code})")
    _check(code, captured.out, captured.err)
    assert _row_counts(env) == before


def _damaged_sheet() -> bytes:
    """A valid workbook whose sheet's deflate stream is damaged in the middle (the archive's directory is
    intact, so it opens; reading the rows fails)."""
    rows = [["2019-03-01", "琅琊", "wage_arrears", "民事", f"N{i}", "欠薪"] for i in range(200)]
    damaged = bytearray(_xlsx_bytes(COLUMNS, rows, False))
    name = damaged.index(b"xl/worksheets/sheet1.xml")  # first in its local file header, before the data
    name_len = int.from_bytes(damaged[name - 4 : name - 2], "little")
    extra_len = int.from_bytes(damaged[name - 2 : name], "little")
    data = name + name_len + extra_len
    for i in range(data + 40, data + 60):
        damaged[i] ^= 0x5A
    return bytes(damaged)


WORST = {
    "nul-and-surrogates.csv": ("\ufeff" + ",".join(COLUMNS) + "\n\x00,\udc80,=1+1,@x,\x1b[31m,\r\n").encode(
        "utf-8", "surrogatepass"
    ),
    "huge-field.csv": _csv_bytes(COLUMNS, [], True, "utf-8"),
    "utf16-no-header.csv": "随便写点东西\n".encode("utf-16"),
    "zip-bomb-ish.xlsx": b"PK\x03\x04" + b"\x00" * 4096,
    "formulas.xlsx": _xlsx_bytes(COLUMNS, [["=1+1", "=A1", "+SUM(A1)", "@x", "-1", "=HYPERLINK(1)"]], False),
    "damaged-sheet.xlsx": _damaged_sheet(),
}
IN_A_REAL_PROCESS = ("nul-and-surrogates.csv", "damaged-sheet.xlsx")  # a process each costs seconds


@pytest.mark.parametrize("name", sorted(WORST))
def test_worst_files(env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str) -> None:
    """None of these is a valid file: refused in Chinese, exit code non-zero, no traceback, DB unchanged.
    Regression: damaged-sheet.xlsx escaped as zlib.error (the sheet is inflated while its rows are read)."""
    path = tmp_path / name
    path.write_bytes(WORST[name])
    before = _row_counts(env)
    if name in IN_A_REAL_PROCESS:
        result = subprocess.run(
            [sys.executable, "-m", "hotline", "tickets", "import", "--dry-run", str(path)],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        code, out, err = result.returncode, result.stdout, result.stderr
    else:
        code = main(["tickets", "import", "--dry-run", str(path)])
        out, err = capsys.readouterr()
    _check(code, out, err)
    assert code != 0
    assert _row_counts(env) == before


def test_worst_xlsx_is_really_a_zip() -> None:
    """The formula workbook above is a valid XLSX (so its refusal is about its rows, not its format)."""
    assert zipfile.is_zipfile(io.BytesIO(WORST["formulas.xlsx"]))
