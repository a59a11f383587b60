"""End-to-end fixtures: the real stack on a real single-node Docker Swarm.

The session deploys its own stack (`astrohub-e2e`, port 18000, its own secrets and
state folder) next to any stack the developer runs, builds what changed, and removes
it afterwards. Docker missing is an error, never a skip: these tests are the proof.
When a test fails, the logs of the hub, the proxy and the user servers are printed.

Every test talks https to the stack's edge and trusts its local CA explicitly: the
session writes a CA bundle (the system's CAs plus the stack's root) and points
REQUESTS_CA_BUNDLE and SSL_CERT_FILE at it; chromium gets an NSS database that
trusts the root (``chromium_env``). Verification is never switched off.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from astrohub import courses, images, settings
from astrohub.deploy import Stack, docker
from astrohub.hubapi import HubClient

ROOT = Path(__file__).resolve().parents[2]
# Two e2e runs on one machine (two developers' sessions) choose different names.
E2E_STACK = os.environ.get("ASTROHUB_E2E_STACK", "astrohub-e2e")
E2E_PORT = os.environ.get("ASTROHUB_E2E_PORT", "18000")
E2E_ENV = {
    "ASTROHUB_STACK_NAME": E2E_STACK,
    "ASTROHUB_HTTP_PORT": E2E_PORT,
    "ASTROHUB_PUBLIC_URL": f"https://127.0.0.1:{E2E_PORT}",
    # Plain http, redirected to https (the stacks of other modules take E2E_PORT + 1, + 2).
    "ASTROHUB_REDIRECT_PORT": str(int(E2E_PORT) + 80),
    # Small servers: the e2e suite runs on 2 cores.
    "ASTROHUB_MEM_LIMIT": "1G",
    # A small home limit: tests/e2e/test_isolation.py fills it (allocated, not written).
    "ASTROHUB_HOME_LIMIT": "1G",
    # Two courses (tests/e2e/test_courses*.py): the exchange and one formgrader each.
    "ASTROHUB_COURSES": "astro101:teachers-astro101:students-astro101,astro201:teachers-astro201:students-astro201",
    # Two e2e runs on one machine build and run their own image tags, not each other's.
    "ASTROHUB_IMAGE_TAG": os.environ.get("ASTROHUB_IMAGE_TAG", settings.VERSION),
    # Real KCDC data through the hub: the data service forwards to the KCDC portal's double,
    # which tests/e2e/test_forwarded_kcdc.py runs as a service on the stack's backend network.
    "ASTROHUB_KCDC_UPSTREAM_URL": f"http://{E2E_STACK}-kcdc-portal:8080/",
    "ASTROHUB_KCDC_UPSTREAM_USERNAME": "operator",
    "ASTROHUB_KCDC_UPSTREAM_PASSWORD": "e2e-kcdc-operator-5d1c",
}


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when in ("setup", "call") and report.failed:
        stack = item.funcargs.get("stack") or getattr(item.session, "e2e_stack", None)
        if stack is not None:
            # Shown under the failure only: the logs of everything involved.
            report.sections.append(("stack logs", stack.logs(tail=150)))
            for service in stack.user_services():
                r = docker("service", "logs", "--tail", "60", service, check=False)
                report.sections.append((f"logs of {service}", r.stdout + r.stderr))


def wipe(stack: Stack) -> None:
    """Remove everything of a previous e2e run: stack, user servers, homes, secrets."""
    stack.remove()
    stack.forget()


@pytest.fixture(scope="session")
def stack(tmp_path_factory, request) -> Stack:
    if subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        pytest.fail("Docker is not running: run `make setup` (it installs and starts dockerd)")
    os.environ["ASTROHUB_STATE_DIR"] = str(tmp_path_factory.mktemp("state"))
    stack = Stack(ROOT, settings.load(E2E_ENV, secrets_dir="/nonexistent"))
    stack.ensure_swarm()
    wipe(stack)
    images.build(ROOT, stack.settings.image_tag, courses=courses.course_ids(stack.settings))
    stack.ensure_secrets()
    stack.deploy()
    stack.wait_until_ready()
    # requests, urllib, websocket-client and tornado read these; each test uses https.
    bundle = stack.ca_bundle()
    os.environ["REQUESTS_CA_BUNDLE"] = os.environ["SSL_CERT_FILE"] = bundle
    request.session.e2e_stack = stack
    yield stack
    if not os.environ.get("ASTROHUB_E2E_KEEP"):
        wipe(stack)


@pytest.fixture(scope="session")
def hub(stack) -> HubClient:
    return stack.hub_client()


@pytest.fixture(scope="session")
def chromium_env(stack, tmp_path_factory) -> dict:
    """The environment for chromium, trusting the e2e stack (``launch(env=chromium_env)``)."""
    return chromium_trusting(stack, tmp_path_factory.mktemp("chromium-home"))


def chromium_trusting(stack: Stack, home: Path) -> dict:
    """The environment for chromium: a HOME whose NSS database trusts the stack's root.

    Chromium on Linux reads locally trusted CAs from ~/.pki/nssdb (certutil: Debian's
    libnss3-tools)."""
    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)
    root = home / "astrohub-root.crt"
    root.write_text(stack.root_certificate())
    subprocess.run(["certutil", "-N", "-d", f"sql:{nssdb}", "--empty-password"], check=True)
    subprocess.run(["certutil", "-A", "-d", f"sql:{nssdb}", "-n", f"{stack.name} local CA", "-t", "C,,",
                    "-i", str(root)], check=True)
    return dict(os.environ, HOME=str(home))
