"""The operators' desk inside Telegram: ticket cards, claim/resolve/transfer buttons, reply relay, commands.

Layout: `cards` renders (pure), `relay` is the persisted group-message map, `service` changes tickets on an
operator's behalf (permission checks + audit), `sync` posts cards for new tickets, `handlers` is the
python-telegram-bot side that ties them together.
"""

from bot.desk.handlers import Desk

__all__ = ["Desk"]
