"""Import and export hardening (issue 14): encodings, ISO dates, over-long cells, number collisions found by
the dry run; exports masked by default, formula-neutralised, clear text only for an admin and audited."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.cli import main
from hotline.db.models import Operator, OperatorRole, Ticket, TicketEvent
from hotline.imports import ExportRefused, ImportFailed, export_file, import_file
from hotline.imports.exporter import CLEAR_TEXT_EVENT
from hotline.reports.periods import parse_period
from hotline.settings import PROJECT_ROOT, Settings

HEADER = "受理日期,县区,类别,案件类型,编号,描述\n"
PII = "老板拖欠工资，我电话138-1234-5678，身份证34112219800101122X"


def _csv(tmp_path: Path, body: str, encoding: str = "utf-8-sig", name: str = "cases.csv") -> Path:
    path = tmp_path / name
    path.write_bytes((HEADER + body).encode(encoding))
    return path


def _errors(session: Session, settings: Settings, path: Path) -> list[str]:
    with pytest.raises(ImportFailed) as info:
        import_file(session, settings, path, dry_run=True)
    return [str(e) for e in info.value.errors]


# --- import ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["gbk", "gb18030"])
def test_gbk_csv_from_excel_on_chinese_windows(
    session: Session, settings: Settings, tmp_path: Path, encoding: str
) -> None:
    path = _csv(tmp_path, "2019-03-01,琅琊,欠薪及劳动报酬,民事,OLD-1,拖欠三个月工资\n", encoding)
    assert import_file(session, settings, path).rows == 1
    ticket = session.scalars(select(Ticket)).one()
    assert ticket.county_code == "341102" and ticket.description == "拖欠三个月工资"


def test_undecodable_file_is_a_clear_message(session: Session, settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "cases.csv"
    path.write_bytes(HEADER.encode("utf-8") + b"\xff\xfe\xff\x00\x81\x30\xff\n")
    assert _errors(session, settings, path) == [
        "【文件】文件编码无法识别：请在 Excel 中另存为“CSV UTF-8（逗号分隔）”或 GBK 编码的 CSV"
    ]


def test_iso_dates(session: Session, settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "iso.csv"
    path.write_text(
        "受理日期,县区,类别,案件类型,结案日期\n"
        "2019-03-01T09:30,琅琊,wage_arrears,民事,2019-03-20T17:00:00\n"
        "2019-03-02T09:30+08:00,琅琊,wage_arrears,民事,\n",
        encoding="utf-8",
    )
    import_file(session, settings, path)
    created = [t.created_at.isoformat() for t in session.scalars(select(Ticket).order_by(Ticket.id))]
    assert created == ["2019-03-01T01:30:00", "2019-03-02T01:30:00"]  # local 09:30 in UTC


def test_dry_run_finds_over_long_cells_and_automatic_numbers(
    session: Session, settings: Settings, tmp_path: Path
) -> None:
    body = (
        f"2019-03-01,琅琊,wage_arrears,民事,{'N' * 40},\n"
        f"2019-03-02,琅琊,wage_arrears,民事,,{'欠' * 20_001}\n"
        "2019-03-03,琅琊,wage_arrears,民事,滁-20190303-0001,\n"
        "2019-03-03,琅琊,wage_arrears,民事,,自动编号会是 滁-20190303-0001\n"
        "0001-01-01,琅琊,wage_arrears,民事,,\n"
    )
    errors = _errors(session, settings, _csv(tmp_path, body))
    assert errors[0].startswith("第2行【编号】编号过长（最多32个字符，实际40个）")
    assert errors[1] == "第3行【描述】描述过长（最多20000个字）"
    assert errors[2].startswith(
        "第4行【编号】编号与系统自动编号格式相同，会与自动生成的编号冲突：滁-20190303-0001"
    )
    assert errors[3].startswith("第6行【受理日期】日期格式无法识别")  # year 1: out of range, no OverflowError
    assert len(errors) == 4
    assert session.scalar(select(func.count()).select_from(Ticket)) == 0


def test_huge_cell_is_quoted_by_its_beginning(session: Session, settings: Settings, tmp_path: Path) -> None:
    errors = _errors(session, settings, _csv(tmp_path, f"2019-03-01,{'火' * 100_000},wage_arrears,民事,,\n"))
    assert len(errors) == 1 and errors[0].startswith("第2行【县区】未知县区：火火") and len(errors[0]) < 220


def test_dry_run_finds_automatic_number_already_taken(
    session: Session, settings: Settings, tmp_path: Path
) -> None:
    session.add(
        Ticket(number="滁-20190304-0001", category="wage_arrears", county_code="341102", source="operator")
    )
    session.commit()
    errors = _errors(session, settings, _csv(tmp_path, "2019-03-04,琅琊,wage_arrears,民事,,\n"))
    assert errors == ["第2行【编号】自动生成的编号 滁-20190304-0001 已被占用，请为本行填写编号"]


def test_cell_beyond_csv_limit_is_a_line_numbered_error(
    session: Session, settings: Settings, tmp_path: Path
) -> None:
    body = (
        "2019-03-01,琅琊,wage_arrears,民事,,短\n" + f"2019-03-02,琅琊,wage_arrears,民事,,{'欠' * 200_000}\n"
    )
    errors = _errors(session, settings, _csv(tmp_path, body))
    assert len(errors) == 1 and errors[0].startswith("第3行【文件】无法读取（单元格过长或引号不配对）")


def test_control_characters_in_description_are_dropped(
    session: Session, settings: Settings, tmp_path: Path
) -> None:
    import_file(session, settings, _csv(tmp_path, "2019-03-01,琅琊,wage_arrears,民事,,欠\x00薪\x07\n"))
    assert session.scalars(select(Ticket.description)).one() == "欠薪"


def test_cli_import_errors_without_traceback(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"not a zip")
    assert main(["tickets", "import", "--dry-run", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "【文件】不是有效的 XLSX 文件" in err and "Traceback" not in err


# --- export ---------------------------------------------------------------------------------------

FORMULAS = ['=HYPERLINK("http://evil","点我")', "+1+1", "-1+1", "@SUM(A1)", "\t=1", "\r=1"]


@pytest.fixture
def exported_tickets(session: Session, tmp_path: Path) -> Path:
    descriptions = [*FORMULAS, PII]
    for i, description in enumerate(descriptions):
        created = dt.datetime(2019, 3, 1 + i, 2, 0)
        session.add(
            Ticket(
                number=f"OLD-{i}",
                category="wage_arrears",
                county_code="341102",
                source="import",
                description=description,
                created_at=created,
            )
        )
    session.commit()
    return tmp_path


def _export(session: Session, settings: Settings, path: Path, **kwargs: object) -> int:
    year = parse_period("annual", "2019")
    return export_file(session, settings, path, year.start_utc, year.end_utc, **kwargs)  # type: ignore[arg-type]


def test_csv_export_neutralises_formulas_and_masks_pii(
    session: Session, settings: Settings, exported_tickets: Path
) -> None:
    out = exported_tickets / "out.csv"
    assert _export(session, settings, out) == 7
    with out.open(encoding="utf-8-sig", newline="") as fh:
        descriptions = [row[-1] for row in csv.reader(fh)][1:]
    assert descriptions[:6] == ["'" + f for f in FORMULAS]
    assert descriptions[6] == "老板拖欠工资，我电话138-****-5678，身份证341122********122X"
    assert not list(exported_tickets.glob("*.part"))


def test_xlsx_export_has_no_formula_cells(
    session: Session, settings: Settings, exported_tickets: Path
) -> None:
    out = exported_tickets / "out.xlsx"
    _export(session, settings, out)
    sheet = load_workbook(out).worksheets[0]
    cells = [c for row in sheet.iter_rows(min_row=2) for c in row]
    assert all(c.data_type != "f" for c in cells)
    assert [row[-1].value for row in sheet.iter_rows(min_row=2)][:6] == ["'" + f for f in FORMULAS]


def test_export_reimports_to_the_same_text(
    session: Session, settings: Settings, exported_tickets: Path
) -> None:
    out = exported_tickets / "out.csv"
    _export(session, settings, out)
    for ticket in session.scalars(select(Ticket)):
        session.delete(ticket)
    session.commit()
    import_file(session, settings, out)
    descriptions = set(session.scalars(select(Ticket.description)))
    # The apostrophe is taken off again on import; a lone CR becomes a newline (sanitise_text).
    assert {*FORMULAS[:-1], "\n=1"} <= descriptions


def test_clear_text_export_only_for_admin_and_audited(
    session: Session, settings: Settings, exported_tickets: Path
) -> None:
    operator = Operator(name="张三", role=OperatorRole.SUPERVISOR)
    admin = Operator(name="管理员", role=OperatorRole.ADMIN)
    session.add_all([operator, admin])
    session.commit()
    out = exported_tickets / "clear.csv"
    with pytest.raises(ExportRefused, match="只有在岗的管理员可以导出明文"):
        _export(session, settings, out, clear_text_by=operator)
    assert not out.exists()
    assert _export(session, settings, out, clear_text_by=admin) == 7
    assert PII in out.read_text(encoding="utf-8-sig")
    events = session.scalars(select(TicketEvent).where(TicketEvent.kind == CLEAR_TEXT_EVENT)).all()
    assert len(events) == 7 and {e.actor for e in events} == {f"operator:{admin.id}"}
    assert {e.data["file"] for e in events} == {"clear.csv"}


@pytest.fixture
def env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("HOTLINE_CONFIG", str(PROJECT_ROOT / "config" / "hotline.yaml"))
    return db_url


def test_cli_clear_text_flags(env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seed = tmp_path / "seed.csv"
    seed.write_text(HEADER + f"2026-11-02,琅琊,wage_arrears,民事,OLD-1,{PII}\n", encoding="utf-8")
    assert main(["tickets", "import", str(seed)]) == 0
    assert main(["operators", "add", "--name", "张三", "--role", "operator", "--counties", "南谯"]) == 0
    assert main(["operators", "add", "--name", "管理员", "--role", "admin"]) == 0
    out = tmp_path / "out.csv"
    period = ["tickets", "export", "--from", "2026-11-01", "--to", "2026-11-30", "--out", str(out)]
    capsys.readouterr()

    assert main([*period, "--clear-text"]) == 1
    assert "须用 --as-operator 指定管理员" in capsys.readouterr().err
    assert main([*period, "--clear-text", "--as-operator", "1"]) == 1
    assert "只有在岗的管理员可以导出明文" in capsys.readouterr().err
    assert not out.exists()

    assert main(period) == 0
    assert "138-****-5678" in out.read_text(encoding="utf-8-sig")
    assert main([*period, "--as-operator", "1"]) == 0  # an operator's export holds only their counties
    assert len(out.read_text(encoding="utf-8-sig").splitlines()) == 1

    assert main([*period, "--clear-text", "--as-operator", "2"]) == 0
    assert "已记入审计" in capsys.readouterr().out
    assert PII in out.read_text(encoding="utf-8-sig")
    assert main(["tickets", "show", "OLD-1"]) == 0
    assert f"{CLEAR_TEXT_EVENT}  by operator:2" in capsys.readouterr().out


def test_report_workbook_has_no_formula_cells(session: Session, settings: Settings, tmp_path: Path) -> None:
    from hotline.reports.service import produce_report

    session.add(
        Ticket(
            number="=1+cmd|' /C calc'!A0",  # an 编号 carried over from an old system
            category="wage_arrears",
            county_code="341102",
            source="import",
            created_at=dt.datetime(2019, 3, 1, 2, 0),
        )
    )
    session.commit()
    produced = produce_report(session, settings, parse_period("monthly", "2019-03"), directory=tmp_path)
    workbook = load_workbook(next(p for p in produced.files if p.suffix == ".xlsx"))
    cells = [c for sheet in workbook.worksheets for row in sheet.iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells)
    assert "'=1+cmd|' /C calc'!A0" in [c.value for c in cells]


_CELLS = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        ["2019-03-01", "2019-03-01T09:30", "琅琊", "wage_arrears", "民事", "是", "", "滁-20190301-0001"]
    ),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(st.lists(_CELLS, min_size=0, max_size=8), max_size=6),
    encoding=st.sampled_from(["utf-8", "gb18030", "utf-16"]),
)
def test_import_dry_run_never_crashes(
    session: Session, settings: Settings, tmp_path: Path, rows: list[list[str]], encoding: str
) -> None:
    """Random cells, control characters and encodings: validated or refused with messages, never a crash."""
    path = tmp_path / "fuzz.csv"
    lines = [
        HEADER.rstrip("\n"),
        *(",".join(f'"{c.replace(chr(34), chr(34) * 2)}"' for c in r) for r in rows),
    ]
    path.write_bytes("\n".join(lines).encode(encoding, "surrogatepass"))
    try:
        import_file(session, settings, path, dry_run=True)
    except ImportFailed as exc:
        assert exc.errors and all(str(e) for e in exc.errors)
    assert session.scalar(select(func.count()).select_from(Ticket)) == 0
