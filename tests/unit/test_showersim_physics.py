"""Physics of the generated KASCADE sets, analysed as a student would (KCDC energy
formula applied to the measured columns, exposure from datashop.json).

Event counts are chosen for the precision each assertion needs; the sets are
generated once per module (about 10 s on one core)."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from showersim import analysis, physics
from showersim.dataset import generate_dataset, load_dataset, load_metadata

REFERENCE = "/work/shared/reference/published_spectra.csv"
EMIN = 10**14.7  # raised threshold: every event is in or near the fully efficient range


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    # 3e6 measured-like events above 10^14.7 eV: ~6e5 events in the spectrum fit range
    # (lg E 15.1-16.9), which gives a statistical error on the knee position of ~0.02
    # and on the slope above the knee of ~0.01 (Hessian errors of the fit below).
    root = tmp_path_factory.mktemp("measured")
    path = generate_dataset(root, events=3_000_000, seed=11, kind="measured-like", emin_ev=EMIN,
                            rows_per_part=1_000_000)
    meta = load_metadata(path)
    df = load_dataset(path, columns=["E", "Ze", "Az", "Ne", "Nmu"])
    return df, meta


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    # 400k labelled events above 10^14.7 eV: >= 1000 events per mass group in the
    # bins used below, enough for means to ~0.01 dex.
    root = tmp_path_factory.mktemp("labelled")
    path = generate_dataset(root, events=400_000, seed=12, kind="simulation", emin_ev=EMIN)
    return load_dataset(path, columns=["E", "Ze", "Ne", "Nmu", "A", "lnA", "E_true", "primary"])


def test_energy_formula_recovers_true_energy_for_every_mass_group(labelled):
    d = labelled
    full = d["E_true"] > 15.2  # fully efficient: no trigger selection bias
    for group in ("p", "He", "CNO", "MgSi", "Fe"):
        m = full & (d["primary"] == group)
        bias = float((d["E"][m] - d["E_true"][m]).mean())
        # 0.02 dex: the calibration is exact by construction; what remains is the
        # weather (pressure +-10 hPa shifts depth by ~1%, ~0.01 dex in E) and statistics.
        assert abs(bias) < 0.02, (group, bias)


def test_all_particle_spectrum_has_the_knee(measured):
    df, meta = measured
    edges = np.arange(15.1, 16.9 + 1e-9, 0.1)
    fit = analysis.fit_broken_power_law(df["E"].to_numpy(), meta["exposure"], edges)
    # statistical precision is what the sample size was chosen for
    assert fit["knee_err"] < 0.04 and fit["gamma2_err"] < 0.03, fit
    # targets from the issue: knee at lg(E/eV) 15.5-15.75 (KASCADE refit 3.7 PeV = 15.57)
    assert 15.5 <= fit["knee"] <= 15.75, fit
    # "about 2.7" below: KASCADE refit 2.74, H3a over this range 2.79; allow +-0.15
    assert 2.6 <= fit["gamma1"] <= 2.9, fit
    # 3.0-3.2 above; the lower edge is widened by 2 sigma (0.02) because H3a itself
    # steepens to 3.04 only (refit of the true-energy spectrum over the same range)
    assert 2.98 <= fit["gamma2"] <= 3.2, fit
    assert fit["gamma2"] - fit["gamma1"] > 0.15, fit


def test_spectrum_agrees_with_published_kascade_points(measured):
    df, meta = measured
    ref = pd.read_csv(REFERENCE)
    ref = ref[ref["experiment"].str.startswith("KASCADE (QGSJet")]
    edges = np.arange(15.1, 17.0 + 1e-9, 0.1)
    lg, n, f, ferr = analysis.flux(df["E"].to_numpy(), meta["exposure"], edges)
    ratios = []
    for _, row in ref.iterrows():
        x = math.log10(row["E_GeV"]) + 9
        i = np.searchsorted(edges, x) - 1
        if not (0 <= i < len(n)) or n[i] < 100:
            continue
        sim = f[i] * 10 ** (-2.9 * (x - lg[i]))  # move from bin centre to the point's energy
        r = sim / row["flux_per_GeV_m2_s_sr"]
        rel_sys = row["sys_high"] / row["flux_per_GeV_m2_s_sr"]
        rel_stat = row["stat_high"] / row["flux_per_GeV_m2_s_sr"]
        # each point: within its systematic band plus 3 sigma of both statistics (or 25 %)
        tol = max(rel_sys, 0.25) + 3 * math.hypot(rel_stat, 1 / math.sqrt(n[i]))
        assert abs(r - 1) < tol, (x, r, tol)
        ratios.append(r)
    assert len(ratios) >= 10
    # overall normalisation: the H3a model and the KASCADE (QGSJet) unfolding agree to ~10 %
    assert 0.85 < np.mean(ratios) < 1.15, ratios


def test_azimuth_is_uniform(measured):
    df, _ = measured
    az = np.radians(df["Az"].to_numpy(float))
    # Rayleigh test: amplitude sqrt(C^2+S^2)/N; chance probability exp(-N r^2). With
    # 3e6 events an anisotropy of 2e-3 would have p < 1e-5; require p > 1e-3.
    r = math.hypot(np.cos(az).sum(), np.sin(az).sum()) / len(az)
    assert math.exp(-len(az) * r * r) > 1e-3, r
    assert stats.kstest(az[:500_000] / (2 * np.pi), "uniform").pvalue > 1e-3


def test_zenith_follows_flat_array_acceptance(measured):
    df, meta = measured
    ze = df["Ze"].to_numpy(float)
    e = df["E"].to_numpy(float)
    # flat array: dN ~ sin(Ze) cos(Ze) dZe, i.e. sin^2(Ze) uniform. Above full trigger
    # efficiency (lg E > 15.1) and away from the smeared edge at the generated
    # 40 deg (direction resolution up to 1.5 deg): Ze < 35 deg.
    m = (e > 15.1) & (ze < 35)
    s2 = np.sin(np.radians(ze[m])) ** 2 / math.sin(math.radians(35)) ** 2
    assert stats.kstest(s2[:300_000], "uniform").pvalue > 1e-3
    assert meta["exposure"]["zenith_max_deg"] == 40
    # the (projected) solid angle in the metadata is the flat-array one
    assert meta["exposure"]["solid_angle_sr"] == pytest.approx(math.pi * math.sin(math.radians(40)) ** 2)


def test_electron_size_attenuation_length(measured):
    df, _ = measured
    lam, per_intensity = analysis.cic_attenuation(df["Ne"].to_numpy(float), df["Ze"].to_numpy(float),
                                                  intensities=[1e-2, 3e-3, 1e-3])
    # KASCADE: 175-196 g/cm^2 (Antoni et al. 2003). Our CIC estimate scatters by
    # ~+-5 g/cm^2 between intensities (resolution and statistics), so allow 5 g/cm^2
    # either side of the published range.
    assert 170 <= lam <= 201, per_intensity
    for _, lam_i in per_intensity:
        assert 165 <= lam_i <= 206, per_intensity


def test_proton_and_iron_separate_in_the_size_plane(labelled):
    d = labelled
    m = (d["E_true"] > 15.2) & (d["Ne"] > 4.8) & (d["Ne"] < 5.6) & (d["Ze"] < 25)
    p, fe = m & (d["A"] == 1), m & (d["A"] == 56)
    # compare lg Nmu at the same lg Ne: residuals from one common straight line
    slope, icpt = np.polyfit(d["Ne"][m], d["Nmu"][m], 1)
    rp = d["Nmu"][p] - (slope * d["Ne"][p] + icpt)
    rfe = d["Nmu"][fe] - (slope * d["Ne"][fe] + icpt)
    gap = rfe.mean() - rp.mean()
    # KASCADE simulations: iron has ~0.3-0.5 dex more muons than protons at equal Ne
    assert 0.3 < gap < 0.6, gap
    # and the two populations are separated by more than their widths (> 1.5 sigma each)
    assert gap > 1.5 * math.hypot(rp.std(), rfe.std()), (gap, rp.std(), rfe.std())


def test_mean_log_mass_rises_through_the_knee(labelled, measured):
    d = labelled
    below = d["lnA"][(d["E"] > 15.0) & (d["E"] < 15.3)].mean()
    above = d["lnA"][(d["E"] > 16.0) & (d["E"] < 16.5)].mean()
    # H3a: <lnA> ~1.7 at 1-2 PeV rising to ~2.5 at 10-30 PeV (cf. <lnA> 0.9-1.0 at 3-5 PeV
    # and ~2.5 at 50-90 PeV from Tunka, Kuznetsov et al. 2023, with model spread)
    assert 1.3 < below < 2.1 and above - below > 0.5, (below, above)
    # the same rise seen without truth, from the muon/electron ratio of the measured-like set
    df, _ = measured
    e = df["E"].to_numpy(float)
    est = analysis.lnA_from_sizes(df["Ne"].to_numpy(float), df["Nmu"].to_numpy(float), df["Ze"].to_numpy(float))
    lo, hi = est[(e > 15.0) & (e < 15.3)].mean(), est[(e > 16.0) & (e < 16.5)].mean()
    assert hi - lo > 0.5, (lo, hi)


def test_calibration_constants_reproduce_the_formula():
    # the three constraints of physics.py hold exactly
    assert physics.C_NE * physics.B_E + physics.C_NMU * physics.BETA == pytest.approx(1.0)
    assert physics.C_NE * physics.D_E + physics.C_NMU * physics.D_MU == pytest.approx(0.0)
    assert physics.C_NE * physics.A_E + physics.C_NMU * physics.A_MU == pytest.approx(physics.C_SEC)
    for lg_e in (15.0, 16.0, 17.0):
        for a in (1, 56):
            for ze in (0.0, 30.0):
                x = physics.X_VERTICAL / math.cos(math.radians(ze))
                ne, nmu = physics.mean_sizes(lg_e, math.log10(a), x)
                assert physics.kcdc_energy(ne, nmu, ze) == pytest.approx(lg_e, abs=1e-9)
