"""Name lookups of the hub process must follow Docker's service addresses.

JupyterHub 6 makes its internal HTTP calls (to the proxy's API, to servers and
services) with aiohttp, which resolves names with c-ares because JupyterHub
requires aiodns. c-ares keeps answers for their TTL, and Docker's embedded DNS
answers with 600 s: a restarted proxy or data service has a new address under
the same name, and the hub would knock on the old one for ten minutes (seen: the
routes of a restarted proxy never came back). The system resolver asks Docker's
DNS every time; aiohttp still keeps its own 10 s cache.
"""


def use_system_resolver() -> None:
    import aiohttp.connector
    import aiohttp.resolver

    aiohttp.connector.DefaultResolver = aiohttp.resolver.ThreadedResolver
