"""Teaching with nbgrader on the real stack: release, fetch, submit, grade, feedback.

A teacher of astro101 works in the course's formgrader (a hub service with the
course volume), two students of astro101 in their own servers, a student of
astro201 beside them. Everything runs through their servers' kernels, as they
would type it; what must be refused is tried and expected to fail.
"""

from __future__ import annotations

import json
import time

import pytest
import requests

from astrohub.hubapi import HubError
from tests.support.courseflow import (ASSIGNMENT, RIGHT_ANSWERS, WRONG_ANSWERS, answer, feedback_html, gradebook_scores,
                                      join_groups, nbgrader, ok, run, wait_for_formgrader)

COURSE, OTHER = "astro101", "astro201"
TEACHER, RIGHT, WRONG, OUTSIDER = "tina", "sam", "sue", "otto"
# A student whose answer cell attacks the autograder (test_autograding_runs_student_code_in_the_sandbox).
MALLORY = "mallory"
FORMGRADER = f"services/{COURSE}"
EXCHANGE = "/services/ngshare"


@pytest.fixture(scope="module")
def course(hub):
    for user in (TEACHER, RIGHT, WRONG, OUTSIDER, MALLORY):
        hub.create_user(user)
    members = {f"formgrade-{COURSE}": [TEACHER], f"nbgrader-{COURSE}": [TEACHER, RIGHT, WRONG, MALLORY],
               f"nbgrader-{OTHER}": [OUTSIDER],
               # the student groups the course-staff roles are scoped to
               f"students-{COURSE}": [RIGHT, WRONG, MALLORY], f"students-{OTHER}": [OUTSIDER]}
    join_groups(hub, members)
    # Servers start after the groups: their tokens get the exchange scope from the course roles.
    for user in (RIGHT, WRONG, OUTSIDER, MALLORY):
        hub.start(user)
        # A home kept from an earlier run (the e2e wipe can miss volumes still in use) starts empty of the course.
        hub.execute(user, f"import shutil; shutil.rmtree('{ASSIGNMENT}', ignore_errors=True)")
    teacher = hub.user_token(TEACHER, note="teacher in the formgrader")
    wait_for_formgrader(hub, FORMGRADER, teacher)
    # The course starts empty: a course volume of an earlier run can outlive the
    # e2e wipe (volumes still in use are not removed).
    hub.execute(FORMGRADER, "import shutil\nfor d in ('release', 'submitted', 'autograded', 'feedback'):\n"
                            "    shutil.rmtree(d, ignore_errors=True)\nimport os\n"
                            "os.path.exists('gradebook.db') and os.remove('gradebook.db')", token=teacher)
    yield {"teacher": teacher}
    # The students' servers stop with the module: the shared stack's later tests start their own.
    for user in (RIGHT, WRONG, OUTSIDER, MALLORY):
        try:
            hub.stop(user)
        except HubError:
            pass


def test_the_teacher_generates_and_releases_an_assignment(hub, course):
    out = nbgrader(hub, FORMGRADER, f"generate_assignment {ASSIGNMENT} --force", token=course["teacher"])
    ok(out)
    out = ok(nbgrader(hub, FORMGRADER, f"release_assignment {ASSIGNMENT} --force", token=course["teacher"]))
    listed = ok(nbgrader(hub, FORMGRADER, "list", token=course["teacher"]))
    assert f"{COURSE} {ASSIGNMENT}" in listed, listed


