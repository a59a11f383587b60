"""Login settings -> hub config (pure), course groups, and the log filter."""
import logging

import pytest
from traitlets.config import Config

from astrohub import config, courses as course_setting, settings
from astrohub.redact import RedactSecrets, redact

PROVIDERS = {
    "ASTROHUB_AUTHENTICATOR": "oidc",
    "ASTROHUB_PUBLIC_URL": "https://astroparticle.online",
    "ASTROHUB_CRYPT_KEY": "ab" * 32,
    "ASTROHUB_COURSES": "astro101:teachers-astro101:students-astro101, ml:teachers-ml",
    "ASTROHUB_KCDC_AUTHORIZE_URL": "https://kcdc.example/o/authorize/",
    "ASTROHUB_KCDC_TOKEN_URL": "https://kcdc.example/o/token/",
    "ASTROHUB_KCDC_USERINFO_URL": "https://kcdc.example/o/userinfo/",
    "ASTROHUB_KCDC_CLIENT_ID": "hub",
    "ASTROHUB_KCDC_CLIENT_SECRET": "s3cret-kcdc",
    "ASTROHUB_GRADLCI_AUTHORIZE_URL": "https://gradlci.example/auth",
    "ASTROHUB_GRADLCI_TOKEN_URL": "https://gradlci.example/token",
    "ASTROHUB_GRADLCI_USERINFO_URL": "https://gradlci.example/me",
    "ASTROHUB_GRADLCI_CLIENT_ID": "hub2",
    "ASTROHUB_GRADLCI_CLIENT_SECRET": "s3cret-gradlci",
}


def apply(env):
    return config.apply(settings.load(env, secrets_dir="/nonexistent"), Config())


def test_two_providers_on_one_page_with_prefixed_usernames():
    c = apply(PROVIDERS)
    assert c.JupyterHub.authenticator_class == "astrohub.oidc.AstroMultiAuthenticator"
    entries = c.AstroMultiAuthenticator.authenticators
    assert [e["url_prefix"] for e in entries] == ["/kcdc", "/gradlci"]
    kcdc = entries[0]["config"]
    assert kcdc["prefix"] == "kcdc-" and entries[1]["config"]["prefix"] == "gradlci-"
    assert kcdc["oauth_callback_url"] == "https://astroparticle.online/hub/kcdc/oauth_callback"
    assert kcdc["authorize_url"] == "https://kcdc.example/o/authorize/", "the trailing slash is part of the endpoint"
    assert kcdc["client_secret"] == "s3cret-kcdc" and kcdc["auth_state_groups_key"] == "oauth_user.groups"
    assert kcdc["allowed_groups"] == {"students", "teachers", "hub-admins", "teachers-astro101",
                                      "students-astro101", "teachers-ml"}
    assert kcdc["allow_all"] is False and kcdc["token_env"] == "KCDC_ACCESS_TOKEN"
    assert c.Authenticator.enable_auth_state and c.Authenticator.manage_groups and c.Authenticator.refresh_pre_spawn
    assert [p["key"] for p in c.JupyterHub.template_vars["login_providers"]] == ["kcdc", "gradlci"]


def test_course_roles_and_the_teachers_mapping():
    s = settings.load(PROVIDERS, secrets_dir="/nonexistent")
    assert course_setting.course_teachers(s) == {"astro101": "teachers-astro101", "ml": "teachers-ml"}
    roles = {r["name"]: r for r in apply(PROVIDERS).JupyterHub.load_roles}
    assert roles["formgrade-astro101"]["groups"] == ["formgrade-astro101"]
    assert "access:services!service=astro101" in roles["formgrade-astro101"]["scopes"]
    # The course's staff reach the servers of its student group only, and a course
    # without a student group gives no server access at all.
    staff = roles["course-staff-astro101"]
    assert staff["groups"] == ["formgrade-astro101"]
    assert all(scope.endswith("!group=students-astro101") for scope in staff["scopes"])
    assert "access:servers!group=students-astro101" in staff["scopes"]
    assert "course-staff-ml" not in roles


