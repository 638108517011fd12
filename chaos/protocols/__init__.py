"""Protocol profiles: how to probe a server, keep a connection alive, and read its rejection.

Each profile is data and pure functions over bytes, no socket. Faults, the fault commands' table
and ``chaos verify`` read them: :data:`PROFILES` holds the built-in ones (``http``, ``redis``,
``memcached``, ``postgres``, ``mysql``, ``smtp``, ``ssh``, ``raw``) and :func:`custom_profile`
makes a user's own; :mod:`.http_messages` frames HTTP through h11.
"""

from __future__ import annotations

from .builtin import (
    CUSTOM,
    HTTP,
    MEMCACHED,
    MYSQL,
    NAMES,
    POSTGRES,
    PROFILES,
    RAW,
    REDIS,
    SMTP,
    SSH,
    ProtocolChoice,
    chosen_profile,
    custom_profile,
    escaped,
    get_profile,
    profile_named,
    startup_packet,
)
from .profile import HttpProfile, PatternProfile, Profile, Reply

__all__ = [
    "CUSTOM",
    "HTTP",
    "MEMCACHED",
    "MYSQL",
    "NAMES",
    "POSTGRES",
    "PROFILES",
    "RAW",
    "REDIS",
    "SMTP",
    "SSH",
    "HttpProfile",
    "PatternProfile",
    "Profile",
    "ProtocolChoice",
    "Reply",
    "chosen_profile",
    "custom_profile",
    "escaped",
    "get_profile",
    "profile_named",
    "startup_packet",
]
