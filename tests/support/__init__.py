"""Reusable helpers for integration tests: real processes on loopback.

- :mod:`tests.support.net`: free ports, waiting for a port or URL.
- :mod:`tests.support.hub`: a real JupyterHub process (``HubProcess``).
- :mod:`tests.support.datacentre`: the datacentre service as a real process and
  small synthetic data shops.
"""
