"""Courses: hub services, roles and server tokens from the settings; their Swarm services."""

import json

import pytest
from traitlets.config import Config

from astrohub import courses, topology
from astrohub.config import apply
from astrohub.settings import VERSION, SettingsError, load

KEY = "ab" * 32
COURSES = "astro101:teachers-astro101:students-astro101,astro201:teachers-astro201"


def settings(**env):
    environ = {f"ASTROHUB_{k.upper()}": v for k, v in env.items()}
    return load(environ, secrets_dir="/nonexistent")


def configured(**env):
    return apply(settings(**env), Config())


def test_without_courses_there_is_no_exchange_and_no_formgrader():
    c = configured()
    names = {s["name"] for s in c.JupyterHub.services}
    assert not names & {"ngshare", "astro101"}
    assert not any(r["name"].startswith(("nbgrader-", "exchange")) for r in c.JupyterHub.load_roles)
    assert "access:services!service=ngshare" not in (c.AstroSwarmSpawner.get("server_token_scopes") or [])
    assert not {"ngshare", "formgrader-astro101"} & {s.name for s in topology.services(settings())}


def test_each_course_is_a_formgrader_service_and_all_share_one_exchange():
    c = configured(courses=COURSES, crypt_key=KEY)
    by_name = {s["name"]: s for s in c.JupyterHub.services}
    assert by_name["ngshare"]["url"] == "http://ngshare:10101"
    assert by_name["astro101"]["url"] == "http://formgrader-astro101:8888"
    assert by_name["astro201"]["url"] == "http://formgrader-astro201:8888"
    # Tokens differ per service and are what the overlay's secrets will hold.
    tokens = {n: by_name[n]["api_token"] for n in ("ngshare", "astro101", "astro201")}
    assert len(set(tokens.values())) == 3
    assert tokens["astro101"] == courses.service_token(settings(crypt_key=KEY), "astro101")


def test_roles_follow_the_course_groups():
    c = configured(courses=COURSES, crypt_key=KEY)
    roles = {r["name"]: r for r in c.JupyterHub.load_roles}
    assert roles["nbgrader-astro101"]["scopes"] == ["access:services!service=ngshare"]
    assert roles["nbgrader-astro101"]["groups"] == ["nbgrader-astro101", "formgrade-astro101"]
    assert roles["nbgrader-astro101"]["services"] == ["astro101"]
    # Only the course's teachers reach its formgrader.
    assert "access:services!service=astro101" in roles["formgrade-astro101"]["scopes"]
    assert roles["formgrade-astro101"]["groups"] == ["formgrade-astro101"]
    assert not any("service=astro101" in s for s in roles["nbgrader-astro201"]["scopes"] + roles["formgrade-astro201"]["scopes"])
    assert roles["exchange"]["services"] == ["ngshare"] and "read:groups" in roles["exchange"]["scopes"]


def test_server_tokens_may_reach_the_exchange_and_keep_the_default_scopes():
    s = configured(courses=COURSES).AstroSwarmSpawner
    assert {"users:activity!user", "access:servers!server", "access:services!service=ngshare"} <= set(s.server_token_scopes)
    assert s.environment["ASTROHUB_EXCHANGE_URL"] == "http://proxy:8000/services/ngshare"


def test_a_course_may_not_take_a_service_name():
    with pytest.raises(ValueError, match="rename the course"):
        configured(courses="ngshare:teachers")


def test_a_malformed_courses_setting_says_what_to_write():
    with pytest.raises(SettingsError, match="course:teacher_group"):
        settings(courses="astro 101")


def test_the_stack_runs_the_exchange_and_one_formgrader_per_course_on_their_volumes(tmp_path):
    s = settings(courses=COURSES, stack_name="s1", exchange_max_upload_mb="5")
    overlay = topology.render(s, topology.StackFiles(tmp_path / "hub.env", {
        key: (tmp_path / key, "0") for key in topology.file_keys(s)}))
    svc = {name: entry for name, entry in overlay["services"].items() if name in
           {"ngshare", "formgrader-astro101", "formgrader-astro201"}}
    assert len(svc) == 3
    assert svc["ngshare"]["environment"]["EXCHANGE_COURSES"] == "astro101,astro201"
    assert svc["ngshare"]["environment"]["EXCHANGE_MAX_UPLOAD_MB"] == "5.0"
    fg = svc["formgrader-astro101"]
    # its home, and the library its students' servers read (servicekit.publish)
    assert fg["volumes"] == ["course-astro101:/home/jovyan", "library-astro101:/srv/library",
                             "folder-astro101:/home/jovyan/course-folder"]
    # Each formgrader runs its own course's image (no other course's sources in it) and
    # may set the autograding sandbox's firewall at start.
    assert fg["image"] == f"astrohub/formgrader-astro101:{VERSION}"
    assert svc["formgrader-astro201"]["image"] == f"astrohub/formgrader-astro201:{VERSION}"
    assert fg["cap_add"] == ["NET_ADMIN"]
    assert fg["environment"]["JUPYTERHUB_SERVICE_PREFIX"] == "/services/astro101/"
    assert json.loads(fg["environment"]["JUPYTERHUB_OAUTH_ACCESS_SCOPES"]) == ["access:services!service=astro101"]
    assert overlay["secrets"]["astro101_token"] == {"external": True, "name": "s1_service_astro101_token"}
    assert all(s["deploy"]["endpoint_mode"] == "dnsrr" for s in svc.values())



def test_a_courses_members_mount_its_library_read_only_and_its_folder_as_their_role_allows():
    from types import SimpleNamespace

    from astrohub.spawner import AstroSwarmSpawner
    from servicekit.publish import PUBLISHED

    c = apply(settings(courses=COURSES, stack_name="s1"), Config())
    folder = "/home/jovyan/courses/astro101"

    def mounts(*groups):
        user = SimpleNamespace(name="ann", id=1, groups=[SimpleNamespace(name=g) for g in groups])
        spawner = AstroSwarmSpawner(user=user, config=c)
        return {m["Target"]: (m["Source"], m["ReadOnly"]) for m in spawner.mounts}

    student = mounts("nbgrader-astro101", "students-astro101")
    assert student[f"{PUBLISHED}/astro101"] == ("s1_library-astro101", True)
    assert student[folder] == ("s1_folder-astro101", True)  # students read the course folder
    assert f"{PUBLISHED}/astro201" not in student and "/home/jovyan/courses/astro201" not in student
    teacher = mounts("formgrade-astro101")
    assert teacher[folder] == ("s1_folder-astro101", False)  # its teachers write it
    assert teacher[f"{PUBLISHED}/astro101"] == ("s1_library-astro101", True)  # published from the formgrader only
    # A teacher of one course is a student of the other: each mount by its own course's role.
    both = mounts("formgrade-astro101", "nbgrader-astro201")
    assert both[folder][1] is False and both["/home/jovyan/courses/astro201"][1] is True
    outsider = mounts()
    assert not [t for t in outsider if t.startswith((PUBLISHED, "/home/jovyan/courses"))]
