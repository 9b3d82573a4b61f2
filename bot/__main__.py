"""Run the gateway: `python -m bot [--transport console|telegram]`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import logging
import os
import sys

from bot.engine import RasaRestEngine
from bot.gateway import Gateway
from bot.notify import GatewayNotifier
from hotline.db.session import get_sessionmaker
from hotline.logging_setup import setup_logging
from hotline.observability import start_gateway_probes
from hotline.runtime import ready_database
from hotline.scheduler.runtime import default_notifier
from hotline.scheduler.service import start_embedded
from hotline.settings import ConfigError, load_settings


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="12348 热线网关：接收市民消息，存档后交给对话引擎并回复。"
        " Gateway: persists citizen messages, forwards them to the Rasa engine, renders replies.",
    )
    parser.add_argument(
        "--transport",
        choices=["console", "telegram"],
        help="对话渠道 (default: from config/HOTLINE_TRANSPORT; telegram when TELEGRAM_BOT_TOKEN is set)",
    )
    parser.add_argument("--config", help="配置文件路径 (default: config/hotline.yaml or $HOTLINE_CONFIG)")
    parser.add_argument("--user", help="console 渠道的本地用户标识 (default: OS user name)")
    parser.add_argument(
        "--no-scheduler",
        action="store_true",
        help="不在网关进程内运行报告/回访调度器（另行运行 `python -m hotline scheduler` 时用）",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    transport = args.transport or settings.transport
    if transport == "telegram" and not settings.telegram_bot_token:
        print("使用 telegram 渠道需要设置环境变量 TELEGRAM_BOT_TOKEN", file=sys.stderr)
        return 2
    # The console owns the terminal, so its logs go to the file only.
    setup_logging(
        "gateway",
        settings.log_dir,
        level=logging.INFO,
        files=settings.logging,
    )
    if transport == "console":
        logging.getLogger().handlers[:] = [
            h for h in logging.getLogger().handlers if isinstance(h, logging.FileHandler)
        ]
    url = ready_database(settings)
    start_gateway_probes(settings)  # /metrics /healthz /readyz when metrics.port is set
    engine = RasaRestEngine(
        settings.rasa.url, settings.rasa.timeout_seconds, os.environ.get("RASA_AUTH_TOKEN")
    )
    fallback = default_notifier(settings)
    gateway = Gateway(
        engine,
        get_sessionmaker(url),
        max_attempts=settings.gateway.max_attempts,
        ticket_prefix=settings.city.ticket_prefix,
        timezone=settings.city.timezone,
        claim_ttl=dt.timedelta(seconds=settings.gateway.claim_ttl_seconds),
        settings=settings,
    )
    if transport == "telegram":
        from bot.transports.telegram import TelegramTransport

        telegram = TelegramTransport(gateway, settings, with_scheduler=not args.no_scheduler)
        telegram.run()
        return 0
    from bot.transports.console import ConsoleChat

    chat = ConsoleChat(gateway, user_id=args.user, retry_interval=settings.gateway.retry_interval_seconds)

    async def console_main() -> None:
        scheduler = None
        if not args.no_scheduler:
            notifier = GatewayNotifier(asyncio.get_running_loop(), chat.deliver, fallback)
            scheduler = start_embedded(settings, notifier)
        try:
            await chat.run()
        finally:
            if scheduler is not None:
                await asyncio.to_thread(scheduler.stop)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(console_main())
    return 0


if __name__ == "__main__":
    sys.exit(main())
