"""Command line for operators, supervisors and administrators: `python -m hotline ...`.

User errors (bad period, unknown ticket, invalid import file, bad configuration) print a Chinese message and
exit with status 1 or 2, never a traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from tqdm import tqdm

from hotline.db.models import Operator, OperatorRole, Ticket, TicketStatus
from hotline.logging_setup import setup_logging
from hotline.settings import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from hotline.sla.clock import SlaClock

EXIT_USER_ERROR = 1
EXIT_CONFIG_ERROR = 2


class CliError(Exception):
    """A user error: printed as is, exit status 1."""


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(args.config) if args.config else load_settings()


def _session(settings: Settings) -> Session:
    from hotline.db.session import get_sessionmaker

    return get_sessionmaker(settings.database_url)()


def _county_code(settings: Settings, text: str | None) -> str | None:
    if not text:
        return None
    county = settings.county_by_name(text)
    if county is None:
        raise CliError(f"未知县区：{text}（可用：{'、'.join(c.name for c in settings.counties)}）")
    return county.code


# --- db -------------------------------------------------------------------------------------------
def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from hotline.db.migrate import upgrade

    settings = _settings(args)
    upgrade(settings.database_url)
    shown = make_url(settings.database_url).render_as_string(hide_password=True)
    print(f"数据库已升级到最新版本：{shown}")
    return 0


def cmd_db_backup(args: argparse.Namespace) -> int:
    from hotline.db.backup import BackupError, backup_now, kind_of_url

    settings = _settings(args)
    try:
        kind = kind_of_url(settings.database_url)
        print(
            f"正在备份{'（pg_dump）' if kind == 'postgresql' else '（SQLite 在线备份）'}：{_shown(settings)}"
        )
        result = backup_now(settings, args.to)
    except BackupError as exc:
        raise CliError(str(exc)) from exc
    print(f"备份完成：{result.path}（{result.size / 1_048_576:.1f} MB，用时 {result.seconds:.1f} 秒）")
    print(f"已校验：{result.verified.describe()}")
    for path in result.removed:
        print(f"  按保留策略删除旧备份：{path.name}")
    return 0


def cmd_db_restore(args: argparse.Namespace) -> int:
    from hotline.db.backup import BackupError, backup_now, restore, verify

    settings = _settings(args)
    path = Path(args.file)
    try:
        verified = verify(path, settings.backup.pg_bin_dir)
        print(f"备份文件校验通过：{path}（{verified.describe()}）")
        if not args.yes:
            raise CliError(
                f"恢复将用该备份覆盖当前数据库 {_shown(settings)}，此后的数据全部丢失。"
                "请先停止网关、动作服务器和调度器，确认后加 --yes 重新运行"
            )
        try:
            before = backup_now(settings, rotate=False)  # never delete the file being restored
            print(f"恢复前已备份当前数据库：{before.path}")
        except BackupError as exc:  # e.g. the current database is gone: restoring is the point
            print(f"警告：恢复前未能备份当前数据库（{exc}）", file=sys.stderr)
        print("正在恢复…")
        restore(settings.database_url, path, bin_dir=settings.backup.pg_bin_dir)
    except BackupError as exc:
        raise CliError(str(exc)) from exc
    print(f"恢复完成：{_shown(settings)}。各进程启动时自动升级数据库结构（或 python -m hotline db upgrade）")
    return 0


def _shown(settings: Settings) -> str:
    return make_url(settings.database_url).render_as_string(hide_password=True)


# --- report ---------------------------------------------------------------------------------------
def cmd_report(args: argparse.Namespace) -> int:
    from zoneinfo import ZoneInfo

    from hotline.reports.periods import PeriodError, last_complete, parse_period
    from hotline.reports.service import deliver, produce_report

    settings = _settings(args)
    tz = settings.city.timezone
    try:
        period = (
            parse_period(args.kind, args.period, tz)
            if args.period
            else last_complete(args.kind, dt.datetime.now(ZoneInfo(tz)).date(), tz)
        )
    except PeriodError as exc:
        raise CliError(str(exc)) from exc
    scopes: list[str | None] = [_county_code(settings, args.county)] if args.county else [None]
    if args.all_counties:
        scopes = [None, *[c.code for c in settings.counties]]
    with _session(settings) as session:
        for scope in tqdm(scopes, desc="生成报告", unit="份", disable=len(scopes) == 1):
            produced = produce_report(session, settings, period, [scope] if scope else None, args.out)
            print(produced.text)
            for path in produced.files:
                print(f"  → {path}")
            if args.deliver:
                from hotline.scheduler.runtime import Runtime, default_notifier

                rt = Runtime(settings, default_notifier(settings))
                deliver(rt.notifier, rt.supervisors_chat, produced.text, produced.files)
    return 0


# --- tickets --------------------------------------------------------------------------------------
def cmd_tickets_list(args: argparse.Namespace) -> int:
    from hotline.reports.texts import STATUS, category_label
    from hotline.tickets.access import Viewer
    from hotline.tickets.queries import list_tickets

    settings = _settings(args)
    with _session(settings) as session:
        viewer = None
        if args.as_operator:
            operator = _active_operator(session, args.as_operator)
            viewer = Viewer.of(operator)
        status = TicketStatus(args.status) if args.status else None
        tickets = list_tickets(
            session,
            viewer=viewer,
            status=status,
            county=_county_code(settings, args.county),
            overdue=args.overdue,
            limit=args.limit,
        )
        names = settings.county_names
        for t in tickets:
            due = t.resolution_due.strftime("%m-%d %H:%M") if t.resolution_due else "—"
            print(
                f"{t.number}\t{names.get(t.county_code or '', '—')}\t{category_label(t.category)}\t"
                f"{STATUS.get(str(t.status), str(t.status))}\t办结时限(UTC) {due}"
            )
        print(f"共 {len(tickets)} 件")
    return 0


def cmd_tickets_show(args: argparse.Namespace) -> int:
    from hotline.reports.texts import STATUS, category_label
    from hotline.tickets.queries import ticket_history
    from hotline.tickets.service import get_by_number

    settings = _settings(args)
    with _session(settings) as session:
        t = get_by_number(session, args.number)
        if t is None:
            raise CliError(f"找不到工单：{args.number}")
        print(
            f"工单 {t.number}｜{category_label(t.category)}｜"
            f"{STATUS.get(str(t.status), str(t.status))}｜县区 {t.county_code}"
        )
        print(f"受理 {t.created_at} UTC｜首次响应时限 {t.first_response_due}｜办结时限 {t.resolution_due}")
        for e in ticket_history(session, t):
            change = f"{e.from_status or ''}→{e.to_status}" if e.to_status else ""
            print(f"  {e.created_at:%Y-%m-%d %H:%M} {e.kind} {change} by {e.actor} {e.data or ''}")
    return 0


def cmd_tickets_import(args: argparse.Namespace) -> int:
    from hotline.imports import ImportFailed, import_file

    settings = _settings(args)
    path = Path(args.file)
    if not path.exists():
        raise CliError(f"文件不存在：{path}")
    with _session(settings) as session:
        try:
            result = import_file(session, settings, path, progress=True, dry_run=args.dry_run)
        except ImportFailed as exc:
            session.rollback()
            lines = [str(exc), *(f"  {e}" for e in exc.errors[:200])]
            if len(exc.errors) > 200:
                lines.append(f"  …另有 {len(exc.errors) - 200} 处错误")
            raise CliError("\n".join(lines)) from exc
        if args.dry_run:
            print(f"校验通过：{result.rows} 行（试运行，未写入）")
            return 0
        session.commit()
    print(f"导入成功：{result.rows} 件")
    return 0


def cmd_tickets_export(args: argparse.Namespace) -> int:
    from hotline.imports import ExportRefused, export_file
    from hotline.reports.periods import Period
    from hotline.tickets.access import Viewer, narrow

    settings = _settings(args)
    try:
        start = dt.date.fromisoformat(args.date_from)
        end = dt.date.fromisoformat(args.date_to) + dt.timedelta(days=1)
    except ValueError as exc:
        raise CliError("日期格式应为 YYYY-MM-DD") from exc
    if end <= start:
        raise CliError("结束日期不能早于开始日期")
    if args.clear_text and not args.as_operator:
        raise CliError("导出明文须用 --as-operator 指定管理员编号（导出将记入工单审计记录）")
    period = Period("annual", start, end, settings.city.timezone)
    county = _county_code(settings, args.county)
    counties: list[str] | None = [county] if county else None
    with _session(settings) as session:
        operator = None
        if args.as_operator:
            operator = _active_operator(session, args.as_operator)
            counties = narrow(Viewer.of(operator), counties)
            if counties == []:
                raise CliError(f"#{operator.id} {operator.name} 无权查看所选县区的工单")
        try:
            n = export_file(
                session,
                settings,
                Path(args.out),
                period.start_utc,
                period.end_utc,
                counties,
                clear_text_by=operator if args.clear_text else None,
            )
        except ExportRefused as exc:
            raise CliError(str(exc)) from exc
    kind = "明文，已记入审计" if args.clear_text else "描述中的电话、证件号已遮盖"
    print(f"已导出 {n} 件（{kind}）→ {args.out}")
    return 0


# --- operators ------------------------------------------------------------------------------------
def cmd_operators_add(args: argparse.Namespace) -> int:
    settings = _settings(args)
    counties = [
        c
        for c in (_county_code(settings, x.strip()) for x in (args.counties or "").split(",") if x.strip())
        if c
    ]
    if args.role == "operator" and not counties:
        raise CliError("话务员（operator）必须指定所属县区：--counties 琅琊,南谯")
    with _session(settings) as session, session.begin():
        operator = Operator(
            name=args.name, role=OperatorRole(args.role), counties=counties, telegram_user_id=args.telegram_id
        )
        session.add(operator)
        session.flush()
        print(f"已添加 #{operator.id} {operator.name}（{args.role}，县区：{'、'.join(counties) or '全市'}）")
    return 0


def cmd_operators_list(args: argparse.Namespace) -> int:
    settings = _settings(args)
    with _session(settings) as session:
        for op in session.scalars(select(Operator).order_by(Operator.id)):
            state = "在岗" if op.active else "已停用"
            print(f"#{op.id}\t{op.name}\t{op.role}\t{'、'.join(op.counties) or '全市'}\t{state}")
    return 0


def cmd_operators_remove(args: argparse.Namespace) -> int:
    settings = _settings(args)
    with _session(settings) as session, session.begin():
        operator = session.get(Operator, args.id)
        if operator is None:
            raise CliError(f"找不到工作人员 #{args.id}")
        operator.active = False  # kept for the audit trail (events name operator ids)
        print(f"已停用 #{operator.id} {operator.name}")
    return 0


def _active_operator(session: Session, operator_id: int) -> Operator:
    """The active operator acting from the CLI (`--as-operator` / `--operator`), or a clear refusal."""
    from hotline.tickets import texts

    operator = session.get(Operator, operator_id)
    if operator is None or not operator.active:
        raise CliError(texts.CLI_OPERATOR_REQUIRED.format(id=operator_id))
    return operator


# --- reviews (回访复核) -------------------------------------------------------------------------------
def _supervisor(session: Session, operator_id: int | None) -> Operator | None:
    """The active supervisor/admin acting from the CLI (None when not given, for listing the whole city)."""
    if operator_id is None:
        return None
    operator = session.get(Operator, operator_id)
    if (
        operator is None
        or not operator.active
        or OperatorRole(operator.role) not in (OperatorRole.SUPERVISOR, OperatorRole.ADMIN)
    ):
        raise CliError(f"#{operator_id} 不是在岗的监督人员（supervisor/admin）")
    return operator


def cmd_reviews_list(args: argparse.Namespace) -> int:
    from zoneinfo import ZoneInfo

    from hotline.followup import review_lines
    from hotline.followup.texts import REASONS

    settings = _settings(args)
    tz = ZoneInfo(settings.city.timezone)
    with _session(settings) as session:
        operator = _supervisor(session, args.as_operator)
        counties = [str(c) for c in operator.counties] or None if operator else None
        county = _county_code(settings, args.county)
        if county:
            if counties is not None and county not in counties:
                raise CliError(f"#{args.as_operator} 无权查看该县区的复核事项")
            counties = [county]
        lines, total = review_lines(session, counties, limit=args.limit)
        names = settings.county_names
        for line in lines:
            opened = line.created_at.replace(tzinfo=dt.UTC).astimezone(tz)
            print(
                f"#{line.review_id}\t{REASONS.get(line.reason, line.reason)}\t{line.ticket_number}\t"
                f"{names.get(line.county_code or '', '—')}\t{opened:%Y-%m-%d %H:%M}\t{line.detail or '—'}"
            )
        print(f"待办复核事项共 {total} 件" + (f"（显示前 {len(lines)} 件）" if total > len(lines) else ""))
    return 0


def cmd_reviews_close(args: argparse.Namespace) -> int:
    from hotline.followup import FollowupError, close_review_by_id

    settings = _settings(args)
    with _session(settings) as session, session.begin():
        operator = _supervisor(session, args.as_operator)
        assert operator is not None  # required by the parser
        counties = [str(c) for c in operator.counties] or None
        try:
            close_review_by_id(
                session, args.id, args.outcome, actor=f"operator:{operator.id}", counties=counties
            )
        except FollowupError as exc:
            raise CliError(str(exc)) from exc
    print(f"复核事项 #{args.id} 已办结，回访结果已记入工单记录（{operator.name}）")
    return 0


# --- appointments at the centres (hotline/appointments; the same functions as the desk) -------------------
def _viewer(session: Session, operator_id: int | None) -> tuple[Operator | None, Any]:
    from hotline.tickets.access import Viewer

    if operator_id is None:
        return None, None
    operator = _active_operator(session, operator_id)
    return operator, Viewer.of(operator)


def cmd_appointments_list(args: argparse.Namespace) -> int:
    from hotline.appointments import operators
    from hotline.appointments.service import AppointmentError
    from hotline.settings import today_in

    settings = _settings(args)
    words = [w for w in (args.county, args.date) if w]
    try:
        county, day = operators.parse_args(settings, words, today_in(settings))
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    with _session(settings) as session:
        _, viewer = _viewer(session, args.operator)
        try:
            print(operators.day_text(session, settings, viewer, county, day))
        except AppointmentError as exc:
            raise CliError(str(exc)) from exc
    return 0


def cmd_appointments_noshow(args: argparse.Namespace) -> int:
    from hotline.appointments import operators
    from hotline.appointments.service import AppointmentError

    settings = _settings(args)
    with _session(settings) as session:
        operator, viewer = _viewer(session, args.operator)
        assert operator is not None  # required by the parser
        try:
            done = operators.no_show(session, settings, viewer, args.id, actor=f"operator:{operator.id}")
        except AppointmentError as exc:
            raise CliError(str(exc)) from exc
        session.commit()
    print(done)
    return 0


# --- nlu inbox (issue 11: learning from operators) ---------------------------------------------------
def cmd_nlu_review(args: argparse.Namespace) -> int:
    """List pending examples; with --approve/--reject, review them as a supervisor (audited)."""
    from hotline import categories
    from hotline.learning import inbox, texts

    settings = _settings(args)
    with _session(settings) as session:
        if args.approve or args.reject:
            operator = _supervisor(session, args.as_operator)
            if operator is None:
                raise CliError("审核需要 --as-operator（监督人员编号）")
            done: list[str] = []
            try:
                for example_id, approve in [(i, True) for i in args.approve] + [
                    (i, False) for i in args.reject
                ]:
                    example = inbox.review(session, example_id, approve, operator)
                    done.append(
                        texts.REVIEWED.format(
                            id=example_id, status=texts.STATUSES[example.status], name=operator.name
                        )
                    )
            except inbox.InboxError as exc:
                raise CliError(str(exc)) from exc
            session.commit()
            print("\n".join(done))
            return 0
        examples = inbox.pending(session, limit=args.limit)
        ids = {e.ticket_id for e in examples if e.ticket_id}
        numbers = {t.id: t.number for t in session.scalars(select(Ticket).where(Ticket.id.in_(ids)))}
        for e in examples:
            print(
                texts.PENDING_LINE.format(
                    id=e.id,
                    source=texts.SOURCES.get(e.source, e.source),
                    intent=categories.label(e.intent),
                    previous=categories.label(e.previous_intent) if e.previous_intent else "—",
                    ticket=numbers.get(e.ticket_id, "—") if e.ticket_id else "—",
                    text=e.text,
                )
            )
        print(texts.PENDING_TOTAL.format(count=len(inbox.pending(session))))
    return 0


def cmd_nlu_export(args: argparse.Namespace) -> int:
    from hotline.learning import inbox, texts
    from hotline.learning.training_data import LEARNED_FILE, known_examples

    settings = _settings(args)
    path = Path(args.out) if args.out else LEARNED_FILE
    with _session(settings) as session:
        result = inbox.export(session, path, known_examples(skip=path))
    if not result.written:
        print(texts.NOTHING_TO_EXPORT)
        return 0
    print(texts.EXPORTED.format(count=result.written, path=path, skipped=result.skipped))
    return 0


def _add_nlu_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    nl = sub.add_parser("nlu", help="学习样本（来自更正与市民选择）/ NLU inbox").add_subparsers(
        dest="action", required=True
    )
    rv = nl.add_parser(
        "review", help="列出待审核样本，或采纳/驳回 / list pending, approve or reject (audited)"
    )
    rv.add_argument("--approve", type=int, nargs="+", default=[], metavar="ID", help="采纳 / approve")
    rv.add_argument("--reject", type=int, nargs="+", default=[], metavar="ID", help="驳回 / reject")
    rv.add_argument("--as-operator", type=int, help="审核的监督人员编号 / supervisor id")
    rv.add_argument("--limit", type=int, default=50)
    rv.set_defaults(func=cmd_nlu_review)
    ex = nl.add_parser("export", help="导出已采纳样本为训练文件 / write approved examples for training")
    ex.add_argument("--out", help="输出文件 / file (默认 nlu/learned/examples.yml)")
    ex.set_defaults(func=cmd_nlu_export)


# --- kb (知识库提议) -------------------------------------------------------------------------------------
def cmd_kb_propose(args: argparse.Namespace) -> int:
    from hotline.knowledge import proposals, texts
    from hotline.tickets.service import TicketError, get_by_number

    settings = _settings(args)
    with _session(settings) as session, session.begin():
        operator = _active_operator(session, args.operator)
        ticket = get_by_number(session, args.number)
        if ticket is None:
            raise CliError(texts.CLI_UNKNOWN_TICKET.format(number=args.number))
        try:
            draft = proposals.Draft(
                questions=tuple(q for text in args.question for q in proposals.split_questions(text)),
                answer=args.answer,
                articles=proposals.parse_articles(args.articles or ""),
                details=args.details or "",
                category=args.category,
            )
            proposal = proposals.propose(session, ticket, operator, draft, settings.county_names)
        except TicketError as exc:
            raise CliError(str(exc)) from exc
        print(texts.CLI_PROPOSED.format(id=proposal.id, number=ticket.number))
    return 0


def cmd_kb_pending(args: argparse.Namespace) -> int:
    from zoneinfo import ZoneInfo

    from hotline.knowledge import proposals, texts
    from hotline.reports.texts import category_label
    from hotline.tickets.access import Viewer

    settings = _settings(args)
    tz = ZoneInfo(settings.city.timezone)
    with _session(settings) as session:
        operator = _supervisor(session, args.as_operator)
        waiting = proposals.pending(session, Viewer.of(operator) if operator else None, limit=args.limit)
        for p, t, proposer in waiting:
            proposed = p.proposed_at.replace(tzinfo=dt.UTC).astimezone(tz)
            print(
                texts.CLI_PENDING_LINE.format(
                    id=p.id,
                    category=category_label(p.category),
                    number=t.number,
                    proposer=proposer.name,
                    proposed=f"{proposed:%Y-%m-%d %H:%M}",
                    question="；".join(p.questions),
                )
            )
            print(f"\t{p.answer}\n\t{proposals.citations(p) or '—'}")
        print(texts.CLI_PENDING_COUNT.format(count=len(waiting)))
    return 0


def cmd_kb_decide(args: argparse.Namespace) -> int:
    from hotline.knowledge import proposals, texts
    from hotline.settings import today_in
    from hotline.tickets.service import TicketError

    settings = _settings(args)
    with _session(settings) as session, session.begin():
        operator = _active_operator(session, args.as_operator)
        try:
            if args.action == "approve":
                p = proposals.approve(
                    session,
                    args.id,
                    operator,
                    settings.county_names,
                    review_days=settings.knowledge.review_days,
                    today=today_in(settings),
                    note=args.note or "",
                )
                done = texts.CLI_APPROVED.format(id=p.id, entry=p.entry_id, due=p.review_due)
            else:
                p = proposals.reject(session, args.id, operator, args.reason, settings.county_names)
                done = texts.CLI_REJECTED.format(id=p.id, note=p.decision_note)
        except TicketError as exc:
            raise CliError(str(exc)) from exc
    print(done)
    return 0


def _add_appointments_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ap = sub.add_parser("appointments", help="法律援助中心预约 / appointments at the centres").add_subparsers(
        dest="action", required=True
    )
    ls = ap.add_parser("list", help="某日各中心的预约 / a day's appointments per centre")
    ls.add_argument("--county", help="县区（名称、简称或代码）/ county")
    ls.add_argument("--date", help="日期：2026-12-07、12-07、今天、明天（默认今天）/ day (default today)")
    ls.add_argument("--operator", type=int, help="按该工作人员的县区范围 / as seen by operator id")
    ls.set_defaults(func=cmd_appointments_list)
    ns = ap.add_parser("noshow", help="登记未到场（记入工单处理记录）/ mark a no-show (audited)")
    ns.add_argument("id", type=int, help="预约编号（list 中的 #编号）/ appointment id")
    ns.add_argument("--operator", type=int, required=True, help="登记的工作人员编号 / operator id")
    ns.set_defaults(func=cmd_appointments_noshow)


def cmd_kb_export(args: argparse.Namespace) -> int:
    from hotline.knowledge import proposals, texts

    settings = _settings(args)
    with _session(settings) as session:
        text, count = proposals.export_yaml(session)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(texts.CLI_EXPORTED.format(count=count, out=args.out))
    else:
        print(text, end="")
    return 0


def _add_kb_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    kb = sub.add_parser(
        "kb",
        help="知识库提议：提出、审核、导出 / knowledge-base proposals",
        description="知识库提议：话务员据工单的答复提议常见问题条目，监督人员批准后机器人即起使用（复核日期按"
        " knowledge.review_days），每一步记入工单审计；export 导出为 faq.yaml 格式，供并入文件。"
        " / Operators propose entries from a ticket's answer; approved ones are served by the bot.",
    ).add_subparsers(dest="action", required=True)
    pr = kb.add_parser(
        "propose",
        help="据工单的答复提议常见问题条目 / propose an entry from a ticket's answer",
        description="话务员只能据本人县区的工单提议；提议经监督人员批准后机器人即起使用（记入工单审计）。",
    )
    pr.add_argument("number", help="工单号 / source ticket number")
    pr.add_argument(
        "--question",
        action="append",
        required=True,
        help="问法（至少两种；可重复本参数或用“；”分隔）/ phrasings, at least two",
    )
    pr.add_argument("--answer", required=True, help="简短答案，300字以内 / short answer (≤ 300 chars)")
    pr.add_argument("--articles", help="条文，如 《中华人民共和国劳动法》第四十四条；… / articles")
    pr.add_argument("--details", help="详细说明（市民追问时）/ details")
    pr.add_argument("--category", help="类别代码（默认取工单类别）/ category code (default: the ticket's)")
    pr.add_argument("--operator", type=int, required=True, help="提议的工作人员编号 / proposing operator id")
    pr.set_defaults(func=cmd_kb_propose)
    pd = kb.add_parser("pending", help="待审核的提议 / pending proposals, oldest first")
    pd.add_argument("--as-operator", type=int, help="按该监督人员的可见范围 / as seen by supervisor id")
    pd.add_argument("--limit", type=int, default=50)
    pd.set_defaults(func=cmd_kb_pending)
    ap = kb.add_parser("approve", help="批准提议（监督人员，记入审计）/ approve (supervisor, audited)")
    ap.add_argument("id", type=int, help="提议编号 / proposal id")
    ap.add_argument("--note", help="备注 / note")
    ap.add_argument("--as-operator", type=int, required=True, help="批准的监督人员编号 / supervisor id")
    ap.set_defaults(func=cmd_kb_decide)
    rj = kb.add_parser("reject", help="退回提议（须写理由，记入审计）/ reject with a reason (audited)")
    rj.add_argument("id", type=int, help="提议编号 / proposal id")
    rj.add_argument("reason", help="理由 / reason")
    rj.add_argument("--as-operator", type=int, required=True, help="退回的监督人员编号 / supervisor id")
    rj.set_defaults(func=cmd_kb_decide)
    ex = kb.add_parser(
        "export",
        help="导出已批准、尚未并入 faq.yaml 的条目（faq.yaml 格式）/ approved entries as faq.yaml YAML",
    )
    ex.add_argument("--out", help="输出文件（默认打印）/ output file (default: stdout)")
    ex.set_defaults(func=cmd_kb_export)


# --- privacy (PIPL) ------------------------------------------------------------------------------
def _tracker_note(n: int | None) -> str:
    return "未找到对话引擎的 SQL 存储（跳过）" if n is None else f"{n} 条"


def cmd_privacy_retention(args: argparse.Namespace) -> int:
    from hotline.db.models import utcnow
    from hotline.privacy.retention import run_retention, tracker_engine

    settings = _settings(args)
    policy = settings.privacy
    trackers = tracker_engine(policy)
    try:
        with _session(settings) as session:
            # By hand: every finished ticket is read (the daily job reads the recent ones only).
            r = run_retention(session, policy, utcnow(), dry_run=args.dry_run, trackers=trackers, full=True)
            if args.dry_run:
                session.rollback()
            else:
                session.commit()
    finally:
        if trackers is not None:
            trackers.dispose()
    head = "试运行（未写入），将处理：" if args.dry_run else "保留期限清理完成："
    conversations = "" if r.tracker_conversations is None else f"（{r.tracker_conversations} 个对话）"
    print(head)
    print(f"  消息记录（超过 {policy.message_retention_days} 天）：{r.messages} 条")
    print(f"  附件引用（超过 {policy.attachment_retention_days} 天）：{r.attachments} 个")
    print(f"  已办结工单遮盖电话/证件号：{r.tickets_masked} 件")
    print(f"  市民昵称：{r.display_names} 个")
    print(f"  未采纳的学习样本：{r.learned_examples} 条")
    tracker = _tracker_note(r.tracker_events if r.tracker_conversations is not None else None)
    print(f"  对话引擎记录（闲置超过 {policy.tracker_retention_days} 天）：{tracker}{conversations}")
    return 0


def cmd_privacy_erase(args: argparse.Namespace) -> int:
    from hotline.db.models import utcnow
    from hotline.privacy.erasure import ErasureRefused, erase_citizen
    from hotline.privacy.retention import tracker_engine

    settings = _settings(args)
    trackers = tracker_engine(settings.privacy)
    try:
        with _session(settings) as session:
            operator = session.get(Operator, args.as_operator)
            if operator is None:
                raise CliError(f"找不到工作人员 #{args.as_operator}")
            try:
                r = erase_citizen(
                    session, args.citizen, operator, utcnow(), dry_run=args.dry_run, trackers=trackers
                )
            except ErasureRefused as exc:
                raise CliError(str(exc)) from exc
            if args.dry_run:
                session.rollback()
            else:
                session.commit()
    finally:
        if trackers is not None:
            trackers.dispose()
    head = "试运行（未写入），将删除：" if args.dry_run else "已删除该市民的个人信息（已记入审计）："
    print(head)
    print(f"  工单 {len(r.tickets)} 件：{'、'.join(r.tickets) or '无'}（统计字段保留）")
    print(f"  消息记录 {r.messages} 条，其中附件 {r.attachments} 个")
    print(f"  评价留言 {r.ratings} 条，回访事项 {r.reviews} 条，审计记录中的文字 {r.events} 条")
    print(f"  对话引擎记录：{_tracker_note(r.tracker_events)}")
    return 0


# --- scheduler ------------------------------------------------------------------------------------
def cmd_scheduler(args: argparse.Namespace) -> int:
    from hotline.runtime import startup_checks
    from hotline.scheduler.service import SchedulerService

    settings = _settings(args)
    for warning in startup_checks(settings):
        print(warning, file=sys.stderr)
    if args.run_now:
        from hotline.scheduler.jobs import scheduled_report
        from hotline.scheduler.runtime import Runtime, default_notifier, install

        install(Runtime(settings, default_notifier(settings)))
        print(scheduled_report(args.run_now))
        return 0
    setup_logging(
        "scheduler",
        settings.log_dir,
        logging.DEBUG if args.verbose else logging.INFO,
        files=settings.logging,
    )
    service = SchedulerService(settings)
    print("调度器运行中（Ctrl+C 退出）；多实例时仅一个为主节点")
    try:
        service.run_forever()
    except KeyboardInterrupt:
        service.stop()
    return 0


# --- dibao (the 低保 table behind the means test) -------------------------------------------------
def cmd_dibao_add(args: argparse.Namespace) -> int:
    """Add a 低保 row to the configuration file (admin only; audited in <log_dir>/audit.jsonl)."""
    from pydantic import ValidationError

    from hotline.eligibility.config import DibaoRow
    from hotline.eligibility.dibao import DibaoEditError, add_row, parse_from
    from hotline.settings import PROJECT_ROOT, _config_path

    settings = _settings(args)
    with _session(settings) as session:
        operator = session.get(Operator, args.as_operator)
        if operator is None or not operator.active or OperatorRole(operator.role) is not OperatorRole.ADMIN:
            raise CliError(f"只有在岗的管理员可以修改低保标准（#{args.as_operator} 不是）")
    urban = args.urban if args.urban is not None else args.amount
    rural = args.rural if args.rural is not None else args.amount
    if urban is None or rural is None:
        raise CliError("请给出 --amount（城乡统一标准），或分别给出 --urban 和 --rural")
    try:
        row = DibaoRow(effective_from=parse_from(args.from_), urban=urban, rural=rural, source=args.source)
        config = _config_path(os.environ, args.config)
        log_dir = Path(settings.log_dir)
        added = add_row(
            config,
            row,
            f"operator:{operator.id}",
            log_dir if log_dir.is_absolute() else PROJECT_ROOT / log_dir,
        )
    except DibaoEditError as exc:
        raise CliError(str(exc)) from exc
    except ValidationError as exc:
        raise CliError(f"低保标准有误：{exc.errors()[0]['msg']}") from exc
    print(
        f"已添加：自{row.effective_from.isoformat()}起 城镇{row.urban:g}元 农村{row.rural:g}元"
        f"（来源：{row.source}）\n  配置文件 {added.config_path}（重启网关、对话动作服务和调度器后生效）"
        f"\n  审计记录 {added.audit_path}"
    )
    return 0


def cmd_dibao_list(args: argparse.Namespace) -> int:
    from hotline.eligibility.dibao import stale_warning
    from hotline.settings import today_in

    settings = _settings(args)
    for row in settings.eligibility.means_test.dibao:
        print(f"{row.effective_from.isoformat()}  城镇{row.urban:g}  农村{row.rural:g}  {row.source}")
    warning = stale_warning(settings.eligibility, today_in(settings), settings.reports.dibao_stale_months)
    if warning:
        print(warning)
    return 0


# --- tickets: lifecycle and search (issue 12; the same hotline.tickets.lifecycle functions as the desk) --
LifecycleAction = Callable[[Session, Settings, Operator, Ticket, argparse.Namespace], str]


def _lifecycle(args: argparse.Namespace, act: LifecycleAction) -> int:
    """Run one lifecycle action as `--operator` (their county access applies), commit, print the result."""
    from hotline.tickets.service import TicketError, get_by_number

    settings = _settings(args)
    with _session(settings) as session:
        operator = _active_operator(session, args.operator)
        ticket = get_by_number(session, args.number)
        if ticket is None:
            raise CliError(f"找不到工单：{args.number}")
        try:
            done = act(session, settings, operator, ticket, args)
        except TicketError as exc:
            raise CliError(str(exc)) from exc
        session.commit()
    print(done)
    return 0


def _clock(settings: Settings) -> SlaClock:
    from hotline.sla.clock import SlaClock

    return SlaClock(settings.sla)


def _wait(session: Session, settings: Settings, op: Operator, t: Ticket, args: argparse.Namespace) -> str:
    from hotline.tickets import lifecycle, texts

    note = args.note or ""
    lifecycle.wait_for_citizen(session, t, op, settings.county_names, note=note, sla=_clock(settings))
    return texts.CLI_WAITING.format(number=t.number)


def _close(session: Session, settings: Settings, op: Operator, t: Ticket, args: argparse.Namespace) -> str:
    from hotline.tickets import lifecycle, texts

    resolved_now = lifecycle.close(
        session, t, op, args.outcome, settings.county_names, note=args.note or "", sla=_clock(settings)
    )
    outcome = lifecycle.data().outcomes[lifecycle.outcome_code(args.outcome)]
    done = texts.CLI_CLOSED_RATING if resolved_now else texts.CLI_CLOSED
    return done.format(number=t.number, outcome=outcome)


def _reopen(session: Session, settings: Settings, op: Operator, t: Ticket, args: argparse.Namespace) -> str:
    from hotline.tickets import lifecycle, texts

    note = args.note or ""
    lifecycle.reopen(session, t, op, settings.county_names, note=note, sla=_clock(settings))
    return texts.CLI_REOPENED.format(number=t.number)


def _cancel(session: Session, settings: Settings, op: Operator, t: Ticket, args: argparse.Namespace) -> str:
    from hotline.tickets import lifecycle, texts

    reason = lifecycle.cancel(session, t, op, args.reason, settings.county_names, sla=_clock(settings))
    return texts.CLI_CANCELLED.format(number=t.number, reason=reason)


def _refer(session: Session, settings: Settings, op: Operator, t: Ticket, args: argparse.Namespace) -> str:
    from hotline.tickets import lifecycle, texts

    agency, message = lifecycle.refer(
        session, t, op, args.agency, settings.county_names, sla=_clock(settings)
    )
    return texts.CLI_REFERRED.format(number=t.number, agency=agency, message=message)


def _unclaim(session: Session, settings: Settings, op: Operator, t: Ticket, args: argparse.Namespace) -> str:
    from hotline.tickets import lifecycle, texts

    lifecycle.unclaim(session, t, op, settings.county_names, sla=_clock(settings))
    return texts.CLI_UNCLAIMED.format(number=t.number)


def _assign(session: Session, settings: Settings, op: Operator, t: Ticket, args: argparse.Namespace) -> str:
    from hotline.tickets import lifecycle, texts

    target = lifecycle.find_operator(session, args.to)
    lifecycle.reassign(session, t, op, target, settings.county_names, sla=_clock(settings))
    return texts.CLI_ASSIGNED.format(number=t.number, name=target.name)


def _set_county(
    session: Session, settings: Settings, op: Operator, t: Ticket, args: argparse.Namespace
) -> str:
    from hotline.tickets import lifecycle, texts

    code = _county_code(settings, args.county)
    assert code is not None  # the argument is required
    lifecycle.set_county(session, t, op, code, settings.county_names)
    return texts.CLI_COUNTY_SET.format(number=t.number, county=settings.county_names[code])


def _set_category(
    session: Session, settings: Settings, op: Operator, t: Ticket, args: argparse.Namespace
) -> str:
    from hotline import categories
    from hotline.tickets import lifecycle, texts

    lifecycle.set_category(session, t, op, args.category, settings.county_names)
    return texts.CLI_CATEGORY_SET.format(number=t.number, category=categories.label(t.category))


LIFECYCLE_ACTIONS: dict[str, LifecycleAction] = {
    "wait": _wait,
    "close": _close,
    "reopen": _reopen,
    "cancel": _cancel,
    "refer": _refer,
    "unclaim": _unclaim,
    "assign": _assign,
    "county": _set_county,
    "category": _set_category,
}


def cmd_tickets_lifecycle(args: argparse.Namespace) -> int:
    return _lifecycle(args, LIFECYCLE_ACTIONS[args.action])


def cmd_tickets_find(args: argparse.Namespace) -> int:
    from hotline.reports.texts import STATUS, category_label
    from hotline.tickets import texts
    from hotline.tickets.access import Viewer
    from hotline.tickets.search import Criteria, find_tickets, parse_date, phone_tail
    from hotline.tickets.service import TicketError

    settings = _settings(args)
    with _session(settings) as session:
        viewer = None
        if args.as_operator:
            operator = _active_operator(session, args.as_operator)
            viewer = Viewer.of(operator)
        try:
            criteria = Criteria(
                number=args.number,
                phone_tail=phone_tail(args.phone_tail) if args.phone_tail else None,
                date_from=parse_date(args.date_from) if args.date_from else None,
                date_to=parse_date(args.date_to) if args.date_to else None,
                category=args.category,
                status=TicketStatus(args.status) if args.status else None,
                county=_county_code(settings, args.county),
            )
        except TicketError as exc:
            raise CliError(str(exc)) from exc
        tickets = find_tickets(
            session, criteria, viewer=viewer, timezone=settings.city.timezone, limit=args.limit
        )
        names = settings.county_names
        for t in tickets:
            print(
                f"{t.number}\t{names.get(t.county_code or '', '—')}\t{category_label(t.category)}\t"
                f"{STATUS.get(str(t.status), str(t.status))}\t受理(UTC) {t.created_at:%Y-%m-%d %H:%M}"
            )
        print(texts.CLI_FOUND.format(count=len(tickets)))
    return 0


def cmd_tickets_handoffs(args: argparse.Namespace) -> int:
    """`tickets handoffs`: conversations waiting for a person, with what the citizen wrote since."""
    from hotline.logging_setup import mask_pii
    from hotline.reports.texts import STATUS, category_label
    from hotline.tickets import texts
    from hotline.tickets.access import Viewer
    from hotline.tickets.handoffs import waiting_handoffs

    settings = _settings(args)
    with _session(settings) as session:
        viewer = None
        if args.as_operator:
            operator = _active_operator(session, args.as_operator)
            viewer = Viewer.of(operator)
        found = waiting_handoffs(session, viewer)
    if not found:
        print(texts.CLI_NO_HANDOFFS)
    names = settings.county_names
    for item in found:
        print(
            texts.CLI_HANDOFF_LINE.format(
                number=item.number,
                county=names.get(item.county_code or "", texts.NO_COUNTY),
                category=category_label(item.category),
                status=STATUS.get(str(item.status), str(item.status)),
                since=f"{item.since:%Y-%m-%d %H:%M} UTC",
            )
        )
        for text in item.messages[-args.last :]:
            print(texts.CLI_HANDOFF_MESSAGE.format(text=mask_pii(text)))
    return 0


def cmd_tickets_reply(args: argparse.Namespace) -> int:
    """`tickets reply 工单号 文本`: the answer is queued for the citizen; the running gateway delivers it."""
    from hotline.tickets import texts
    from hotline.tickets.handoffs import operator_reply
    from hotline.tickets.service import TicketError, get_by_number

    settings = _settings(args)
    with _session(settings) as session:
        operator = None
        if args.operator is not None:
            operator = _active_operator(session, args.operator)
        ticket = get_by_number(session, args.number)
        if ticket is None:
            raise CliError(f"找不到工单：{args.number}")
        try:
            operator_reply(session, ticket, operator, args.text, settings.county_names, sla=_clock(settings))
        except TicketError as exc:
            raise CliError(str(exc)) from exc
        session.commit()
        number = ticket.number
    print(texts.CLI_REPLY_QUEUED.format(number=number))
    return 0


def _add_lifecycle_parsers(tk: Any) -> None:
    """`tickets wait|close|reopen|cancel|refer|unclaim|assign|county|find`."""
    from hotline import categories
    from hotline.tickets import lifecycle

    spec = lifecycle.data()

    def action(name: str, help_text: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = tk.add_parser(name, help=help_text)
        parser.add_argument("number", help="工单号 / ticket number")
        parser.add_argument(
            "--operator",
            type=int,
            required=True,
            help="操作的工作人员编号（按其县区权限）/ acting operator id",
        )
        parser.set_defaults(func=cmd_tickets_lifecycle)
        return parser

    action("wait", "等待市民补充（时限暂停）/ wait for the citizen").add_argument("--note", help="说明")
    close = action("close", "结案 / close with an outcome")
    close.add_argument("outcome", help="结果：" + "、".join(spec.outcomes.values()))
    close.add_argument("--note", help="说明")
    action("reopen", "重新打开 / reopen").add_argument("--note", help="原因")
    action("cancel", "撤销 / cancel").add_argument(
        "reason", help="原因：" + "、".join(spec.cancel_reasons.values())
    )
    action("refer", "转其他部门 / refer to another agency").add_argument(
        "agency", help="部门：" + "、".join(a.name for a in spec.agencies.values())
    )
    action("unclaim", "退回待认领 / unclaim")
    action("assign", "改派 / reassign").add_argument("to", help="工作人员姓名或 #编号")
    action("county", "设定县区 / set the county").add_argument("county", help="县区名称或代码")
    action(
        "category", "更正类别（记入学习样本）/ correct the category (kept for the NLU inbox)"
    ).add_argument(
        "category", help="类别：" + "、".join(categories.label(c) for c in categories.INTAKE_CATEGORIES)
    )

    hf = tk.add_parser("handoffs", help="等待人工答复的工单及市民留言 / conversations waiting for a person")
    hf.add_argument("--as-operator", type=int, help="按该工作人员的可见范围 / as seen by operator id")
    hf.add_argument(
        "--last", type=int, default=5, help="每件显示最近几条市民消息 / messages shown per ticket"
    )
    hf.set_defaults(func=cmd_tickets_handoffs)
    rp = tk.add_parser(
        "reply", help="答复市民（由运行中的网关送达）/ answer the citizen (the gateway delivers)"
    )
    rp.add_argument("number", help="工单号 / ticket number")
    rp.add_argument("text", help="答复内容 / the answer")
    rp.add_argument(
        "--operator", type=int, help="答复的工作人员编号（按其县区权限；本地对话窗口可省略）/ operator id"
    )
    rp.set_defaults(func=cmd_tickets_reply)

    fd = tk.add_parser("find", help="查找工单 / search tickets")
    fd.add_argument("--number", help="工单号片段 / number fragment")
    fd.add_argument("--phone-tail", help="电话尾号（4 位以上）/ phone tail")
    fd.add_argument("--from", dest="date_from", help="受理日期起 YYYY-MM-DD")
    fd.add_argument("--to", dest="date_to", help="受理日期止 YYYY-MM-DD（含）")
    fd.add_argument("--category", choices=[c.code for c in categories.CATEGORIES])
    fd.add_argument("--status", choices=[s.value for s in TicketStatus])
    fd.add_argument("--county", help="县区 / county")
    fd.add_argument("--as-operator", type=int, help="按该工作人员的可见范围 / as seen by operator id")
    fd.add_argument("--limit", type=int, default=50)
    fd.set_defaults(func=cmd_tickets_find)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m hotline", description="12348 法律援助热线管理命令 / hotline admin CLI"
    )
    p.add_argument("--config", help="配置文件路径 / config file (默认 config/hotline.yaml 或 HOTLINE_CONFIG)")
    p.add_argument("-v", "--verbose", action="store_true", help="输出调试日志 / debug logging")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    db = sub.add_parser("db", help="数据库 / database").add_subparsers(dest="action", required=True)
    db.add_parser("upgrade", help="升级数据库结构 / apply migrations").set_defaults(func=cmd_db_upgrade)
    bk = db.add_parser("backup", help="备份数据库（并按 backup.keep_daily 轮换）/ back up the database")
    bk.add_argument("--to", help="备份目录 / directory (默认 backup.dir；其他目录不轮换)")
    bk.set_defaults(func=cmd_db_backup)
    rs = db.add_parser("restore", help="从备份恢复数据库 / restore the database from a backup")
    rs.add_argument("file", help="备份文件 / backup file (hotline-*.sqlite3 | hotline-*.pgdump)")
    rs.add_argument(
        "--yes", action="store_true", help="确认覆盖当前数据库 / confirm overwriting the database"
    )
    rs.set_defaults(func=cmd_db_restore)

    rp = sub.add_parser("report", help="生成报告 / produce a report")
    rp.add_argument("kind", choices=["weekly", "monthly", "annual"], help="周报/月报/年度自查草稿")
    rp.add_argument("--period", help="周期 / period: 2026-W48 | 2026-11 | 2026（默认上一完整周期）")
    rp.add_argument("--county", help="县区名称或代码 / county (默认全市)")
    rp.add_argument("--all-counties", action="store_true", help="全市及每个县区各一份 / city + each county")
    rp.add_argument("--out", help="输出目录 / output dir (默认 reports.out_dir)")
    rp.add_argument("--deliver", action="store_true", help="同时发送给督导群 / also deliver via notifier")
    rp.set_defaults(func=cmd_report)

    tk = sub.add_parser("tickets", help="工单 / tickets").add_subparsers(dest="action", required=True)
    ls = tk.add_parser("list", help="列出工单 / list tickets")
    ls.add_argument("--status", choices=[s.value for s in TicketStatus])
    ls.add_argument("--county", help="县区 / county")
    ls.add_argument("--overdue", action="store_true", help="仅超时未办 / overdue only")
    ls.add_argument("--as-operator", type=int, help="按该工作人员的可见范围 / as seen by operator id")
    ls.add_argument("--limit", type=int, default=50)
    ls.set_defaults(func=cmd_tickets_list)
    sh = tk.add_parser("show", help="查看工单及处理记录 / show ticket with audit trail")
    sh.add_argument("number")
    sh.set_defaults(func=cmd_tickets_show)
    from hotline.imports.columns import __doc__ as columns_doc

    im = tk.add_parser(
        "import",
        help="导入历史案件 / import historical cases (CSV/XLSX)",
        description=columns_doc,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    im.add_argument("file", help="CSV（UTF-8 或 GBK）或 XLSX 文件")
    im.add_argument("--dry-run", action="store_true", help="只校验不写入 / validate only")
    im.set_defaults(func=cmd_tickets_import)
    ex = tk.add_parser("export", help="导出工单 / export tickets (CSV/XLSX by file suffix)")
    ex.add_argument("--from", dest="date_from", required=True, help="开始日期 YYYY-MM-DD")
    ex.add_argument("--to", dest="date_to", required=True, help="结束日期 YYYY-MM-DD（含）")
    ex.add_argument("--county", help="县区 / county")
    ex.add_argument("--out", required=True, help="输出文件 .csv 或 .xlsx")
    ex.add_argument("--as-operator", type=int, help="按该工作人员的可见范围 / as seen by operator id")
    ex.add_argument(
        "--clear-text",
        action="store_true",
        help="不遮盖描述中的个人信息，仅限管理员，记入审计 / unmasked descriptions (admin only, audited)",
    )
    ex.set_defaults(func=cmd_tickets_export)

    _add_lifecycle_parsers(tk)

    op = sub.add_parser("operators", help="工作人员 / operators").add_subparsers(dest="action", required=True)
    add = op.add_parser("add", help="添加 / add")
    add.add_argument("--name", required=True)
    add.add_argument("--role", choices=[r.value for r in OperatorRole], default="operator")
    add.add_argument("--counties", help="县区，逗号分隔 / comma-separated counties")
    add.add_argument("--telegram-id", type=int)
    add.set_defaults(func=cmd_operators_add)
    op.add_parser("list", help="列表 / list").set_defaults(func=cmd_operators_list)
    rm = op.add_parser("remove", help="停用 / deactivate")
    rm.add_argument("id", type=int)
    rm.set_defaults(func=cmd_operators_remove)

    _add_reviews_parser(sub)
    _add_kb_parser(sub)
    _add_privacy_parser(sub)
    _add_appointments_parser(sub)
    _add_nlu_parser(sub)
    _add_dibao_parser(sub)

    sc = sub.add_parser("scheduler", help="运行报告调度器 / run the report scheduler")
    sc.add_argument(
        "--run-now", choices=["weekly", "monthly", "annual"], help="立即执行一次 / run one job now"
    )
    sc.set_defaults(func=cmd_scheduler)
    return p


def _add_reviews_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    rv = sub.add_parser("reviews", help="回访复核事项 / follow-up review items").add_subparsers(
        dest="action", required=True
    )
    ls = rv.add_parser("list", help="待办复核事项 / open review items, oldest first")
    ls.add_argument("--county", help="县区 / county")
    ls.add_argument("--as-operator", type=int, help="按该监督人员的可见范围 / as seen by supervisor id")
    ls.add_argument("--limit", type=int, default=50)
    ls.set_defaults(func=cmd_reviews_list)
    cl = rv.add_parser("close", help="记录回访结果并办结 / record the callback's outcome and close (audited)")
    cl.add_argument("id", type=int, help="复核事项编号 / review item id")
    cl.add_argument("outcome", help="回访结果 / outcome, e.g. 已电话回访，群众表示理解")
    cl.add_argument("--as-operator", type=int, required=True, help="办结的监督人员编号 / supervisor id")
    cl.set_defaults(func=cmd_reviews_close)


def _add_dibao_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = sub.add_parser(
        "dibao", help="低保标准（经济困难审查）/ the 低保 table of the means test"
    ).add_subparsers(dest="action", required=True)
    ls = db.add_parser("list", help="列出低保标准 / list the rows (and warn when out of date)")
    ls.set_defaults(func=cmd_dibao_list)
    add = db.add_parser(
        "add",
        help="添加一条低保标准 / add a row (admin only, audited)",
        description="把一条新的低保标准写入配置文件 eligibility.means_test.dibao（全市统一，分城镇、农村），"
        "写明来源文件；写入前校验整个配置，审计记录写入 <log_dir>/audit.jsonl。重启各服务后生效。"
        " / Add a city-wide row (urban and rural) with its source document to the configuration file;"
        " validated before writing, audited; takes effect when the services restart.",
    )
    add.add_argument("--from", dest="from_", required=True, help="起始日期 YYYY-MM[-DD] / effective from")
    add.add_argument(
        "--amount", type=float, help="城乡统一标准（元/人/月）/ one standard for urban and rural"
    )
    add.add_argument("--urban", type=float, help="城镇标准（元/人/月）/ urban standard")
    add.add_argument("--rural", type=float, help="农村标准（元/人/月）/ rural standard")
    add.add_argument("--source", required=True, help="来源文件和文号 / source document")
    add.add_argument("--as-operator", type=int, required=True, help="管理员编号 / admin operator id")
    add.set_defaults(func=cmd_dibao_add)


def _add_privacy_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    pv = sub.add_parser("privacy", help="个人信息保护 / personal data (PIPL)").add_subparsers(
        dest="action", required=True
    )
    er = pv.add_parser(
        "erase",
        help="删除一位市民的个人信息 / erase one citizen's personal data (admin only, audited)",
        description="删除一位市民的消息、证件号/电话、附件引用和对话引擎记录；工单统计字段保留，报告数字不变。"
        " / Erase one citizen's messages, ID/phone numbers, attachment references and engine conversation;"
        " tickets keep the fields reports count. Admin only; audited on each ticket.",
    )
    er.add_argument(
        "--citizen",
        required=True,
        help="渠道:编号（如 telegram:123456）或工单号 / channel:external_id or ticket",
    )
    er.add_argument("--as-operator", type=int, required=True, help="管理员编号 / admin operator id")
    er.add_argument("--dry-run", action="store_true", help="只统计不删除 / count only, write nothing")
    er.set_defaults(func=cmd_privacy_erase)
    rt = pv.add_parser(
        "retention",
        help="立即执行保留期限清理 / run the retention pass now",
        description="按配置 privacy: 的保留期限清理过期的消息、附件引用和对话引擎记录（每日自动执行）。"
        " / Erase messages, attachment references and engine conversations past the ages in `privacy:`"
        " (also run daily by the scheduler).",
    )
    rt.add_argument("--dry-run", action="store_true", help="只统计不写入 / count only, write nothing")
    rt.set_defaults(func=cmd_privacy_retention)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # Masked like every process's log (citizens' numbers never reach a terminal or file); commands that
    # run for long (the scheduler) add their own file.
    setup_logging("cli", None, logging.DEBUG if args.verbose else logging.WARNING)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"配置错误：{exc}", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    except CliError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except OperationalError as exc:
        print(f"数据库错误：{exc.orig}（是否已运行 python -m hotline db upgrade？）", file=sys.stderr)
        return EXIT_USER_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
