"""The `Settings` each measurement gives the servers, in one place so the table can state them."""

from __future__ import annotations

from .contenders import Settings

__all__ = ["defaults", "hogging", "slowloris", "timeout_precision"]

# Held idle connections must outlive the whole probe phase, or the probe measures nothing.
HOGGING_IDLE_TIMEOUT = 120.0
# Room above the held idle connections for the probes themselves.
HOGGING_HEADROOM = 100


def defaults() -> Settings:
    """Each server as it ships."""
    return Settings()


def hogging(idle: int) -> Settings:
    return Settings(idle_timeout=HOGGING_IDLE_TIMEOUT, max_connections=idle + HOGGING_HEADROOM)


def slowloris(request_timeout: float) -> Settings:
    return Settings(request_timeout=request_timeout)


def timeout_precision(idle_timeout: float, connections: int) -> Settings:
    return Settings(idle_timeout=idle_timeout, max_connections=connections + HOGGING_HEADROOM)
