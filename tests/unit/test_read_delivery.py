"""kcdc.read on files written in each documented KCDC layout (issue 20)."""
import shutil
import zipfile

import numpy as np
import pandas as pd
import pytest

import kcdc
from kcdc import formats

# A delivery as KCDC writes it (issue 20; the observed example in omegaflow/omegaflow
# src/archivar/kcdc.rs): tab-separated, the tables in KCDC's order, -1 where an event has
# no row in a table, general.txt with "Datetime", a component listed but not shipped (lopes).
ROW_MAPPING = "calorimeter\tgrande\tgeneral\tarray\tlopes\n" \
              "-1\t-1\t0\t0\t-1\n" \
              "-1\t0\t1\t-1\t-1\n" \
              "-1\t1\t2\t1\t-1\n"
GENERAL = "Datetime\tEv\tGt\tMt\tP\tR\tT\n" \
          "2005-06-01T00:00:00\t608195\t1117584000\t123456789\t1011.3\t5376\t7.7\n" \
          "2005-06-01T00:00:01\t608198\t1117584001\t999999999\t1011.3\t5376\t-1\n" \
          "2005-06-01T00:00:04\t608210\t1117584004\t0\t1011.2\t5376\t7.6\n"
ARRAY = "E\tXc\tYc\tZe\tAz\tNe\tNmu\tAge\n" \
        "15.2\t-1\t12.5\t20.1\t100.0\t5.1\t4.0\t1.1\n" \
        "16.4\t3.0\t-40.0\t11.0\t270.5\t-1\t4.6\t0.9\n"
GRANDE = "Xc\tYc\tZe\tAz\tNch\tNmu\tAge\n" \
         "-250.0\t-310.0\t22.0\t45.0\t6.1\t5.0\t0.8\n" \
         "-100.0\t-200.0\t11.2\t270.0\t7.0\t5.9\t-1\n"
CALORIMETER = "Nhad\tEhad\n"


def _kcdc_folder(root, calorimeter=False):
    d = root / "request"
    d.mkdir()
    (d / "row_mapping.txt").write_text(ROW_MAPPING)
    (d / "general.txt").write_text(GENERAL)
    (d / "array.txt").write_text(ARRAY)
    (d / "grande.txt").write_text(GRANDE)
    if calorimeter:
        (d / "calorimeter.txt").write_text(CALORIMETER)
    (d / "Info.txt").write_text("KCDC data request\nCuts:\n  Ze < 30\n")
    return d


def _check_kcdc_frame(df):
    assert len(df) == 3
    # one spelling, a prefix only where array and grande share the name
    assert {"DateTime", "Ev", "Gt", "Mt", "E", "Ne", "Nch", "array_Xc", "grande_Xc", "array_Nmu",
            "grande_Nmu", "array_Age", "grande_Age"} <= set(df.columns)
    assert "Xc" not in df.columns and "Datetime" not in df.columns
    # the event without an array row has missing array values; the one without grande likewise
    assert df["E"].isna().tolist() == [False, True, False]
    assert df["Nch"].isna().tolist() == [True, False, False]
    assert df["E"].iloc[2] == pytest.approx(16.4) and df["grande_Xc"].iloc[2] == pytest.approx(-100.0)
    # -1: missing where it cannot be a value (log10 Ne, Grande age), a value where it can (Xc, T)
    assert pd.isna(df["Ne"].iloc[2]) and pd.isna(df["grande_Age"].iloc[2])
    assert df["array_Xc"].iloc[0] == -1.0 and df["T"].iloc[1] == -1.0
    assert df["Mt"].max() == 999_999_999
    assert df.attrs["units"]["E"] == "log10(E/eV)" and df.attrs["units"]["array_Xc"] == "m"
    assert df.attrs["units"]["Mt"] == "ns"


def test_kcdc_folder(tmp_path):
    _check_kcdc_frame(kcdc.read(_kcdc_folder(tmp_path)))


def test_kcdc_request_zip_flat_and_with_a_folder(tmp_path):
    d = _kcdc_folder(tmp_path)
    flat = tmp_path / "request.zip"
    with zipfile.ZipFile(flat, "w") as z:
        for p in d.iterdir():
            z.write(p, arcname=p.name)
    _check_kcdc_frame(kcdc.read(flat))
    nested = tmp_path / "nested.zip"
    shutil.make_archive(str(nested.with_suffix("")), "zip", tmp_path, "request")
    _check_kcdc_frame(kcdc.read(nested))


def test_empty_component_table_and_missing_component(tmp_path):
    """calorimeter.txt with only its header, lopes.txt not shipped: both just add nothing."""
    df = kcdc.read(_kcdc_folder(tmp_path, calorimeter=True))
    assert "Nhad" in df.columns and df["Nhad"].isna().all()
    assert not any("lopes" in c for c in df.columns)


def test_zip_that_points_outside_is_refused(tmp_path):
    bad = tmp_path / "evil.zip"
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("../outside.txt", "E\n1\n")
    with pytest.raises(ValueError, match="outside"):
        kcdc.read(bad)
    assert not (tmp_path.parent / "outside.txt").exists()


