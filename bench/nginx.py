"""nginx's configuration: one worker (or several), `return 200 "hello world"`, files in a
scratch prefix.

The benchmark's ceiling and the real server the verify tests aim at write it here, each with
the settings it needs.
"""

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
{locations}        location / {{ default_type text/plain; return 200 "hello world"; }}
    }}
}}
"""


def _ms(seconds: float) -> str:
    return f"{max(1, round(seconds * 1000))}ms"


def write_config(
    prefix: Path,
    port: int,
    *,
    nofile: int,
    client_header_timeout: float | None = None,
    keepalive_timeout: float | None = None,
    worker_connections: int = WORKER_CONNECTIONS,
    workers: int = 1,
    write_timeout: float | None = None,
    large: tuple[str, int] | None = None,
) -> Path:
    """Write nginx.conf under `prefix`. `client_header_timeout` bounds the whole head from the
    accept (a silent client and a trickled head alike); `keepalive_timeout` the silence
    between requests; None keeps nginx's 60 s and 75 s.

    With several `workers` each listens on its own socket (`reuseport`), so the kernel spreads
    connections evenly and no worker runs out of its `worker_connections` before the others.
    `write_timeout` sets send_timeout (nginx then closes without a reset, as by default: the
    kernel goes on sending what it holds, its FIN last). `large` is a URL path under
    /bytes/ and a size: a file nginx serves there (sparse, it costs no disk).
    """
    timeouts = locations = ""
    if client_header_timeout is not None:
        timeouts += f"    client_header_timeout {_ms(client_header_timeout)};\n"
    if keepalive_timeout is not None:
        timeouts += f"    keepalive_timeout {_ms(keepalive_timeout)};\n"
    if write_timeout is not None:
        timeouts += f"    send_timeout {_ms(write_timeout)};\n"
    if large is not None:
        url, size = large
        if not url.startswith("/bytes/"):
            raise ValueError(f"large: expected a path under /bytes/, got {url!r}")
        file = prefix / "www" / url.lstrip("/")
        file.parent.mkdir(parents=True, exist_ok=True)
        with file.open("wb") as out:
            out.truncate(size)
        locations = f"        location /bytes/ {{ root {prefix}/www; }}\n"
    path = prefix / "nginx.conf"
    path.write_text(
        _TEMPLATE.format(
            prefix=prefix,
            port=port,
            connections=worker_connections,
            nofile=nofile,
            timeouts=timeouts,
            locations=locations,
            workers=workers,
            listen=" backlog=4096 reuseport" if workers > 1 else "",
        )
    )
    return path
