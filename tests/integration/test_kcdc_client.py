"""The kcdc client against the real datacentre behind a real hub: API, cache, exceptions."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import kcdc
from tests.support.datacentre import make_datashop
from tests.support.hub import wait_until
from tests.support.net import free_port


def _frame(stack, shop="kascade-test") -> pd.DataFrame:
    parts = sorted((Path(stack.shops_root) / shop).glob("part-*.parquet"))
    return pd.concat([pd.read_parquet(p) for p in parts]).reset_index(drop=True)


@pytest.fixture
def client(stack, tmp_path, monkeypatch):
    """kcdc.Client() configured only from the environment, as in a notebook container."""
    monkeypatch.setenv("KCDC_URL", stack.dc.url)
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", stack.tokens["alice"])
    monkeypatch.setenv("KCDC_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("KCDC_TOKEN", raising=False)
    return kcdc.Client(poll_interval=0.2)


def test_import_is_light():
    code = ("import sys, kcdc; heavy = [m for m in ('pandas', 'numpy', 'requests', 'tqdm', 'h5py', 'uproot',"
            " 'pyarrow') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_default_url_from_the_environment():
    assert kcdc.default_url({"KCDC_URL": "https://x.org/services/datacentre"}) == "https://x.org/services/datacentre/"
    env = {"JUPYTERHUB_SERVICE_PREFIX": "/hub-base/user/alice/", "JUPYTERHUB_PUBLIC_URL": "https://astro.example/"}
    assert kcdc.default_url(env) == "https://astro.example/hub-base/services/datacentre/"
    assert kcdc.default_url({"JUPYTERHUB_SERVICE_PREFIX": "/user/alice/"}) == "http://127.0.0.1:10101/services/datacentre/"
    assert kcdc.default_url({}) == "http://127.0.0.1:10101/services/datacentre/"


def test_client_workflow_and_cache(stack, client, tmp_path):
    assert client.info()["you"]["name"] == "alice"
    shops = {s["id"]: s for s in client.datashops()}
    assert "kascade-test" in shops and shops["kascade-test"]["simulated"] is True
    assert client.datashop("kascade-test")["columns"]["E"]["kind"] == "float"

    req = client.request("kascade-test", ["E", "Ze", "Nmu", "Ev"],
                         cuts=[("E", ">", 15.5), ("Ze", "between", (0, 25)), ("Mt", "<", 900_000_000)],
                         format="hdf5")
    assert isinstance(req, kcdc.Request) and req.state in ("Scheduled", "Running", "Finished")
    req.wait(timeout=60)  # with the tqdm bar
    assert req.state == "Finished"
    df = req.to_pandas()
    full = _frame(stack)
    want = full[(full.E > 15.5) & (full.Ze >= 0) & (full.Ze <= 25) & (full.Mt < 900_000_000)]
    assert list(df.columns) == ["E", "Ze", "Nmu", "Ev"] and len(df) == len(want) == req.rows
    np.testing.assert_array_equal(np.sort(df.Ev.to_numpy()), np.sort(want.Ev.to_numpy()))

    # the same request again: no second download (served from the local cache)
    downloads = stack.dc.log().count(f"api/requests/{req.id}/file")
    again = client.request("kascade-test", ["Ev", "E", "Ze", "Nmu"],
                           cuts=[{"column": "Mt", "op": "<", "value": 900_000_000}, ("E", ">", 15.5),
                                 ("Ze", "between", [0, 25])], format="hdf5")
    assert again.id == req.id
    df2 = again.to_pandas()
    assert len(df2) == len(df)
    assert again.download(tmp_path / "copy.h5").exists()
    assert stack.dc.log().count(f"api/requests/{req.id}/file") == downloads

    # ASCII comes as a zip and reads back through kcdc.formats
    asc = client.request("kascade-test", ["E", "Ev"], cuts=[("E", ">", 17.5)], format="ascii").wait(progress=False)
    assert len(asc.to_pandas()) == int((full.E > 17.5).sum())

    assert req.id in [r.id for r in client.list()]
    req.delete()
    with pytest.raises(kcdc.NotYourRequest):
        wait_until(lambda: client.get(req.id) and False, timeout=5)


def test_invalid_request(client):
    with pytest.raises(kcdc.InvalidRequest, match="Energy"):
        client.request("kascade-test", ["Energy"])
    with pytest.raises(kcdc.InvalidRequest, match="operator"):
        client.request("kascade-test", ["E"], cuts=[("E", "~", 1)])
    with pytest.raises(kcdc.InvalidRequest, match="no-such"):
        client.request("no-such-shop", ["E"])


def test_limit_exceeded(client):
    with pytest.raises(kcdc.LimitExceeded) as e:
        client.request("kascade-test", ["E", "Ze"])
    assert e.value.limit == "max_rows" and e.value.limit_value == 2500
    assert "max_rows" in str(e.value) and "add cuts" in str(e.value)


def test_not_your_request(stack, client):
    mine = client.request("kascade-test", ["T"], cuts=[("T", ">", 20)], format="csv")
    bob = kcdc.Client(url=stack.dc.url, token=stack.tokens["bob"], cache_dir=False)
    with pytest.raises(kcdc.NotYourRequest, match="another user"):
        bob.get(mine.id)
    with pytest.raises(kcdc.NotYourRequest):
        bob.delete(mine.id)
    assert client.get(mine.id).id == mine.id


def test_authentication_error(stack):
    with pytest.raises(kcdc.AuthenticationError, match="token"):
        kcdc.Client(url=stack.dc.url, token="not-a-token", cache_dir=False).datashops()
    with pytest.raises(kcdc.AuthenticationError):
        kcdc.Client(url=stack.dc.url, token="", cache_dir=False).datashops()


def test_service_unavailable(stack):
    with pytest.raises(kcdc.ServiceUnavailable, match="KCDC_URL"):
        kcdc.Client(url=f"http://127.0.0.1:{free_port()}/services/datacentre/", token="x",
                    cache_dir=False, timeout=5).datashops()
    # a service the proxy does not know: the hub answers, but not with the API
    with pytest.raises(kcdc.KCDCError):
        kcdc.Client(url=stack.hub.url + "services/nothing-here/", token=stack.tokens["alice"],
                    cache_dir=False).datashops()


def test_request_failed_with_reason(stack, tmp_path):
    """A data shop withdrawn while a request runs on it (slow instance: 1 s per part)."""
    make_datashop(stack.shops_root, "kascade-vanishing", n=600, parts=3, seed=3)
    c = kcdc.Client(url=stack.slow.url, token=stack.tokens["bob"], cache_dir=tmp_path / "c", poll_interval=0.2)
    req = c.request("kascade-vanishing", ["E"], cuts=[("E", ">", 14.0)], format="parquet")
    wait_until(lambda: c.get(req.id).state == "Running", timeout=20)
    (Path(stack.shops_root) / "kascade-vanishing" / "part-00002.parquet").unlink()
    with pytest.raises(kcdc.RequestFailed) as e:
        req.wait(timeout=30, progress=False)
    assert e.value.reason and "submit the request again" in str(e.value).lower()
    with pytest.raises(kcdc.RequestFailed):
        req.download()


def test_request_expired(stack, tmp_path):
    """The slow instance expires results after 5 s."""
    c = kcdc.Client(url=stack.slow.url, token=stack.tokens["alice"], cache_dir=False, poll_interval=0.2)
    req = c.request("kascade-test", ["Xc", "Yc"], cuts=[("Xc", ">", 80.0)], format="csv").wait(progress=False)
    wait_until(lambda: c.get(req.id).state == "Expired", timeout=15)
    with pytest.raises(kcdc.RequestExpired, match="submit the request again"):
        c.get(req.id).wait(progress=False)
    req.state = "Finished"  # a stale object still believes it can download: the server says 410
    with pytest.raises(kcdc.RequestExpired):
        req.download(tmp_path / "x.csv")


def test_showersim_data_set_through_the_client(stack, client, tmp_path):
    """A real data set written by ``showersim generate`` (small), per-station arrays included."""
    import shutil

    exe = shutil.which("showersim", path=str(Path(sys.executable).parent))
    assert exe, "showersim is not on the venv's PATH: run `make setup` (pip install -e .)"
    subprocess.run([exe, "generate", "--experiment", "kascade", "--events", "1500", "--seed", "11",
                    "--out", str(stack.shops_root), "--id", "kascade-showersim", "--kind", "simulation",
                    "--stations", "--rows-per-part", "600", "--quiet"], check=True, timeout=120)
    shop = client.datashop("kascade-showersim")
    assert shop["simulated"] is True and shop["generator"] == "showersim" and shop["seed"] == 11
    assert shop["columns"]["EDeposit"]["kind"] == "array" and shop["columns"]["E"]["unit"]
    req = client.request("kascade-showersim", ["E", "Ze", "primary", "EDeposit"],
                         cuts=[("primary", "in", ["p", "Fe"]), ("E", ">", 15.0)], format="root")
    df = req.wait(progress=False).to_pandas()
    full = _frame(stack, "kascade-showersim")
    want = full[full.primary.isin(["p", "Fe"]) & (full.E > 15.0)]
    assert len(df) == len(want) > 0 and set(df.primary) <= {"p", "Fe"}
    from kcdc.formats import stack as stack_stations

    assert stack_stations(df, "EDeposit").shape == (len(want), 252)
    assert req.stations("EDeposit").shape == (len(want), 252)