@pytest.mark.browser
def test_a_students_assignment_list_in_a_browser_shows_the_assignment(hub, course, stack, chromium_env):
    from pathlib import Path

    from playwright.sync_api import sync_playwright

    token = hub.user_token(WRONG, note="browser")
    shots = Path(__file__).resolve().parents[2] / "test-artifacts"
    shots.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"], env=chromium_env)
        try:
            context = browser.new_context(extra_http_headers={"Authorization": f"token {token}"},
                                          viewport={"width": 1280, "height": 800})
            page = context.new_page()
            page.goto(f"{stack.local_url}/user/{WRONG}/lab", wait_until="domcontentloaded", timeout=120_000)
            page.get_by_role("menuitem", name="Nbgrader").click(timeout=120_000)
            page.get_by_text("Assignment List").click()
            listing = page.locator(".jp-NbgraderAssignmentList, #released_assignments_list, .list_container").first
            page.get_by_text(ASSIGNMENT).first.wait_for(timeout=60_000)
            page.screenshot(path=str(shots / "courses-assignment-list.png"))
            text = page.inner_text("body")
        finally:
            browser.close()
    assert ASSIGNMENT in text and COURSE in text
    assert listing is not None


def test_two_students_fetch_answer_and_submit(hub, course):
    for student, answers in ((RIGHT, RIGHT_ANSWERS), (WRONG, WRONG_ANSWERS)):
        ok(nbgrader(hub, student, f"fetch_assignment {ASSIGNMENT} --course {COURSE}"))
        answer(hub, student, answers)
        ok(nbgrader(hub, student, f"submit {ASSIGNMENT} --course {COURSE}"))


def test_the_teacher_collects_autogrades_and_returns_feedback(hub, course):
    t = course["teacher"]
    t0 = time.monotonic()
    ok(nbgrader(hub, FORMGRADER, f"collect {ASSIGNMENT}", token=t))
    t1 = time.monotonic()
    ok(nbgrader(hub, FORMGRADER, f"autograde {ASSIGNMENT}", token=t))
    t2 = time.monotonic()
    print(f"\ncollect of 2 submissions: {t1 - t0:.1f} s, autograde: {t2 - t1:.1f} s (incl. kernel round trips)")
    ok(nbgrader(hub, FORMGRADER, f"generate_feedback {ASSIGNMENT}", token=t))
    ok(nbgrader(hub, FORMGRADER, f"release_feedback {ASSIGNMENT}", token=t))
    # 3 autograded points; the 2 manual points wait for the teacher.
    assert gradebook_scores(hub, FORMGRADER, t, (RIGHT, WRONG)) == {RIGHT: 3.0, WRONG: 0.0}


def test_the_teachers_deadlines_page_and_grades_csv_match_the_gradebook(hub, course):
    import csv
    import io

    t = course["teacher"]
    page = hub.server("GET", FORMGRADER, "/deadlines", token=t)
    assert page.status_code == 200, page.text[:300]
    assert f'id="row-{ASSIGNMENT}-{RIGHT}"' in page.text and f'id="row-{ASSIGNMENT}-{WRONG}"' in page.text
    r = hub.server("GET", FORMGRADER, "/deadlines/grades.csv", token=t)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    totals = {}
    for row in csv.DictReader(io.StringIO(r.text)):
        totals[row["student_id"]] = totals.get(row["student_id"], 0.0) + float(row["points"])
    assert {k: totals[k] for k in (RIGHT, WRONG)} == gradebook_scores(hub, FORMGRADER, t, (RIGHT, WRONG))


@pytest.mark.parametrize("student,score", [(RIGHT, "3.0 / 5.0"), (WRONG, "0.0 / 5.0")])
def test_students_fetch_their_feedback_with_the_right_score_and_no_hidden_tests(hub, course, student, score):
    ok(nbgrader(hub, student, f"fetch_feedback {ASSIGNMENT} --course {COURSE}"))
    html = feedback_html(hub, student)
    assert f"Score: {score}" in html, html[:500]
    # Neither the hidden lines nor a failed hidden assertion's traceback reach the student.
    assert "BEGIN HIDDEN TESTS" not in html and "_ref" not in html


# -- autograding: student code in the sandbox --------------------------------------

