"""Hello-world servers built on the stdlib and on the reference servers, one module each.

Each answers `200 OK` with body `hello world`, as ANCHORS.md's measurements did, and runs as
`python -m bench.apps.NAME --port P [...]`.
"""

__all__: list[str] = []  # each app is a program (`python -m`), not an import
