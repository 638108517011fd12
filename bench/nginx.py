"""nginx as the ceiling: one worker (or several), `return 200 "hello world"`, files in a scratch
prefix."""

from __future__ import annotations

from pathlib import Path

__all__ = ["write_config"]

# Enough for the 10,000 idle connections of measurement 2 plus the flood and probes.
WORKER_CONNECTIONS = 16_000

_TEMPLATE = """\
daemon off;
master_process on;
worker_processes {workers};
worker_rlimit_nofile {nofile};
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections {connections}; multi_accept on; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
{timeouts}    server {{
        listen 127.0.0.1:{port}{listen};
        location / {{ default_type text/plain; return 200 "hello world"; }}
    }}
}}
"""


def write_config(
    prefix: Path,
    port: int,
    idle_timeout: float | None,
    nofile: int,
    *,
    workers: int = 1,
    connections: int = WORKER_CONNECTIONS,
) -> Path:
    """Write nginx.conf under `prefix`; `idle_timeout` sets client_header_timeout (whole head).

    With several `workers` each listens on its own socket (`reuseport`), so the kernel spreads
    connections evenly and no worker runs out of its `connections` before the others.
    """
    timeouts = ""
    if idle_timeout is not None:
        ms = max(1, round(idle_timeout * 1000))
        timeouts = f"    client_header_timeout {ms}ms;\n    keepalive_timeout {ms}ms;\n"
    path = prefix / "nginx.conf"
    path.write_text(
        _TEMPLATE.format(
            prefix=prefix,
            port=port,
            connections=connections,
            nofile=nofile,
            timeouts=timeouts,
            workers=workers,
            listen=" backlog=4096 reuseport" if workers > 1 else "",
        )
    )
    return path