# The answer cell of a student who attacks the autograder: everything it reads is
# printed into its own feedback, every write planted where a later process loads it.
# What succeeds prints LEAK-...; the feedback shows this source too, so the strings the test
# looks for (LEAK-, gradebook.db, PLANTED-<nonce>) are put together at run time, never written out.
ATTACK = """
import os, socket, sqlite3, urllib.error, urllib.request
NONCE = {nonce!r}
def probe(label, fn):
    try:
        print("LE" + "AK-" + label, repr(fn())[:3000])
    except urllib.error.HTTPError as e:
        print("LE" + "AK-" + label + "-REACHED", e.code)
    except Exception as e:
        print("refused", label, type(e).__name__)
print("ENVIRONMENT", dict(os.environ))
probe("HOME", lambda: os.listdir("/home/jovyan"))
GRADEBOOK = "/home/jovyan/gradebook" + ".db"
probe("GRADEBOOK", lambda: open(GRADEBOOK, "rb").read(200))
probe("SOURCE", lambda: open("/home/jovyan/source/{assignment}/energy.ipynb").read())
probe("TEMPLATES", lambda: os.listdir("/opt/astrohub/course"))
probe("SECRET", lambda: open("/run/secrets/service_token").read())
probe("PID1-ENV", lambda: open("/proc/1/environ").read())
probe("SERVER-ENV", lambda: [open(f"/proc/{{p}}/environ").read() for p in os.listdir("/proc")
                             if p.isdigit() and os.stat(f"/proc/{{p}}").st_uid != os.getuid()])
tokens = [v for k, v in os.environ.items() if "TOKEN" in k] + ["no-token"]
for base in ("http://ngshare:10101", "http://{exchange_ip}:10101"):
    for t in tokens:
        probe("EXCHANGE", lambda: urllib.request.urlopen(urllib.request.Request(
            base + "/services/ngshare/submissions/{course}/{assignment}?probe=" + NONCE,
            headers={{"Authorization": "token " + t}}), timeout=5).read())
probe("FORMGRADER-SERVER", lambda: urllib.request.urlopen("http://127.0.0.1:8888/services/{course}/api/status", timeout=5).read())
probe("HUB", lambda: socket.create_connection(("{hub_ip}", 8081), timeout=5))
def gradebook_write():
    db = sqlite3.connect(GRADEBOOK)
    db.execute("UPDATE submitted_assignment SET timestamp = NULL")
    db.commit()
probe("GRADEBOOK-WRITE", gradebook_write)
plant = "PLANT" + "ED-" + NONCE
for path in ["/home/jovyan/.jupyter/jupyter_server_config.py", "/home/jovyan/.jupyter/nbgrader_config.py",
             "/home/jovyan/nbgrader_config.py", "/home/jovyan/.ipython/profile_default/startup/00-x.py",
             "/etc/jupyter/jupyter_server_config.py", "/opt/venv/etc/jupyter/nbgrader_config.py",
             "/opt/venv/lib/python3.11/site-packages/x.pth", "/tmp/jupyter_server_config.py",
             "/var/tmp/x.py", "/dev/shm/x.py", "/run/lock/x.py"]:
    probe("WROTE " + path, lambda: open(path, "a").write("# " + plant + chr(10)))
"""
# Where a later process (the formgrader's server, nbgrader, IPython, Python) loads config from.
CONFIG_PATHS = ("/home/jovyan/.jupyter /home/jovyan/.ipython /home/jovyan/.config /home/jovyan/nbgrader_config.py "
                "/etc/jupyter /opt/venv/etc/jupyter /usr/local/etc/jupyter /tmp /var/tmp /dev/shm /run/lock")
SITE = "/opt/venv/lib/python3.11/site-packages"  # its top level: .pth files run at every Python start


def test_the_formgrader_holds_only_its_own_course(hub, course):
    out = run(hub, FORMGRADER, """
        import os
        print(sorted(os.listdir("/opt/astrohub")), sorted(os.listdir("/opt/astrohub/course")))
    """, token=course["teacher"])
    assert "'courses'" not in out and "'course'" in out, out
    assert "['make_data.py', 'nbgrader_config.py', 'source']" in out, out


