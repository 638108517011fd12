"""Real servers nobody here wrote, started for tests with the same launcher users get
(:func:`chaos.testing.serve.start`): nginx, configured by bench's config writer."""

from __future__ import annotations

import resource
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.nginx import write_config
from chaos.testing.serve import ServedCommand, free_port, start
from chaos.testing.strategies import LARGE_RESPONSE

__all__ = ["NGINX", "README_TIMEOUT", "nginx"]

# The timeouts the README's examples promise (its toolkit server's), which nginx gets too.
README_TIMEOUT = 1.0

NGINX = shutil.which("nginx") or (
    "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
)


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
        nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        conf = write_config(
            prefix, port, timeout, nofile, write_timeout=timeout, large=(LARGE_RESPONSE, size)
        )
        command = f"{NGINX} -p {prefix} -c {conf} -e {prefix / 'error.log'}"
        served = start(command, port=port)
        try:
            yield served
        finally:
            served.stop()
    finally:
        shutil.rmtree(prefix, ignore_errors=True)
