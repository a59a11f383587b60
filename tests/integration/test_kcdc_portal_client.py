"""kcdc.Client against a double of the KCDC web portal (tests/support/kcdc_portal.py), a real
HTTP server on loopback: Django-style login with CSRF, JSON only for XHR, integer ids,
review states, request.zip downloads that expire."""
from __future__ import annotations

import time

import pytest

import kcdc
from kcdc.portal import PortalClient, parse_review
from tests.support.hub import wait_until
from tests.support.kcdc_portal import KCDCPortal

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def portal():
    p = KCDCPortal(users={"alice": PASSWORD, "bob": "bobs secret"}, expiry=4.0, steps=(0.4, 0.4)).start()
    yield p
    p.stop()


@pytest.fixture
def env(monkeypatch, tmp_path, portal):
    for k in ("KCDC_URL", "KCDC_PASSWORD", "KCDC_PASSWORD_FILE", "KCDC_SESSION"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("KCDC_PORTAL_URL", portal.url)
    monkeypatch.setenv("KCDC_USERNAME", "alice")
    monkeypatch.setenv("KCDC_CACHE_DIR", str(tmp_path / "cache"))
    return monkeypatch


def test_wrong_password_is_a_clear_error_and_never_shown(env, portal, caplog):
    env.setenv("KCDC_PASSWORD", "not-the-password")
    c = kcdc.Client()
    assert isinstance(c, PortalClient)
    with pytest.raises(kcdc.AuthenticationError, match="did not accept the username 'alice'") as e:
        c.datashops() and c.datashop("kascade")
    assert "not-the-password" not in str(e.value) and "not-the-password" not in repr(c)
    assert "not-the-password" not in caplog.text
    assert portal.portal.logins[-1] == ("alice", False)


def test_login_needs_csrf_and_referer(portal):
    """The double refuses what Django refuses: the client's way in is the only one."""
    import requests

    s = requests.Session()
    s.get(portal.url + "accounts/login/")
    no_referer = s.post(portal.url + "accounts/login/", allow_redirects=False,
                        data={"username": "alice", "password": PASSWORD,
                              "csrfmiddlewaretoken": s.cookies["csrftoken"]})
    assert no_referer.status_code == 403
    no_token = s.post(portal.url + "accounts/login/", allow_redirects=False, headers={"Referer": portal.url},
                      data={"username": "alice", "password": PASSWORD})
    assert no_token.status_code == 403 and "sessionid" not in s.cookies
    # quantities only as XHR, and only with a session
    assert requests.get(portal.url + "datashop/quants/?det_prefix=&det_name=array",
                        allow_redirects=False).status_code == 302


def test_password_from_a_secret_file(env, tmp_path):
    secret = tmp_path / "kcdc_password"
    secret.write_text(PASSWORD + "\n")
    env.setenv("KCDC_PASSWORD_FILE", str(secret))
    shop = kcdc.Client().datashop("kascade")
    assert {"E", "Ne", "array_Xc", "grande_Xc", "Nch", "DateTime"} <= set(shop["columns"])
    assert shop["columns"]["E"]["component"] == "array"


def test_a_request_through_every_state_download_and_to_pandas(env, portal):
    env.setenv("KCDC_PASSWORD", PASSWORD)
    c = kcdc.Client(poll_interval=0.1)
    req = c.request("kascade", ["E", "Ne", "grande_Xc"], cuts=[("E", ">", 15.0), ("array_Ze", "<", 30)],
                    format="ascii")
    assert isinstance(req.id, int) and req.state == "Scheduled"
    seen = {req.state}
    while req.state not in ("Finished", "Failed", "Expired"):
        time.sleep(0.1)
        seen.add(req.refresh().state)
    assert seen == {"Scheduled", "Running", "Finished"}
    df = req.to_pandas()
    ev = portal.portal.events
    arr = ev.components["array"]
    want = (arr["E"] >= 15.0) & (arr["Ze"] <= 30)
    assert len(df) == int(want.sum()) > 0
    assert sorted(df["Ev"]) == sorted(ev.general["Ev"][want])
    # the files name a quantity with its component only where two tables have it: here only
    # grande.txt has Xc and only array.txt has Ze
    assert (df["E"] >= 15.0).all() and {"DateTime", "Ne", "Xc", "Ze", "Nch"} - {"Nch"} <= set(df.columns)
    assert df["Ne"].isna().any()  # the portal's -1 ("not measured") comes back as missing
    assert df["Mt"].max() < 10**9 and df.attrs["units"]["E"] == "log10(E/eV)"
    assert req.id in [r.id for r in c.list()]

    # the same as HDF5 (one group per component inside request.zip)
    h5 = c.request("kascade", ["E", "Nch"], cuts=[("E", "between", (15.0, 16.0))], format="hdf5").wait(progress=False)
    dfh = h5.to_pandas()
    assert {"E", "Nch", "Ev"} <= set(dfh.columns) and dfh["E"].between(15.0, 16.0).all()


def test_unknown_and_ambiguous_names_and_cuts_say_what_to_write(env):
    env.setenv("KCDC_PASSWORD", PASSWORD)
    c = kcdc.Client()
    with pytest.raises(kcdc.InvalidRequest, match="array_Xc or grande_Xc"):
        c.request("kascade", ["Xc"])
    with pytest.raises(kcdc.InvalidRequest, match="ranges"):
        c.request("kascade", ["E"], cuts=[("E", "in", [15, 16])])
    with pytest.raises(kcdc.InvalidRequest, match="ascii, hdf5, root"):
        c.request("kascade", ["E"], format="parquet")


def test_another_accounts_request_is_not_yours(env, portal):
    env.setenv("KCDC_PASSWORD", PASSWORD)
    mine = kcdc.Client().request("kascade", ["E"], format="ascii")
    bob = kcdc.Client(portal=True, url=portal.url, username="bob", password="bobs secret", cache_dir=False)
    with pytest.raises(kcdc.NotYourRequest):
        bob.get(mine.id)


def test_an_expired_link(env, portal, tmp_path):
    env.setenv("KCDC_PASSWORD", PASSWORD)
    c = kcdc.Client(cache_dir=False, poll_interval=0.1)
    req = c.request("kascade", ["E"], cuts=[("E", ">", 16.5)], format="ascii").wait(progress=False)
    wait_until(lambda: c.get(req.id).state == "Expired", timeout=15)
    with pytest.raises(kcdc.RequestExpired, match="submit the request again"):
        c.get(req.id).wait(progress=False)
    req.state = "Finished"  # a stale object: the portal's link is gone
    with pytest.raises(kcdc.RequestExpired, match="expired"):
        req.download(tmp_path / "request.zip")


def test_an_expired_session_logs_in_again_or_says_so(env, portal):
    env.setenv("KCDC_PASSWORD", PASSWORD)
    c = kcdc.Client()
    c.datashop("kascade")
    portal.portal.sessions.clear()  # the portal forgot every session
    assert c.get(c.request("kascade", ["E"], format="ascii").id).id  # logged in again by itself
    handed = kcdc.Client(portal=True, session="stale-session-id")
    with pytest.raises(kcdc.AuthenticationError, match="session has expired"):
        handed.datashop("kascade")


def test_portal_down_is_service_unavailable(env):
    from tests.support.net import free_port

    env.setenv("KCDC_PASSWORD", PASSWORD)
    with pytest.raises(kcdc.ServiceUnavailable, match="cannot reach the KCDC portal"):
        kcdc.Client(portal=True, url=f"http://127.0.0.1:{free_port()}/", timeout=3).datashop("kascade")


def test_review_page_parsing():
    page = ("<table><tr><th>Id</th><th>Status</th></tr><tr><td>12</td><td>x</td><td><b>Done</b></td></tr>"
            "<tr><td>13</td><td>Error</td><td>bad &amp; wrong</td></tr><tr><td>no</td><td>Done</td></tr></table>")
    assert parse_review(page) == {12: {"state": "Done", "reason": ""}, 13: {"state": "Error", "reason": "bad & wrong"}}


def test_state_words_and_shops_can_be_set_by_a_deployment(monkeypatch):
    monkeypatch.setenv("KCDC_PORTAL_STATES", "Fertig=Finished")
    assert parse_review("<tr><td>7</td><td>Fertig</td></tr>") == {7: {"state": "Fertig", "reason": ""}}
    monkeypatch.setenv("KCDC_PORTAL_SHOPS", "kascade=,combined=combined/")
    c = kcdc.Client(portal=True, url="http://127.0.0.1:9/", username="x", cache_dir=False)
    assert [s["id"] for s in c.datashops()] == ["kascade", "combined"]
    monkeypatch.setenv("KCDC_PORTAL_SHOPS", "nonsense")
    with pytest.raises(kcdc.InvalidRequest, match="key=value"):
        c.datashops()