def grade_alone(hub, teacher, student, answers, autograde_options="") -> tuple[str, float]:
    """The student answers and submits; the teacher collects (again: --update), autogrades
    and returns feedback to that student alone. The feedback's HTML and the autograde's seconds."""
    answer(hub, student, answers)
    ok(nbgrader(hub, student, f"submit {ASSIGNMENT} --course {COURSE}"))
    ok(nbgrader(hub, FORMGRADER, f"collect {ASSIGNMENT} --student {student} --update", token=teacher))
    t0 = time.monotonic()
    ok(nbgrader(hub, FORMGRADER, f"autograde {ASSIGNMENT} --student {student} --force {autograde_options}",
                token=teacher))
    took = time.monotonic() - t0
    ok(nbgrader(hub, FORMGRADER, f"generate_feedback {ASSIGNMENT} --student {student} --force", token=teacher))
    ok(nbgrader(hub, FORMGRADER, f"release_feedback {ASSIGNMENT} --student {student}", token=teacher))
    ok(nbgrader(hub, student, f"fetch_feedback {ASSIGNMENT} --course {COURSE}"))
    return feedback_html(hub, student), took


def test_autograding_runs_student_code_in_the_sandbox(hub, course, stack):
    """A submission that tries to read, leak and plant through the autograder gets nowhere."""
    import uuid

    from astrohub.deploy import docker

    t = course["teacher"]
    nonce = uuid.uuid4().hex
    teacher_view = f"""
        import json, os, socket, subprocess
        from nbgrader.api import Gradebook
        with Gradebook("sqlite:///gradebook.db") as gb:
            scores = {{s.student_id: s.score for s in gb.assignment_submissions("{ASSIGNMENT}")}}
            students = sorted(s.id for s in gb.students)
        files = subprocess.run("(find {CONFIG_PATHS} -xdev; find {SITE} -maxdepth 1) 2>/dev/null | sort", shell=True,
                               capture_output=True, text=True).stdout.split()
        print(json.dumps({{"scores": scores, "students": students, "files": files,
                          "token": open(os.environ["JUPYTERHUB_API_TOKEN_FILE"]).read().strip(),
                          "exchange": socket.gethostbyname("ngshare"), "hub": socket.gethostbyname("hub")}}))
    """
    before = json.loads(run(hub, FORMGRADER, teacher_view, token=t).strip().splitlines()[-1])
    attack = RIGHT_ANSWERS["lg-energy"] + "\n" + ATTACK.format(
        nonce=nonce, course=COURSE, assignment=ASSIGNMENT, exchange_ip=before["exchange"], hub_ip=before["hub"])
    ok(nbgrader(hub, MALLORY, f"fetch_assignment {ASSIGNMENT} --course {COURSE}"))
    html, took = grade_alone(hub, t, MALLORY, {**RIGHT_ANSWERS, "lg-energy": attack})
    print(f"\nautograde of one notebook in the sandbox: {took:.1f} s")
    after = json.loads(run(hub, FORMGRADER, teacher_view, token=t).strip().splitlines()[-1])

    # The attack ran (its refusals are in the feedback) ...
    assert "refused HOME PermissionError" in html and "ENVIRONMENT" in html, html[-3000:]
    # ... and nothing it tried got through: no token, no listing or file of the course, no exchange.
    assert before["token"] not in html and "JUPYTERHUB_API_TOKEN" not in html
    assert "LEAK-" not in html, html[html.find("LEAK-") - 200:html.find("LEAK-") + 500]
    assert "BEGIN HIDDEN TESTS" not in html and "_got - _ref" not in html and "gradebook.db" not in html
    # The exchange saw no request from it; a request with a probe does show in its log.
    control = f"control-{nonce}"
    requests.get(f"{stack.local_url}{EXCHANGE}/courses?probe={control}", timeout=30)
    logs = ""
    for _ in range(20):
        r = docker("service", "logs", "--raw", f"{stack.name}_ngshare", check=False)
        logs = r.stdout + r.stderr
        if control in logs:
            break
        time.sleep(1)
    assert control in logs, "the exchange's log shows no requests: this check would prove nothing"
    assert f"probe={nonce}" not in logs
    # The gradebook changed only by the attacker's score (3 autograded points, computed by the grader).
    assert set(after["students"]) == set(before["students"]) | {MALLORY}
    assert after["scores"] == {**before["scores"], MALLORY: 3.0}
    # No file appeared where a later process loads configuration, and the plant is nowhere.
    assert after["files"] == before["files"], sorted(set(after["files"]) ^ set(before["files"]))
    planted = run(hub, FORMGRADER, f"sh('grep -rl PLANTED-{nonce} /home/jovyan /etc /opt/venv/etc {SITE}/*.pth "
                                   f"/tmp /var/tmp /dev/shm /run/lock 2>/dev/null; true')", token=t)
    assert planted.strip() == "rc=0", planted


