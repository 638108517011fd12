"""Real servers nobody here wrote, started for tests with the same launcher users get
(:func:`chaos.testing.serve.start`): nginx, its command line from `bench.daemons`."""

from __future__ import annotations

import shlex
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench import daemons
from chaos.testing.serve import ServedCommand, free_port, start
from chaos.testing.strategies import LARGE_RESPONSE

__all__ = ["NGINX", "README_TIMEOUT", "nginx"]

# The timeouts the README's examples promise (its toolkit server's), which nginx gets too.
README_TIMEOUT = 1.0

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


@contextmanager
def nginx(timeout: float) -> Iterator[ServedCommand]:
    """nginx enforcing ``timeout`` seconds as its header (idle and request) and send timeouts,
    serving the large response the wire suite's write check asks for."""
    assert NGINX is not None, "nginx is not installed"
    # Its workers run as nobody: the prefix must be readable by them, so not under pytest's
    # private temporary directories.
    prefix = Path(tempfile.mkdtemp(prefix="chaos-nginx-"))
    prefix.chmod(0o755)
    try:
        port = free_port()
        size = int(LARGE_RESPONSE.rsplit("/", 1)[1])
        daemon = daemons.nginx(
            client_header_timeout=timeout,
            keepalive_timeout=timeout,
            write_timeout=timeout,
            large=(LARGE_RESPONSE, size),
        )
        command = shlex.join(daemon.argv(prefix, port))
        served = start(command, port=port)
        try:
            yield served
        finally:
            served.stop()
    finally:
        shutil.rmtree(prefix, ignore_errors=True)
