"""Round trips through the KCDC file layouts of kcdc.formats."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from kcdc import formats

N = 50


def _scalars(rng, n=N, truth=False):
    d = {
        "E": rng.uniform(14, 18, n),
        "Xc": rng.uniform(-91, 91, n).astype(np.float32),
        "Yc": rng.uniform(-91, 91, n).astype(np.float32),
        "Ze": rng.uniform(0, 40, n).astype(np.float32),
        "Az": rng.uniform(0, 360, n).astype(np.float32),
        "Ne": rng.uniform(3, 7, n).astype(np.float32),
        "Nmu": rng.uniform(2, 6, n).astype(np.float32),
        "Age": rng.uniform(0.5, 1.4, n).astype(np.float32),
        "T": rng.normal(10, 5, n).astype(np.float32),
        "P": rng.normal(1005, 5, n).astype(np.float32),
        "Gt": (1e9 + np.arange(n) * 7).astype(np.int64),
        "Mt": rng.integers(0, 10**9, n).astype(np.int32),
        "R": np.full(n, 4711, dtype=np.int32),
        "Ev": np.arange(n, dtype=np.int64),
    }
    if truth:
        d["E_true"] = rng.uniform(14, 18, n)
        d["A"] = rng.choice([1, 4, 14, 28, 56], n).astype(np.int16)
        d["primary"] = np.array(["p", "He", "CNO", "MgSi", "Fe"], dtype=object)[rng.integers(0, 5, n)]
    return pd.DataFrame(d)


def _with_arrays(rng, n=N):
    df = _scalars(rng, n, truth=True)
    arrays = {
        "EDeposit": rng.exponential(10, (n, formats.N_STATIONS)).astype(np.float32),
        "MDeposit": rng.exponential(5, (n, formats.N_STATIONS)).astype(np.float32),
        "Arrival": rng.normal(0, 20, (n, formats.N_STATIONS)).astype(np.float32),
    }
    return df, arrays


def _assert_same(a: pd.DataFrame, b: pd.DataFrame, exact=True):
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b)
    for c in a.columns:
        x, y = a[c].to_numpy(), b[c].to_numpy()
        if len(x) and isinstance(x[0], np.ndarray):
            np.testing.assert_array_equal(np.stack(x), np.stack(y), err_msg=c)
        elif x.dtype.kind in "fiu" and exact:
            np.testing.assert_array_equal(x, y, err_msg=c)
        elif x.dtype.kind == "f":
            np.testing.assert_allclose(x, y.astype(float), rtol=1e-15, err_msg=c)
        else:
            assert [str(v) for v in x] == [str(v) for v in y], c


@pytest.mark.parametrize("fmt", ["hdf5", "root", "parquet"])
def test_arrays_round_trip(tmp_path, fmt):
    rng = np.random.default_rng(1)
    df, arrays = _with_arrays(rng)
    path = tmp_path / ("out" + formats.FORMATS[fmt].suffix)
    formats.FORMATS[fmt].writer(df, path, arrays=arrays, metadata={"seed": 3, "exposure": {"area_m2": 40000.0}})
    back = formats.FORMATS[fmt].reader(path)
    expected = pd.concat([df, formats._frame({}, arrays)], axis=1)
    _assert_same(expected, back)
    assert formats.stack(back, "EDeposit").shape == (N, formats.N_STATIONS)
    # dtypes survive where the format has them (float32 stays float32)
    assert back["Ne"].dtype == np.float32 and back["E"].dtype == np.float64


def test_dataframe_with_array_columns_round_trips_hdf5(tmp_path):
    """A df that carries the per-station arrays as columns (what read_* return)."""
    rng = np.random.default_rng(2)
    df, arrays = _with_arrays(rng, 7)
    full = pd.concat([df, formats._frame({}, arrays)], axis=1)
    for fmt in ("hdf5", "root", "parquet"):
        p = tmp_path / ("x" + formats.FORMATS[fmt].suffix)
        formats.write(fmt, full, p)
        _assert_same(full, formats.read(fmt, p))


def test_hdf5_layout_and_metadata(tmp_path):
    import h5py

    rng = np.random.default_rng(3)
    df, arrays = _with_arrays(rng, 10)
    md = {"title": "simulated KASCADE", "seed": 5, "exposure": {"area_m2": 40000.0, "live_time_s": 12.5}}
    p = formats.write_hdf5(df, tmp_path / "events.h5", arrays=arrays, metadata=md)
    with h5py.File(p) as f:
        assert f["E"].shape == (10,) and f["EDeposit"].shape == (10, 252)
        assert f["E"].attrs["unit"] == "log10(E/eV)"
        assert f["EDeposit"].attrs["unit"] == "MeV"
    assert formats.read_hdf5_metadata(p) == md


def test_ascii_layout_round_trip(tmp_path):
    rng = np.random.default_rng(4)
    df = _scalars(rng, truth=True)
    d = formats.write_ascii(df, tmp_path / "ascii", metadata={"seed": 1})
    names = sorted(x.name for x in d.iterdir())
    assert names == ["Info.txt", "array.txt", "general.txt", "row_mapping.txt", "simulation.txt"]
    first = (d / "row_mapping.txt").read_text().splitlines()
    assert first[0].split("\t") == ["general", "array", "simulation"] and len(first) == N + 1
    header = (d / "array.txt").read_text().splitlines()[0]
    assert header.split("\t") == ["E", "Xc", "Yc", "Ze", "Az", "Ne", "Nmu", "Age"]
    back = formats.read_ascii(d)
    # ASCII reorders columns by component; compare per column. Floats are written
    # with 9 (float32) / 17 (float64) significant digits, which round-trips exactly.
    for c in df.columns:
        x, y = df[c].to_numpy(), back[c].to_numpy()
        if x.dtype.kind in "fiu":
            assert y.dtype == x.dtype, c  # dtypes come back via Info.txt
            np.testing.assert_array_equal(x, y, err_msg=c)
        else:
            assert list(map(str, x)) == list(map(str, y))
    info = (d / "Info.txt").read_text()
    assert json.loads(info.split("[metadata]\n", 1)[1]) == {"seed": 1}


def test_ascii_and_csv_refuse_arrays(tmp_path):
    rng = np.random.default_rng(5)
    df, arrays = _with_arrays(rng, 3)
    full = pd.concat([df, formats._frame({}, arrays)], axis=1)
    with pytest.raises(ValueError, match="hdf5"):
        formats.write_ascii(full, tmp_path / "a")
    with pytest.raises(ValueError, match="hdf5"):
        formats.write_csv(full, tmp_path / "a.csv")


def test_csv_round_trip(tmp_path):
    df = _scalars(np.random.default_rng(6))
    p = formats.write_csv(df, tmp_path / "x.csv", metadata={"a": 1})
    back = formats.read_csv(p)
    for c in df.columns:
        np.testing.assert_array_equal(df[c].to_numpy(), back[c].to_numpy().astype(df[c].dtype), err_msg=c)


def test_empty_round_trip(tmp_path):
    df = _scalars(np.random.default_rng(7), n=0)
    for fmt in ("hdf5", "parquet", "csv"):
        p = tmp_path / ("e" + formats.FORMATS[fmt].suffix)
        formats.write(fmt, df, p)
        back = formats.read(fmt, p)
        assert len(back) == 0 and list(back.columns) == list(df.columns)


def test_parquet_metadata_and_fixed_size_list(tmp_path):
    import pyarrow.parquet as pq

    rng = np.random.default_rng(8)
    df, arrays = _with_arrays(rng, 5)
    p = formats.write_parquet(df, tmp_path / "part-00000.parquet", arrays=arrays, metadata={"seed": 9})
    schema = pq.read_schema(p)
    assert str(schema.field("EDeposit").type).startswith("fixed_size_list<")
    assert formats.read_parquet_metadata(p) == {"seed": 9}
    # a directory of parts reads as one frame
    formats.write_parquet(df, tmp_path / "part-00001.parquet", arrays=arrays)
    assert len(formats.read_parquet(tmp_path)) == 10


def test_columns_table_and_formats_registry():
    for name in ["E", "Xc", "Yc", "Ze", "Az", "Ne", "Nmu", "Age", "T", "P", "Gt", "Mt", "R", "Ev",
                 "EDeposit", "MDeposit", "Arrival"]:
        assert {"unit", "description", "range"} <= set(formats.COLUMNS[name])
    assert set(formats.FORMATS) == {"hdf5", "ascii", "root", "parquet", "csv"}
    with pytest.raises(ValueError, match="choose one of"):
        formats.write("xls", pd.DataFrame(), "x")


def test_import_kcdc_stays_light():
    # pandas 3 itself may import pyarrow (its default string dtype), so only h5py/uproot are checked
    code = "import sys, kcdc.formats; print(any(m in sys.modules for m in ('h5py', 'uproot')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_ascii_reader_accepts_header_as_comment(tmp_path):
    # a variant we could not rule out for real KCDC files: the column names on a '#' line
    (tmp_path / "array.txt").write_text("# E Ne\n16.1 5.5\n15.2 4.9\n")
    (tmp_path / "row_mapping.txt").write_text("array\n0\n1\n")
    df = formats.read_ascii(tmp_path)
    assert list(df.columns) == ["E", "Ne"] and df["Ne"].tolist() == [5.5, 4.9]