def test_a_runaway_submission_fails_alone_within_the_courses_time_limit(hub, course):
    """An endless loop and a memory hog in one submission: that one loses the points of
    what they broke, with the reason in its feedback; the others keep their grades."""
    t = course["teacher"]
    runaway = {**RIGHT_ANSWERS, "lg-energy": RIGHT_ANSWERS["lg-energy"] + "\n_hoard = bytearray(8 * 1024**3)",
               "n-above-pev": "while True:\n    pass"}
    # The course's limit per cell (its nbgrader_config.py has 120 s; a teacher may pass another).
    html, took = grade_alone(hub, t, MALLORY, runaway, autograde_options="--Execute.timeout=20")
    print(f"\nautograde of a runaway submission (20 s per cell): {took:.1f} s")
    assert "MemoryError" in html and "CellTimeoutError" in html, html[-3000:]
    scores = gradebook_scores(hub, FORMGRADER, t, (RIGHT, WRONG, MALLORY))
    # lg_energy still right (2 points); the loop's count lost its point.
    assert scores == {RIGHT: 3.0, WRONG: 0.0, MALLORY: 2.0}


# -- refusals ------------------------------------------------------------------

def exchange_call(hub, student, method, path) -> int:
    """Call the exchange from the student's kernel with the server's own token; the status."""
    out = run(hub, student, f"""
        import os, requests
        r = requests.request({method!r}, os.environ["ASTROHUB_EXCHANGE_URL"] + {path!r},
                             headers={{"Authorization": "token " + os.environ["JUPYTERHUB_API_TOKEN"]}}, timeout=30)
        print("status", r.status_code)
    """)
    return int(out.split("status")[-1].split()[0])


def test_a_student_cannot_open_the_formgrader(hub, course):
    token = hub.user_token(RIGHT, note="all of sam's scopes")
    for path in ("/lab", "/formgrader", "/api/contents/source", "/api/kernels", "/api/status", "/deadlines",
                 "/deadlines/grades.csv"):
        r = hub.server("GET", FORMGRADER, path, token=token, allow_redirects=False)
        assert r.status_code == 403, (path, r.status_code)
    assert hub.server("GET", FORMGRADER, "/formgrader", token=course["teacher"]).status_code == 200


