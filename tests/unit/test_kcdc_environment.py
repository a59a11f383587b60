"""kcdc reads its variables in one place (kcdc.environment)."""

from pathlib import Path

from kcdc.environment import Environment


def test_the_variables_are_read_from_a_mapping_with_their_defaults():
    e = Environment.read({"KCDC_URL": "https://x.org/dc/", "JUPYTERHUB_API_TOKEN": "t", "KCDC_CACHE_DIR": ""})
    assert (e.url, e.hub_token, e.token, e.portal_url) == ("https://x.org/dc/", "t", "", "")
    assert e.cache_path() == Path.home() / ".cache" / "kcdc"
    assert Environment.read({"KCDC_CACHE_DIR": "/tmp/c"}).cache_path() == Path("/tmp/c")


def test_secrets_stay_out_of_the_repr():
    e = Environment.read({"KCDC_PASSWORD": "hunter2", "KCDC_TOKEN": "s3cr3t-1", "JUPYTERHUB_API_TOKEN": "s3cr3t-2",
                          "KCDC_SESSION": "s3cr3t-3", "KCDC_USERNAME": "alice"})
    assert e.password == "hunter2" and "alice" in repr(e)
    assert not any(s in repr(e) for s in ("hunter2", "s3cr3t"))
