"""Settings of the public dashboards: environment variables ``DASHBOARDS_<NAME>``, read
by :func:`servicekit.settings.from_environment` (the reference: docs/configuration.md).

The server reads them at start; the kernels inherit the environment and read the cache
settings the same way, once per kernel (:func:`current`).

Voila's own per-kernel variables (the visitor's query string, the server's URLs) are no
settings; they have their home here too, at the end.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

from servicekit.settings import choice, from_environment, setting

PREFIX = "DASHBOARDS_"
# What the stack's default 4G memory limit holds: (4096 - 300 MB server) / 170 MB per kernel.
DEFAULT_MAX_KERNELS = 22


@dataclass(frozen=True)
class DashboardsSettings:
    base_url: str = setting("/services/dashboards/", "URL prefix (the proxy forwards it unchanged); starts and ends with '/'.")
    port: int = setting(8866, "Port to listen on.")
    preheat: bool = setting(True, "Keep kernels started ahead; 0: every visit starts and runs a kernel.")
    pool_size: int = setting(1, "Preheated kernels per dashboard.")
    max_kernels: int = setting(DEFAULT_MAX_KERNELS, "Kernels at once, pools included (about 170 MB each; the stack derives it from dashboards_mem_limit).")
    kernels_per_client: int = setting(3, "Pages one visitor cookie may hold.")
    kernels_per_address: int = setting(30, "Pages one address may hold (a class behind one router).")
    queue_length: int = setting(200, "Visitors waiting in line; beyond, 503 with a retry time.")
    renders_at_once: int = setting(2, "Pages rendered at once (CPU: kernel starts).")
    cull_idle_seconds: int = setting(900, "A visitor's kernel idle this long is stopped.")
    cull_closed_seconds: float = setting(30.0, "... and this long after its page was closed.")
    cull_unopened_seconds: float = setting(300.0, "... or if its page never opened its websocket.")
    secure_cookies: bool = setting(True, "Cookies only over https; 0: also over plain http (tests only).")
    token_file: str = setting("/run/secrets/astrohub_dashboards_token", "File holding the dashboards service's hub token (a docker secret); DASHBOARDS_TOKEN gives it directly.")
    cache_dir: str = setting("", "Folder of the selections all kernels share; empty: $TMP/dashboards-cache.")
    cache_seconds: float = setting(86400.0, "Seconds a cached selection is used before it is asked for again.")
    cache_mb: float = setting(512.0, "Size of the selections folder in MB; the least recently used go first.")
    memory_cache_mb: float = setting(64.0, "Selections kept in one kernel's memory, in MB.")
    bokeh_resources: str = setting("server", "server: this server serves BokehJS; inline: every plot carries it (stock Voila in benchmarks).",
                                   parse=choice("server", "inline"), kind="server or inline")


def load(environ=None) -> DashboardsSettings:
    # DASHBOARDS_TOKEN: the token itself (servicekit.tokens.secret with token_file)
    return from_environment(DashboardsSettings, PREFIX, "dashboards", environ, allowed=("DASHBOARDS_TOKEN",))


@functools.lru_cache(maxsize=1)
def current() -> DashboardsSettings:
    """This process's settings, read once: the data cache asks for them on every lookup.
    Tests that change the environment call ``current.cache_clear()``."""
    return load()


# Voila's interface with the kernels it starts, not settings: Voila sets these variables
# per kernel (a preheated kernel gets QUERY_STRING only when its visitor arrives), so
# they are read when needed, never cached.

def query_string() -> str:
    """The visitor's query string (after ``voila.utils.wait_for_request``)."""
    return os.environ.get("QUERY_STRING", "")


def voila_base_url() -> str:
    """The server's URL prefix, as Voila tells its kernels."""
    return os.environ.get("VOILA_BASE_URL", "/")


def tell_kernels_ws_base_url(url: str) -> None:
    """Where preheated kernels ask Voila for their visitor's request
    (``voila.utils.wait_for_request``); the kernels inherit it from the server."""
    os.environ.setdefault("VOILA_WS_BASE_URL", url)