def test_a_teacher_helps_in_a_students_server_of_the_course_only_and_it_is_logged(hub, course, stack):
    from astrohub.swarm import docker
    from astrohub.topology import user_service_prefix

    # The hub resolves the role's group filter (a user's server cannot: it has no
    # database), as it does when a browser's visit asks for access to that one server.
    teacher = hub.user_token(TEACHER, scopes=[f"access:servers!server={RIGHT}/"], note="tina helps sam")
    r = hub.server("GET", RIGHT, "/api/contents", token=teacher, allow_redirects=False)
    assert r.status_code == 200, r.text[:300]
    # A student of the other course: the hub grants no such access, and tina's token
    # with all her scopes does not open that server either.
    with pytest.raises(HubError, match=": 400 "):
        hub.user_token(TEACHER, scopes=[f"access:servers!server={OUTSIDER}/"], note="tina tries otto")
    everything = hub.user_token(TEACHER, note="all of tina's scopes")
    assert hub.server("GET", OUTSIDER, "/api/contents", token=everything, allow_redirects=False).status_code == 403
    # A student cannot ask for a classmate's server.
    with pytest.raises(HubError, match=": 400 "):
        hub.user_token(WRONG, scopes=[f"access:servers!server={RIGHT}/"], note="sue tries sam's server")
    # Course staff is no hub admin: no user removed, no student of another course seen.
    as_teacher = {"Authorization": f"token {everything}"}
    assert hub.api("DELETE", f"/users/{RIGHT}", headers=as_teacher).status_code == 403
    assert hub.api("GET", f"/users/{OUTSIDER}", headers=as_teacher).status_code in (403, 404)
    assert hub.api("GET", f"/users/{RIGHT}", headers=as_teacher).status_code == 200
    service = f"{user_service_prefix(stack.settings)}-{RIGHT}"
    deadline = time.monotonic() + 60
    while True:
        logs = docker("service", "logs", "--raw", service, check=False)
        if f"visitor: {TEACHER} opened {RIGHT}'s server" in logs.stdout + logs.stderr:
            break
        assert time.monotonic() < deadline, (logs.stdout + logs.stderr)[-2000:]
        time.sleep(2)


@pytest.mark.parametrize("method,path", [
    ("GET", f"/submission/{COURSE}/{ASSIGNMENT}/{WRONG}"),       # download sue's submission
    ("GET", f"/submissions/{COURSE}/{ASSIGNMENT}/{WRONG}"),      # list sue's submissions
    ("GET", f"/submissions/{COURSE}/{ASSIGNMENT}"),              # list everyone's
    ("GET", f"/feedback/{COURSE}/{ASSIGNMENT}/{WRONG}?timestamp=2000-01-01%2000:00:00.000000%20UTC"),
    ("GET", f"/students/{COURSE}"),                              # the roster
    ("DELETE", f"/assignment/{COURSE}/{ASSIGNMENT}"),            # withdraw the release
])
def test_a_student_cannot_reach_another_students_work(hub, course, method, path):
    assert exchange_call(hub, RIGHT, method, path) == 403


def test_a_changed_jupyterhub_user_does_not_fetch_another_students_feedback(hub, course):
    out = run(hub, RIGHT, f"""
        import os, shutil
        shutil.rmtree("{ASSIGNMENT}/feedback", ignore_errors=True)
        os.environ["JUPYTERHUB_USER"] = "{WRONG}"
        sh("nbgrader fetch_feedback {ASSIGNMENT} --course {COURSE}")
    """)
    html = feedback_html(hub, RIGHT)
    assert "Score: 0.0 / 5.0" not in html, out
    assert "Score: 3.0 / 5.0" in html, out


def test_a_student_of_another_course_cannot_fetch_the_assignment(hub, course):
    out = nbgrader(hub, OUTSIDER, f"fetch_assignment {ASSIGNMENT} --course {COURSE}")
    # ngshare-exchange logs the refusal but exits 0: what counts is that nothing arrived.
    assert "Permission denied" in out, out
    assert "False" in run(hub, OUTSIDER, f"import os; print(os.path.exists('{ASSIGNMENT}'))")
    assert exchange_call(hub, OUTSIDER, "GET", f"/assignment/{COURSE}/{ASSIGNMENT}") == 403
    listed = nbgrader(hub, OUTSIDER, "list")
    assert ASSIGNMENT not in listed


