"""An exchange whose answer is read as HTTP, as most request-sending faults read theirs.

The response's status and what :class:`~chaos.protocols.http_messages.ResponseReader` learned
(a whole response or not, body bytes, a protocol error) go on the session's record.
"""

from __future__ import annotations

from ..engine.exchange import Writer, exchange, listen_only
from ..engine.session import Session
from ..protocols.http_messages import ResponseReader

__all__ = ["exchange_reading_http"]


async def exchange_reading_http(
    session: Session, *, hold: float, write: Writer, method: str = "GET"
) -> None:
    """:func:`~chaos.engine.exchange.exchange` while parsing what the server answers."""
    reader = ResponseReader(method=method)
    await exchange(session, hold=hold, write=write, on_data=listen_only(reader.feed))
    session.status = reader.status
    session.detail.update(reader.summary())
