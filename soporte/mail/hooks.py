"""Other areas claim inbound mail that is not a request (calendar replies, say).

A handler gets the parsed mail and returns True when it took the message: it is then
marked processed without a ticket. Handlers run inside the processing transaction, so
what they write commits or rolls back with the message. mail imports nothing from
them; each area registers its own in its AppConfig.ready().
"""

from __future__ import annotations

from collections.abc import Callable

from .parse import ParsedMail

InboundHandler = Callable[[ParsedMail], bool]
_handlers: list[InboundHandler] = []


def register_inbound_handler(handler: InboundHandler) -> InboundHandler:
    if handler not in _handlers:
        _handlers.append(handler)
    return handler


def claimed(mail: ParsedMail) -> bool:
    """True when a registered handler took the message."""
    return any(handler(mail) for handler in _handlers)