def test_a_student_cannot_read_the_hidden_tests(hub, course):
    released = run(hub, RIGHT, f"""
        print(open("{ASSIGNMENT}/energy.ipynb").read())
    """)
    assert "assert" in released and "BEGIN HIDDEN TESTS" not in released and "_ref" not in released
    # No copy of the course sources (here: a line of a hidden test) anywhere in a student's container ...
    found = run(hub, RIGHT, """
        sh("grep -rls '_got - _ref' /opt /home /srv /tmp /etc /usr/local 2>/dev/null | head -5; true")
    """)
    assert found.strip() == "rc=0", found
    # ... nor through the exchange (sources are never uploaded) or the formgrader's files.
    assert exchange_call(hub, RIGHT, "GET", f"/assignment/{COURSE}/source") == 404
    token = hub.user_token(RIGHT, note="contents")
    r = hub.server("GET", FORMGRADER, f"/api/contents/source/{ASSIGNMENT}/energy.ipynb", token=token)
    assert r.status_code == 403


# -- the exchange's own weak spots, closed by the gate ---------------------------

def test_the_exchange_refuses_requests_without_a_token_with_403(hub, course, stack):
    for method, path in (("POST", f"/submission/{COURSE}/{ASSIGNMENT}"),
                         ("GET", f"/feedback/{COURSE}/{ASSIGNMENT}/{RIGHT}"), ("GET", "/courses")):
        r = requests.request(method, f"{stack.local_url}{EXCHANGE}{path}", timeout=30)
        assert r.status_code == 403, (path, r.status_code, r.text[:200])
        assert "token" in r.json()["message"]


def test_the_exchange_refuses_a_students_token_without_the_exchange_scope(hub, course, stack):
    narrow = hub.user_token(RIGHT, scopes=["read:users:name!user"], note="narrow")
    r = requests.get(f"{stack.local_url}{EXCHANGE}/courses", headers={"Authorization": f"token {narrow}"}, timeout=30)
    assert r.status_code == 403 and "access:services!service=ngshare" in r.json()["message"]
    full = hub.user_token(RIGHT, note="full")
    r = requests.get(f"{stack.local_url}{EXCHANGE}/courses", headers={"Authorization": f"token {full}"}, timeout=30)
    assert r.status_code == 200 and r.json()["courses"] == [COURSE]


def test_the_exchange_refuses_an_oversized_upload_with_413(hub, course, stack):
    token = hub.user_token(RIGHT, note="upload")
    limit = int(stack.settings.exchange_max_upload_mb * 1024 * 1024)
    r = requests.post(f"{stack.local_url}{EXCHANGE}/submission/{COURSE}/{ASSIGNMENT}",
                      headers={"Authorization": f"token {token}"}, data=b"x" * (limit + 1), timeout=120)
    assert r.status_code == 413 and "limit" in r.json()["message"]


def test_a_student_outside_every_course_gets_no_exchange_scope(hub, course, stack):
    hub.create_user("walter")
    token = hub.user_token("walter", note="no course")
    r = requests.get(f"{stack.local_url}{EXCHANGE}/courses", headers={"Authorization": f"token {token}"}, timeout=30)
    assert r.status_code == 403


def test_enrolment_follows_the_course_group(hub, course, stack):
    """A student added to the course group lists the assignment at once; removed, is refused."""
    hub.create_user("nina")
    group = f"nbgrader-{COURSE}"
    assert hub.api("POST", f"/groups/{group}/users", json={"users": ["nina"]}).status_code == 200
    token = hub.user_token("nina", note="enrolment")
    url = f"{stack.local_url}{EXCHANGE}/assignments/{COURSE}"

    def answer_within(status: int, seconds: float = 30) -> requests.Response:
        # The gate re-reads the groups when its copy is older than its freshness limit:
        # wait for the answer, not for that limit.
        deadline = time.monotonic() + seconds
        while True:
            r = requests.get(url, headers={"Authorization": f"token {token}"}, timeout=30)
            if r.status_code == status or time.monotonic() > deadline:
                return r
            time.sleep(0.5)

    r = answer_within(200)
    assert r.status_code == 200 and ASSIGNMENT in r.json()["assignments"]
    assert hub.api("DELETE", f"/groups/{group}/users", json={"users": ["nina"]}).status_code == 200
    assert answer_within(403).status_code == 403


LESSON = "01-anatomy-of-a-shower"


