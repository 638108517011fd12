"""Check: write timeout. A client asks for a large response and never reads; is it cut?

Needs an HTTP target that can produce a response larger than the socket buffers (toolkit's
``/bytes/N``; ``--large-path`` elsewhere). The baseline stage fetches it once: if the answer
is not a 200 of at least :data:`MIN_LARGE` bytes the check says "not measured" instead of
guessing. Measured from the response's first byte reaching us (when a server's write clock
starts; from our request where the kernel cannot say) to the server's reset (or FIN), both
seen without reading: the time a server takes to start its answer is not its write timeout. A
server that closes without a reset leaves its kernel sending the rest, its FIN behind it: its
own socket (on this host) says when it closed, and what the client then reads says whether
the answer was whole (a close after writing it all is no write timeout).
"""

from __future__ import annotations

from collections.abc import Sequence

from ...faults import SlowReadParams
from ...plan import ClientSpec
from ...record import ClientRecord, ServerEnd
from ..settings import VerifySettings
from ..stage import Role
from ..verdict import CheckResult, undecided
from .timing import judge_timeout

__all__ = ["CHECK", "MIN_LARGE", "ROLE", "judge", "large_enough", "roles"]

CHECK = "write-timeout"
ROLE = "stalled-reader"
# Loopback send and receive buffers top out at a few MiB; less than that may simply fit.
MIN_LARGE = 4 * 1024 * 1024
# How a server ended a stalled answer when it had written all of it before closing.
_WHOLE = "closed after writing it all"


def large_enough(record: ClientRecord | None, settings: VerifySettings) -> str | None:
    """None if ``record`` (the baseline fetch of the large path) qualifies, else why not."""
    if settings.profile.large(str(settings.target), settings.large_path) is None:
        return f"{settings.profile.name}: no large response to ask for"
    if record is None:
        return "the large response was not fetched"
    where = f"GET {settings.large_path}"
    if record.status is None:
        return f"{where} got no answer"
    if record.status != 200:
        return f"{where} answered {record.status}"
    size = record.number("body_bytes") or 0
    if not record.detail.get("got_response") or size < MIN_LARGE:
        return f"{where} gave {size} bytes, under the {MIN_LARGE >> 20} MiB needed"
    return None


def roles(settings: VerifySettings, *, alone: bool = False) -> list[Role]:
    """The check's one client (``alone`` changes nothing: it is one connection already)."""
    params = SlowReadParams(
        path=settings.large_path,
        never_read=True,
        hold=settings.timeout_cap(CHECK),
        connect_timeout=settings.connect_timeout,
    )
    return [Role(name=ROLE, spec=ClientSpec.of(params))]


def judge(
    records: Sequence[ClientRecord],
    settings: VerifySettings,
    *,
    unavailable: str | None = None,
) -> CheckResult:
    """Seconds from the response's first byte (else the request leaving) to the server
    giving up on the response."""
    if unavailable is not None:
        return undecided(CHECK, settings.expectations, unavailable)
    samples: list[float | None] = []
    kinds = []
    for record in records:
        if record.connected is None or record.last_sent is None:
            continue
        began = record.last_sent if record.first_byte is None else record.first_byte
        end, kind = _ended(record)
        if kind == _WHOLE:
            assert end is not None
            return undecided(
                CHECK,
                settings.expectations,
                f"the server wrote its whole answer to the kernel and closed after "
                f"{end - began:.2f} s: nothing was left for a write timeout to cut",
            )
        samples.append(None if end is None else end - began)
        if kind is not None:
            kinds.append(kind)
    return judge_timeout(CHECK, settings, samples, notes=kinds)


def _ended(record: ClientRecord) -> tuple[float | None, str | None]:
    """When and how the server ended the stalled answer: its reset or FIN, or its socket
    closed before that FIN could reach us (the kernel still sending what it had written)."""
    end = record.server_ended_at
    if end is None:
        return None, None
    if end == record.server_closed:
        return end, _WHOLE if record.detail.get("got_response") else "closed, its answer unsent"
    return end, "reset" if record.server_ended is ServerEnd.RESET else "closed"
