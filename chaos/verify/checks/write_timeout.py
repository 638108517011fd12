"""Check: write timeout. A client asks for a large response and never reads; is it cut?

Needs an HTTP target that can produce a response larger than the socket buffers (toolkit's
``/bytes/N``; ``--large-path`` elsewhere). The baseline stage fetches it once: if the answer
is not a 200 of at least :data:`MIN_LARGE` bytes the check says "not measured" instead of
guessing. Measured from the response's first byte reaching us (when a server's write clock
starts; from our request where the kernel cannot say) to the server's reset (or FIN), both
seen without reading: the time a server takes to start its answer is not its write timeout.
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
        end = record.server_ended_at
        began = record.last_sent if record.first_byte is None else record.first_byte
        samples.append(None if end is None else end - began)
        if end is not None:
            kinds.append("reset" if record.server_ended is ServerEnd.RESET else "closed")
    return judge_timeout(CHECK, settings, samples, notes=kinds)