def test_a_teachers_edited_masterclass_reaches_the_courses_students_only_without_a_rebuild(hub, course):
    t = course["teacher"]
    page = hub.server("GET", FORMGRADER, "/masterclasses", token=t)
    assert page.status_code == 200 and f"<li>{LESSON}</li>" in page.text, page.text[:500]
    source = f"masterclasses/sources/{LESSON}/{LESSON}.md"
    # A slip in the source: nothing is published and the page names it.
    run(hub, FORMGRADER, f"""
        from pathlib import Path
        p = Path("{source}")
        p.write_text(p.read_text().replace("  level: school", "  level: kindergarten", 1))
    """, token=t)
    r = hub.server("POST", FORMGRADER, "/masterclasses", token=t)
    assert r.status_code == 400 and "Nothing was published" in r.text and "kindergarten" in r.text, r.text[:800]
    # Mended, and revised as the teacher wants it taught.
    run(hub, FORMGRADER, f"""
        from pathlib import Path
        p = Path("{source}")
        p.write_text(p.read_text().replace("  level: kindergarten", "  level: school", 1)
                     .replace("# 1. ", "# 1. (as taught by tina) ", 1))
    """, token=t)
    r = hub.server("POST", FORMGRADER, "/masterclasses", token=t)
    assert r.status_code == 200 and 'id="notice"' in r.text, r.text[:800]

    probe = f"""
        import os, nbformat
        path = "masterclasses/{COURSE}/{LESSON}/{LESSON}.ipynb"
        if os.path.exists(path):
            nb = nbformat.read(path, 4)
            tags = {{t for c in nb.cells for t in c.metadata.get("tags", [])}}
            print("revised" if "(as taught by tina)" in nb.cells[0].source else "old", "your-turn" in tags,
                  sorted(tags & {{"solution", "teacher"}}))
        else:
            print("absent")
        print("teacher versions here:", os.path.exists("/opt/astrohub/masterclasses-teachers"))
        try:
            open("/opt/astrohub/published/{COURSE}/mine", "w")
            print("wrote")
        except OSError as e:
            print("refused", e.errno)
    """
    for student in (RIGHT, OUTSIDER):
        hub.stop(student)
        hub.start(student)
    out = run(hub, RIGHT, probe)
    assert "revised True []" in out and "teacher versions here: False" in out, out
    assert "refused 30" in out, out  # EROFS: the students' mount is read-only
    # A student of another course gets nothing of astro101's.
    out = run(hub, OUTSIDER, probe)
    assert "absent" in out and "refused 2" in out, out  # ENOENT: no astro101 library mounted


def test_the_course_folder_is_its_teachers_to_write_and_its_students_to_read(hub, course):
    folder = f"courses/{COURSE}"
    # The teacher puts a file there from her own server, and one from the formgrader.
    hub.start(TEACHER)
    try:
        run(hub, TEACHER, f"""
            from pathlib import Path
            Path("{folder}/reading.md").write_text("Read chapter 2 before Tuesday.")
        """)
        run(hub, FORMGRADER, """
            from pathlib import Path
            Path("course-folder/syllabus.md").write_text("Week 1: the knee.")
        """, token=course["teacher"])
    finally:
        hub.stop(TEACHER)
    probe = f"""
        import os
        for name in ("reading.md", "syllabus.md"):
            p = os.path.join("{folder}", name)
            print(name, open(p).read() if os.path.exists(p) else "absent")
        try:
            open("{folder}/mine.md", "w")
            print("wrote")
        except OSError as e:
            print("refused", e.errno)
    """
    out = run(hub, RIGHT, probe)
    assert "reading.md Read chapter 2 before Tuesday." in out and "syllabus.md Week 1: the knee." in out, out
    assert "refused 30" in out, out  # EROFS: the students' mount is read-only
    out = run(hub, OUTSIDER, probe)
    assert "reading.md absent" in out and "refused 2" in out, out  # ENOENT: no astro101 folder