def test_course_groups_follow_from_provider_groups():
    courses = [course_setting.Course("astro101", "teachers-astro101", "students-astro101"), course_setting.Course("ml", "teachers-ml")]
    assert course_setting.course_groups({"teachers-astro101"}, courses) == {"formgrade-astro101", "nbgrader-astro101"}
    assert course_setting.course_groups({"students-astro101", "students"}, courses) == {"nbgrader-astro101"}
    assert course_setting.course_groups({"students"}, courses) == set()


def test_oidc_without_what_it_needs_says_what_to_set():
    env = {k: v for k, v in PROVIDERS.items() if k not in ("ASTROHUB_GRADLCI_TOKEN_URL", "ASTROHUB_KCDC_CLIENT_SECRET")}
    with pytest.raises(settings.SettingsError) as e:
        apply(env)
    text = str(e.value)
    assert "ASTROHUB_GRADLCI_TOKEN_URL is empty" in text and "astrohub_kcdc_client_secret" in text
    with pytest.raises(settings.SettingsError, match="at least one provider"):
        apply({"ASTROHUB_AUTHENTICATOR": "oidc", "ASTROHUB_CRYPT_KEY": "ab" * 32})


@pytest.mark.parametrize("bad", ["astro101", "astro 101:t", "astro101:t:s:x", "a:t,a:u"])
def test_a_bad_course_list_is_refused_with_the_syntax(bad):
    with pytest.raises(settings.SettingsError, match="course:teacher_group|once"):
        settings.load({"ASTROHUB_COURSES": bad}, secrets_dir="/nonexistent")


def test_native_keeps_the_embedded_default_and_the_roster_scope():
    c = apply({"ASTROHUB_COURSES": "astro101:teachers-astro101"})
    assert c.JupyterHub.authenticator_class == "astrohub.auth.AstroNativeAuthenticator"
    assert c.AstroNativeAuthenticator.courses == {"astro101": ["teachers-astro101", ""]}
    ops_accounts = [r for r in c.JupyterHub.load_roles if r["name"] == "ops-accounts"][0]
    assert ops_accounts["services"] == ["ops"] and "custom:astrohub:accounts" in c.JupyterHub.custom_scopes
    assert c.JupyterHub.template_paths and c.JupyterHub.template_vars["login_providers"] == []


@pytest.mark.parametrize("line,secret", [
    ("302 GET /hub/kcdc/oauth_callback?code=AbC123xyz789&state=eyJzdGF0ZV9pZCI6IjEifQ", "AbC123xyz789"),
    ("302 GET /hub/kcdc/oauth_callback?code=AbC123xyz789&state=eyJzdGF0ZV9pZCI6IjEifQ", "eyJzdGF0ZV9pZCI6IjEifQ"),
    ('Bad response: {"access_token": "tok-987654321", "token_type": "Bearer"}', "tok-987654321"),
    ("Authorization: Bearer abcdefghijklmnop1234", "abcdefghijklmnop1234"),
    ("body grant_type=refresh_token&refresh_token=rt-55555555&client_secret=cs-777777", "rt-55555555"),
    ("body grant_type=refresh_token&refresh_token=rt-55555555&client_secret=cs-777777", "cs-777777"),
    ("id token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl seen", "eyJhbGciOiJSUzI1NiJ9"),
])
def test_the_log_filter_masks_codes_states_and_tokens(line, secret):
    assert secret not in redact(line)
    record = logging.LogRecord("JupyterHub", logging.INFO, __file__, 1, "%s", (line,), None)
    assert RedactSecrets().filter(record) and secret not in record.getMessage()


def test_the_log_filter_leaves_ordinary_lines_alone():
    line = "200 GET /hub/api/users/kcdc-ada (ops@127.0.0.1) 3.2ms"
    assert redact(line) == line
