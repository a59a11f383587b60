"""The data service delivers what KCDC delivers: file names, request.zip layout, DateTime and UUID."""
from __future__ import annotations

import datetime as dt
import re
import zipfile

import kcdc


def _client(stack, tmp_path):
    return kcdc.Client(url=stack.dc.url, token=stack.tokens["alice"], cache_dir=tmp_path / "c", progress=False,
                       poll_interval=0.2, portal=False)


def test_datetime_and_uuid_are_general_quantities(stack, tmp_path):
    c = _client(stack, tmp_path)
    cols = c.datashop("kascade-test")["columns"]
    assert cols["DateTime"]["kind"] == "derived" and cols["DateTime"]["cuttable"] is False
    req = c.request("kascade-test", ["DateTime", "UUID", "Gt", "Mt", "R", "Ev"], cuts=[("E", ">", 17.0)],
                    format="hdf5").wait()
    assert req.filename == "events.h5"
    df = req.to_pandas()
    assert len(df) > 0
    for _, row in df.iterrows():
        want = dt.datetime.fromtimestamp(int(row.Gt) + int(row.Mt) // 10**9, dt.timezone.utc)
        assert row.DateTime == want.strftime("%Y-%m-%dT%H:%M:%S")
        assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", row.UUID)
    assert df.UUID.is_unique
    # one event, one UUID, whatever the selection it came in
    other = c.request("kascade-test", ["UUID", "Ev"], cuts=[("E", ">", 16.5)], format="csv").wait().to_pandas()
    same = other.set_index("Ev").loc[df.Ev, "UUID"]
    assert list(same) == list(df.UUID)
    # a cut on a computed quantity is refused with a reason
    try:
        c.request("kascade-test", ["E"], cuts=[("UUID", "==", "x")])
    except kcdc.InvalidRequest as e:
        assert "UUID" in str(e)
    else:
        raise AssertionError("a cut on UUID was accepted")


def test_request_zip_reads_back_with_kcdc_read(stack, tmp_path):
    c = _client(stack, tmp_path)
    req = c.request("kascade-test", ["E", "Ze", "Gt", "Ev"], cuts=[("E", ">", 17.5)], format="ascii").wait()
    assert req.filename == "request.zip"
    path = req.download()
    with zipfile.ZipFile(path) as z:
        info = z.read("Info.txt").decode()
        assert "SIMULATED" in info and "E > 17.5" in info
        assert z.read("row_mapping.txt").decode().splitlines()[0] == "general\tarray"
    df = kcdc.read(path)
    assert sorted(df.columns) == ["E", "Ev", "Gt", "Ze"] and (df.E > 17.5).all() and len(df) == req.rows