def test_older_single_upper_case_table(tmp_path):
    p = tmp_path / "kascade.txt"
    p.write_text(
        "   E     YC     XC    ZE     AZ    NE   NMU ESUMHAD NHAD    T      P         GT        MT    YMD    HMS     R      EV  AGE\n"
        " 15.31  -12.4   33.0  21.3  101.2  5.42  4.11   -1     -1  11.2  1003.1  838000000  123456  960722  134501  877  1001  1.01\n"
        " -1      4.0   -1.0  -1     -1     -1    -1    812.5   3   -1.0  1002.9  838000007  654321  960722  134508  877  1002  -1\n")
    df = kcdc.read(p)
    assert list(df.columns) == ["E", "Yc", "Xc", "Ze", "Az", "Ne", "Nmu", "Esumhad", "Nhad", "T", "P", "Gt",
                                "Mt", "Ymd", "Hms", "R", "Ev", "Age"]
    assert df["E"].isna().tolist() == [False, True] and df["Ne"].iloc[0] == pytest.approx(5.42)
    assert pd.isna(df["Nhad"].iloc[0]) and df["Nhad"].iloc[1] == 3 and pd.isna(df["Age"].iloc[1])
    assert df["Xc"].iloc[1] == -1.0 and df["T"].iloc[1] == -1.0  # -1 m and -1 degC are values
    assert df.attrs["units"]["Nmu"] == "log10(number)"


def test_this_hubs_request_zip_round_trips(tmp_path):
    rng = np.random.default_rng(1)
    n = 20
    df = pd.DataFrame({"E": rng.uniform(14, 18, n), "Ze": rng.uniform(0, 40, n).astype(np.float32),
                       "Gt": np.arange(n, dtype=np.int64) + 10**9, "Mt": rng.integers(0, 10**9, n).astype(np.int32),
                       "R": np.full(n, 5, dtype=np.int32), "Ev": np.arange(n, dtype=np.int64),
                       "primary": np.array(["p", "Fe"] * 10, dtype=object)})
    md = {"title": "simulated KASCADE", "simulated": True, "generator": "showersim",
          "request": {"cuts": [{"column": "E", "op": ">", "value": 14.0}]}}
    z = formats.write_request_zip(df, tmp_path / "request.zip", metadata=md)
    names = sorted(zipfile.ZipFile(z).namelist())
    assert names == ["Info.txt", "array.txt", "general.txt", "row_mapping.txt", "simulation.txt"]
    info = zipfile.ZipFile(z).read("Info.txt").decode()
    assert "SIMULATED" in info and "E > 14.0" in info
    mapping = zipfile.ZipFile(z).read("row_mapping.txt").decode().splitlines()
    assert mapping[0] == "general\tarray\tsimulation" and mapping[1] == "0\t0\t0"
    back = kcdc.read(z)
    for c in df.columns:
        assert back[c].tolist() == df[c].tolist(), c
        assert back[c].dtype == df[c].dtype or c == "primary", c


@pytest.mark.parametrize("suffix", [".h5", ".root"])
def test_hdf5_and_root_any_case_with_station_arrays(tmp_path, suffix):
    rng = np.random.default_rng(2)
    n = 6
    scalars = {"e": rng.uniform(14, 18, n), "ZE": rng.uniform(0, 40, n), "NMU": np.array([4.0, -1, 5, 5, 5, 5])}
    arrays = {"edeposit": rng.exponential(5, (n, formats.N_STATIONS)).astype(np.float32)}
    p = tmp_path / ("events" + suffix)
    (formats.write_hdf5 if suffix == ".h5" else formats.write_root)(scalars, p, arrays=arrays)
    df = kcdc.read(p)
    assert list(df.columns) == ["E", "Ze", "Nmu", "EDeposit"]
    assert pd.isna(df["Nmu"].iloc[1])
    assert formats.stack(df, "EDeposit").shape == (n, formats.N_STATIONS)
    np.testing.assert_array_equal(formats.stack(df, "EDeposit"), arrays["edeposit"])


def test_hdf5_with_one_group_per_component(tmp_path):
    import h5py

    p = tmp_path / "events.h5"
    with h5py.File(p, "w") as f:
        f["general/Ev"] = np.arange(3)
        f["array/Xc"] = np.array([1.0, 2.0, 3.0])
        f["grande/Xc"] = np.array([-100.0, -200.0, -300.0])
        f["grande/Nch"] = np.array([6.0, 6.5, 7.0])
    df = kcdc.read(p)
    assert set(df.columns) == {"Ev", "array_Xc", "grande_Xc", "Nch"}


def test_parquet_and_csv_of_this_hub(tmp_path):
    df = pd.DataFrame({"E": [15.0, 16.0], "Ev": [1, 2]})
    formats.write_parquet(df, tmp_path / "events.parquet")
    formats.write_csv(df, tmp_path / "events.csv")
    for name in ("events.parquet", "events.csv"):
        assert kcdc.read(tmp_path / name)["E"].tolist() == [15.0, 16.0]


def test_a_wrong_file_says_what_was_expected(tmp_path):
    for name, content in (("notes.txt", "dear diary\nnothing here\n"), ("image.png", b"\x89PNG\r\n\x1a\n...")):
        p = tmp_path / name
        p.write_bytes(content if isinstance(content, bytes) else content.encode())
        with pytest.raises(ValueError, match="request.zip.*events.h5"):
            kcdc.read(p)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no KCDC delivery"):
        kcdc.read(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="expected a KCDC delivery"):
        kcdc.read(tmp_path / "nope.zip")
