"""Isolation of a student's server, tried as the attacks of issue 19 (items 4, 5, 8).

Every probe runs inside a real student's server on the real stack (the student's own
kernel, with the environment the spawner gives it) and expects refusal:
- network: the proxy's API, the datacentre's, the exchange's and a formgrader's own
  ports, and this machine's addresses are out of reach; the hub's API and the services
  through the proxy's public routes still answer;
- configuration in the home (~/.jupyter) is not loaded by the server; an admin's token
  does not open a student's server;
- a fork bomb stops at the pids limit while other students and the hub go on; a file
  past the home limit fails with "File too large", a save into a full home with a message.
"""

from __future__ import annotations

import json
import socket
import subprocess
import textwrap
import threading
import time

import pytest
from tornado.simple_httpclient import HTTPTimeoutError

from astrohub.deploy import docker
from servicekit.homequota import size_bytes
from tests.e2e.test_operations import admin_session

STUDENT, OTHER = "nelly", "otto"
COURSE = "astro101"


def run(hub, user, code: str, timeout: float = 120) -> dict:
    """Run ``code`` in the user's kernel; it prints one JSON line last.

    On a machine this busy the kernel's websocket can miss its 20 s to connect,
    before any code ran: that is tried once more."""
    try:
        text, _, _ = hub.execute(user, textwrap.dedent(code), timeout=timeout)
    except HTTPTimeoutError:
        text, _, _ = hub.execute(user, textwrap.dedent(code), timeout=timeout)
    return json.loads([line for line in text.splitlines() if line.startswith("{")][-1])


def backend_address(stack, service: str) -> str:
    """The address of a stack service's container on the backend network."""
    ids = docker("ps", "-q", "--filter", f"label=com.docker.swarm.service.name={stack.name}_{service}").stdout.split()
    assert ids, f"{service} is not running"
    networks = json.loads(docker("inspect", ids[0], "--format", "{{json .NetworkSettings.Networks}}").stdout)
    return networks[f"{stack.name}_backend"]["IPAddress"]


def host_addresses() -> list[str]:
    out = subprocess.run(["ip", "-4", "-o", "addr", "show"], capture_output=True, text=True, check=True).stdout
    return [line.split()[3].split("/")[0] for line in out.splitlines() if " lo " not in line]


@pytest.fixture(scope="module")
def host_listener():
    """A port open on every address of this machine; counts who connected."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("0.0.0.0", 0))
    server.listen(16)
    server.settimeout(0.5)
    accepted = []
    done = threading.Event()

    def serve():
        while not done.is_set():
            try:
                conn, peer = server.accept()
            except OSError:
                continue
            accepted.append(peer)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    done.set()
    thread.join()
    server.close()


@pytest.fixture(scope="module")
def students(hub):
    for name in (STUDENT, OTHER):
        hub.create_user(name)
        hub.start(name)
    yield STUDENT
    for name in (STUDENT, OTHER):
        hub.stop(name)


PROBE = """
import json, os, socket
def probe(host, port):
    try:
        socket.create_connection((host, port), timeout=4).close()
        return "open"
    except socket.gaierror:
        return "no such name"
    except OSError as e:
        return type(e).__name__ + ": " + (e.strerror or str(e))
