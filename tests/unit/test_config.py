"""apply(settings, c) on a bare traitlets Config: what the hub will run with."""

from traitlets.config import Config

from astrohub.config import apply
from astrohub.settings import load


def configured(**env):
    environ = {f"ASTROHUB_{k.upper()}": v for k, v in env.items()}
    return apply(load(environ, secrets_dir="/nonexistent"), Config())


def test_user_servers_run_as_swarm_services_with_named_home_volumes():
    c = configured(stack_name="hub1")
    s = c.AstroSwarmSpawner
    assert c.JupyterHub.spawner_class == "astrohub.spawner.AstroSwarmSpawner"
    assert s.volumes == {"hub1-home-{username}": "/home/jovyan"}
    assert s.network_name == "hub1_users"
    assert s.extra_endpoint_spec == {"mode": "dnsrr"}
    assert s.extra_task_spec["restart_policy"] == {"Condition": "none"}
    assert s.use_internal_ip is True


def test_limits_come_from_the_settings():
    c = configured(mem_limit="1G", cpu_limit="0.5", docker_threads="8")
    assert c.AstroSwarmSpawner.mem_limit == "1G"
    assert c.AstroSwarmSpawner.cpu_limit == 0.5
    assert c.AstroSwarmSpawner.docker_threads == 8


def test_hub_restart_keeps_servers_and_uses_the_external_proxy():
    c = configured()
    assert c.JupyterHub.cleanup_servers is False
    assert c.ConfigurableHTTPProxy.should_start is False
    assert c.ConfigurableHTTPProxy.api_url == "http://proxy-api:8001"


def test_secrets_reach_the_hub(tmp_path):
    (tmp_path / "astrohub_cookie_secret").write_text("0f" * 32)
    (tmp_path / "astrohub_crypt_key").write_text("1e" * 32)
    (tmp_path / "astrohub_ops_token").write_text("opstoken")
    c = apply(load({}, secrets_dir=tmp_path), Config())
    assert c.JupyterHub.cookie_secret == bytes.fromhex("0f" * 32)
    assert c.CryptKeeper["keys"] == [bytes.fromhex("1e" * 32)]
    assert c.JupyterHub.services[0]["api_token"] == "opstoken"


def test_native_login_creates_the_first_admin_and_gates_signups():
    c = configured(admin_users="ada,grace", admin_password="pw-from-secret-123")
    assert c.JupyterHub.authenticator_class == "astrohub.auth.AstroNativeAuthenticator"
    assert c.Authenticator.admin_users == {"ada", "grace"}
    assert c.AstroNativeAuthenticator.first_admin == "ada"
    assert c.AstroNativeAuthenticator.first_admin_password == "pw-from-secret-123"
    assert c.NativeAuthenticator.open_signup is False


def test_the_ops_service_has_no_admin_role():
    c = configured()
    (ops,) = [r for r in c.JupyterHub.load_roles if r["name"] == "ops"]
    assert "admin" not in ops["scopes"] and "admin:auth_state" not in ops["scopes"]
    assert ops["services"] == ["ops"]


def test_the_stock_spawner_baseline_is_dockerspawner_itself():
    c = configured(spawner="stock")
    assert c.JupyterHub.spawner_class == "dockerspawner.SwarmSpawner"
    assert c.SwarmSpawner.extra_endpoint_spec == {"mode": "dnsrr"}
    assert "volumes" not in c.SwarmSpawner


def test_notebooks_may_use_the_data_service_as_their_user():
    c = configured()
    access = "access:services!service=datacentre"
    (user_role,) = [r for r in c.JupyterHub.load_roles if r["name"] == "user"]
    assert access in user_role["scopes"] and "self" in user_role["scopes"]
    assert access in c.AstroSwarmSpawner.server_token_scopes
    # Through the proxy's public route: the service's own port is out of user servers' reach.
    assert c.AstroSwarmSpawner.environment["KCDC_URL"] == "http://proxy:8000/services/datacentre/"
    assert "datacentre" in [s["name"] for s in c.JupyterHub.services]


def test_the_ops_role_holds_no_scope_that_reads_auth_state():
    """Issue 19, item 9: admin:users includes admin:auth_state (every user's provider tokens)."""
    from jupyterhub.scopes import _expand_scope

    from astrohub.config import OPS_SCOPES

    builtin = [s for s in OPS_SCOPES if not s.startswith("custom:")]
    expanded = set().union(*(_expand_scope(s) for s in builtin))
    assert "admin:auth_state" not in expanded and "admin:users" not in expanded
    assert {"delete:users", "admin:servers", "custom:astrohub:create-users"} <= expanded | set(OPS_SCOPES)


def test_apply_sets_and_never_appends_so_applying_twice_changes_nothing():
    # Each step sets what it owns; the shared lists are set once from every step's part.
    settings = load({"ASTROHUB_COURSES": "astro101:teachers", "ASTROHUB_CRYPT_KEY": "ab" * 32},
                    secrets_dir="/nonexistent")
    once = apply(settings, Config())
    twice = apply(settings, apply(settings, Config()))
    assert twice == once
    names = [s["name"] for s in once.JupyterHub.services]
    assert sorted(names) == sorted(set(names)) == ["astro101", "dashboards", "datacentre", "idle-culler", "ngshare", "ops"]
    roles = [r["name"] for r in once.JupyterHub.load_roles]
    assert len(roles) == len(set(roles)) and "formgrade-astro101" in roles


def test_two_steps_making_the_same_entry_is_an_error_not_a_silent_overwrite():
    import pytest

    from astrohub.config import Part, _apply_parts

    settings = load({}, secrets_dir="/nonexistent")
    with pytest.raises(ValueError, match="role user made twice"):
        _apply_parts(settings, Config(), [Part(roles=[{"name": "user"}]), Part(roles=[{"name": "user"}])])


def test_course_and_data_scopes_go_to_the_spawner_in_use():
    c = configured(spawner="stock", courses="astro101:teachers")
    scopes = c.SwarmSpawner.server_token_scopes
    assert "access:services!service=ngshare" in scopes and "access:services!service=datacentre" in scopes
    assert "ASTROHUB_EXCHANGE_URL" in c.SwarmSpawner.environment
    assert "AstroSwarmSpawner" not in c