print(json.dumps({f"{h}:{p}": probe(h, p) for h, p in %r}))
"""


def test_the_services_own_ports_and_this_machine_are_out_of_reach(hub, stack, students, host_listener):
    port, accepted = host_listener
    targets = [("proxy", 8001), ("proxy-api", 8001), ("datacentre", 10101), ("ngshare", 10101),
               (f"formgrader-{COURSE}", 8888), ("dashboards", 8866), ("edge", 8443)]
    for service, svc_port in [("proxy", 8001), ("proxy", 8000), ("datacentre", 10101), ("ngshare", 10101),
                              (f"formgrader-{COURSE}", 8888), ("hub", 8081)]:
        targets.append((backend_address(stack, service), svc_port))
    machine = host_addresses()
    assert "172.17.0.1" in machine
    # The listener answers this machine itself: a refusal below is the network's doing.
    for address in machine:
        socket.create_connection((address, port), timeout=2).close()
    deadline = time.monotonic() + 10
    while len(accepted) < len(machine) and time.monotonic() < deadline:
        time.sleep(0.1)
    targets += [(address, port) for address in machine] + [("172.17.0.1", 2377)]
    seen_before = len(accepted)

    result = run(hub, STUDENT, PROBE % targets, timeout=180)

    reached = {target: outcome for target, outcome in result.items() if outcome == "open"}
    assert not reached, f"reachable from a student's server: {reached} (all: {result})"
    assert len(accepted) == seen_before, f"this machine's port was reached from the server: {accepted}"


def test_the_hub_api_and_the_public_routes_still_answer(hub, students):
    result = run(hub, STUDENT, """
        import json, os, requests, kcdc
        auth = {"Authorization": "token " + os.environ["JUPYTERHUB_API_TOKEN"]}
        hub_api = requests.get(os.environ["JUPYTERHUB_API_URL"] + "/user", headers=auth, timeout=30)
        shops = [s["id"] for s in kcdc.Client().datashops()]
        exchange = requests.get(os.environ["ASTROHUB_EXCHANGE_URL"] + "/courses", headers=auth, timeout=30)
        print(json.dumps({"hub": hub_api.status_code, "user": hub_api.json().get("name"), "shops": shops,
                          "kcdc_url": os.environ["KCDC_URL"], "exchange": exchange.status_code}))
    """)
    assert (result["hub"], result["user"]) == (200, STUDENT)
    assert result["kcdc_url"].startswith("http://proxy:8000/")
    assert "kascade" in result["shops"]
    # Not enrolled in a course: the exchange itself answers, and refuses (not a network error).
    assert result["exchange"] in (200, 403), result


def test_the_egress_proxy_refuses_this_machine_and_the_stack(hub, students, host_listener):
    port, accepted = host_listener
    seen_before = len(accepted)
    # This machine's addresses (the listener's port and squid's own port 80 rule),
    # the stack's backend by name, a cloud metadata address, a tunnel to this machine.
    urls = [f"http://{address}:{port}/" for address in host_addresses()] + [
        "http://172.17.0.1/", "http://datacentre:10101/", "http://169.254.169.254/latest/meta-data/",
        f"https://172.17.0.1:{port}/"]
    result = run(hub, STUDENT, f"""
        import json, os, requests
        out = {{}}
        for url in {urls!r}:
            try:
                r = requests.get(url, timeout=20)
                out[url] = r.headers.get("X-Squid-Error") or r.status_code
            except requests.RequestException as e:
                out[url] = type(e).__name__
        print(json.dumps({{"proxy": os.environ.get("HTTP_PROXY"), "answers": out}}))
    """)
    assert result["proxy"] == "http://egress:3128"
    # squid answers itself (access denied: a private address or a port other than 80
    # and 443; no such name), or refuses the tunnel (https): nothing reaches the target.
    for url, answer in result["answers"].items():
        assert answer == "ProxyError" or str(answer).startswith(("ERR_ACCESS_DENIED", "ERR_DNS_FAIL")), (url, answer)
    assert len(accepted) == seen_before


CONFIG_PY = """
import pathlib
pathlib.Path.home().joinpath("student-config-ran").write_text("the server ran ~/.jupyter code")
c.ServerApp.tornado_settings = {"headers": {"X-Student-Config": "py"}}
"""
CONFIG_JSON = {"ServerApp": {"tornado_settings": {"headers": {"X-Student-Config": "json"}}}}


def test_configuration_in_the_home_is_not_loaded(hub, students):
    run(hub, STUDENT, f"""
        import json, pathlib
        jupyter = pathlib.Path.home() / ".jupyter"
        (jupyter / "jupyter_server_config.d").mkdir(parents=True, exist_ok=True)
        for name in ("jupyter_server_config.py", "jupyter_config.py"):
            (jupyter / name).write_text({CONFIG_PY!r})
        for name in ("jupyter_server_config.json", "jupyter_server_config.d/student.json"):
            (jupyter / name).write_text({json.dumps(CONFIG_JSON)!r})
        print(json.dumps({{}}))
    """)
    hub.stop(STUDENT)
    hub.start(STUDENT)

    r = hub.server("GET", STUDENT, "/api/status")
    assert r.status_code == 200
    assert "X-Student-Config" not in r.headers
    assert hub.server("GET", STUDENT, "/api/contents/student-config-ran").status_code == 404
    paths = run(hub, STUDENT, """
        import json, jupyter_core.paths as p
        print(json.dumps({"config": p.jupyter_config_path(), "data": p.jupyter_path()}))
    """)
    assert not [d for d in paths["config"] + paths["data"] if d.startswith("/home/")], paths


def test_an_admin_does_not_open_a_students_server(hub, stack, students):
    admin = admin_session(stack)
    r = admin.post(f"{stack.local_url}/hub/api/users/admin/tokens", timeout=30,
                   headers={"X-XSRFToken": next(c.value for c in admin.cookies if c.name == "_xsrf")},
                   json={"note": "all of the admin's scopes", "expires_in": 600})
    assert r.status_code == 201, r.text
    admin_token = r.json()["token"]
    assert "admin:users" in hub.api("GET", "/user", headers={"Authorization": f"token {admin_token}"}).json()["scopes"]
    for path in ("/api/status", "/api/contents", "/lab"):
        r = hub.server("GET", STUDENT, path, token=admin_token, allow_redirects=False)
        assert r.status_code == 403, (path, r.status_code)
    # In the browser: the hub refuses the admin the login to the student's server.
    r = admin.get(f"{stack.local_url}/user/{STUDENT}/lab", timeout=30)
    assert r.status_code == 403 and "permission" in r.text, (r.status_code, r.url)
    assert hub.server("GET", STUDENT, "/api/status", token=hub.user_token(STUDENT)).status_code == 200


def test_a_file_past_the_home_limit_fails_with_file_too_large(hub, stack, students):
    limit = size_bytes(stack.settings.home_limit)
    result = run(hub, STUDENT, f"""
        import json, os
        out = {{}}
        with open("one-big-file.bin", "wb", buffering=0) as f:
            for name, write in (("fallocate", lambda: os.posix_fallocate(f.fileno(), 0, {limit} + 2**20)),
                                ("write", lambda: (f.seek({limit}), f.write(b"x")))):
                try:
                    write()
                    out[name] = "written"
                except OSError as e:
                    out[name] = e.strerror
        os.remove("one-big-file.bin")
        print(json.dumps(out))
    """)
    assert result == {"fallocate": "File too large", "write": "File too large"}


def test_a_save_into_a_full_home_is_refused_with_a_message(hub, stack, students):
    limit = size_bytes(stack.settings.home_limit)
    part = limit // 2 + 2**20
    # Two files below the limit each, above it together (allocated, not sparse).
    run(hub, STUDENT, f"""
        import json, os
        for name in ("data-1.bin", "data-2.bin"):
            with open(name, "wb") as f:
                os.posix_fallocate(f.fileno(), 0, {part})
        print(json.dumps({{}}))
    """)
    try:
        r = hub.server("PUT", STUDENT, "/api/contents/notes.txt", json={"type": "file", "format": "text", "content": "x"})
        assert r.status_code == 507, r.text
        assert "home folder is full" in r.json()["message"]
    finally:
        for name in ("data-1.bin", "data-2.bin"):
            hub.server("DELETE", STUDENT, f"/api/contents/{name}")
    r = hub.server("PUT", STUDENT, "/api/contents/notes.txt", json={"type": "file", "format": "text", "content": "room again"})
    assert r.status_code in (200, 201), r.text


def test_a_fork_bomb_stops_at_the_pids_limit_and_others_go_on(hub, stack, students):
    try:
        bomb = run(hub, STUDENT, """
            import json, os, subprocess, time
            cg = "/sys/fs/cgroup/pids" if os.path.exists("/sys/fs/cgroup/pids/pids.max") else "/sys/fs/cgroup"
            read = lambda name: open(os.path.join(cg, name)).read().strip()
            subprocess.Popen(["bash", "-c", "bomb() { bomb | bomb & }; bomb"], start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(120):
                if int(read("pids.current")) >= int(read("pids.max")) - 2:
                    break
                time.sleep(0.5)
            refused = {}
            for _ in range(20):
                try:
                    subprocess.run(["true"])
                except OSError as e:
                    refused[e.strerror] = refused.get(e.strerror, 0) + 1
            # The kernel's own count of forks refused at the limit.
            events = dict(line.split() for line in read("pids.events").splitlines())
            print(json.dumps({"max": read("pids.max"), "current": read("pids.current"),
                              "refused_by_limit": int(events["max"]), "our_forks_refused": refused}))
        """, timeout=180)
        assert bomb["max"] == str(stack.settings.pids_limit), bomb
        assert int(bomb["current"]) >= stack.settings.pids_limit - 10, bomb
        assert bomb["refused_by_limit"] > 0, bomb
        # Meanwhile: another student's kernel starts and runs, the hub answers.
        assert run(hub, OTHER, "import json; print(json.dumps({'sum': 1 + 1}))") == {"sum": 2}
        assert hub.user(OTHER)["servers"][""]["ready"]
    finally:
        hub.stop(STUDENT)  # ends the bomb with the server
