"""Parametric air-shower physics for the KASCADE array (no shower-by-shower MC).

Every number below names its source. Where the source is a fit or figure read
approximately, the comment says so. The central design decision:

*The KCDC energy formula* (REFERENCE_VALUES.md; reproduces KCDC's E to ~0.03 dex)

    lg(E/GeV) = 0.313 lg Ne + 0.666 lg Nmu + 1.24 / cos(Ze) + 0.580

must return the true energy on average for every mass group and zenith
angle. That fixes three combinations of our parameters exactly:

1. energy slope: 0.313 * b_e + 0.666 * beta = 1, with beta = 0.9 from the
   Heitler-Matthews muon scaling Nmu ~ A^(1-beta) E^beta (Matthews,
   Astropart. Phys. 22 (2005) 387; REFERENCE_VALUES.md) -> b_e = 1.280
   (CORSIKA/QGSJet for KASCADE gives lg Ne ~ 1.22-1.28 lg E: compilation of
   KASCADE parametrisations, E. Tressler / CHICOS, "KASCADE LDF" page).
2. mass independence: 0.313 * dlgNe(A) + 0.666 * dlgNmu(A) = 0 with
   dlgNmu(A) = (1-beta) lg A (Heitler-Matthews) -> dlgNe(A) = -2.13 (1-beta) lg A,
   i.e. iron has 0.37 dex fewer electrons and 0.17 dex more muons than a proton
   of the same energy (the size of the p/Fe separation in KASCADE simulations,
   Antoni et al., Astropart. Phys. 24 (2005) 1, Fig. 1-2, read approximately).
3. zenith: 0.313 * a_e + 0.666 * a_mu = 1.24 where a = X0 lg(e) / Lambda is the
   decrease of lg N per unit of sec(Ze). With the electron-size attenuation
   length Lambda_e = 183 g/cm^2 (inside the KASCADE range 175-196 g/cm^2:
   Antoni et al., Astropart. Phys. 19 (2003) 703) this gives an *effective*
   attenuation length of the truncated muon number Lambda_mu ~ 620 g/cm^2.
   Note: KASCADE-Grande measured 1256 +- 85 g/cm^2 for its total muon number
   at 10^16.3-10^17 eV (arXiv:1801.05513); the KCDC formula's zenith term
   implies a faster apparent decrease for KASCADE's truncated muon number
   (40-200 m, with zenith-dependent truncation effects). We reproduce the
   formula, so E is unbiased at every zenith angle; this is stated in the
   data-set metadata.

One anchor sets the absolute scale: a vertical 4 PeV proton has lg Ne = 5.75
(the knee of the KASCADE shower-size spectrum lies at lg Ne ~ 5.6-5.8 for
near-vertical showers: Antoni et al., Astropart. Phys. 24 (2005) 1;
Glasstetter et al., ICRC 1999). lg Nmu follows from the formula.
"""

from __future__ import annotations

import math

import numpy as np

# --------------------------------------------------------------------------- constants
LG_E = math.log10(math.e)

#: KCDC energy formula coefficients (REFERENCE_VALUES.md)
C_NE, C_NMU, C_SEC, C_0 = 0.313, 0.666, 1.24, 0.580

#: vertical atmospheric depth at KASCADE, 110 m a.s.l. (REFERENCE_VALUES.md)
X_VERTICAL = 1022.0  # g/cm^2
#: mean air pressure at KASCADE used to scale the depth with the weather (hPa);
#: standard barometric value at 110 m a.s.l. (1013.25 hPa * exp(-110/8400))
P_MEAN_HPA = 1000.1

#: Heitler-Matthews muon exponent (Matthews 2005; REFERENCE_VALUES.md)
BETA = 0.9
#: electron-size attenuation length (KASCADE 175-196 g/cm^2, Antoni et al. 2003)
LAMBDA_E = 183.0

#: per-unit-sec(Ze) decrements of lg Ne and lg Nmu (see module docstring, item 3)
A_E = X_VERTICAL * LG_E / LAMBDA_E
A_MU = (C_SEC - C_NE * A_E) / C_NMU
LAMBDA_MU = X_VERTICAL * LG_E / A_MU  # ~ 620 g/cm^2, effective
#: energy slope of lg Ne (item 1)
B_E = (1.0 - C_NMU * BETA) / C_NE
#: mass terms per lg A (item 2)
D_MU = 1.0 - BETA
D_E = -C_NMU / C_NE * D_MU

#: anchor: vertical proton, lg(E/GeV) = 6.6 (4 PeV), lg Ne = 5.75
LGE_REF_GEV = 6.6
LGNE_REF_P = 5.75
LGNMU_REF_P = (LGE_REF_GEV - C_0 - C_SEC - C_NE * LGNE_REF_P) / C_NMU


def kcdc_energy(lg_ne, lg_nmu, ze_deg):
    """The KCDC energy formula: lg(E/eV) from lg Ne, lg Nmu and zenith (deg)."""
    lg_ne, lg_nmu, ze = np.asarray(lg_ne), np.asarray(lg_nmu), np.asarray(ze_deg)
    return (C_NE * lg_ne + C_NMU * lg_nmu + C_SEC / np.cos(np.radians(ze)) + C_0 + 9.0)


def mean_sizes(lg_e_ev, lg_a, depth_g_cm2):
    """Mean lg Ne and lg Nmu at ground for primary energy lg(E/eV), mass lg A and
    slant depth (g/cm^2). The slant depth enters through the attenuation lengths
    LAMBDA_E and LAMBDA_MU relative to the vertical depth X_VERTICAL."""
    x = np.asarray(lg_e_ev) - 9.0 - LGE_REF_GEV
    excess = np.asarray(depth_g_cm2) - X_VERTICAL
    lg_ne = LGNE_REF_P + B_E * x + D_E * lg_a - excess * LG_E / LAMBDA_E
    lg_nmu = LGNMU_REF_P + BETA * x + D_MU * lg_a - excess * LG_E / LAMBDA_MU
    return lg_ne, lg_nmu


# --------------------------------------------------------------------------- fluctuations
# Shower-to-shower fluctuations (Gaussian in lg N, zero mean so the energy
# formula stays unbiased on average). Light primaries fluctuate most: the
# first interaction point and Xmax fluctuate ~3x more for protons than for iron
# (sigma(Xmax) ~ 60-70 vs ~20 g/cm^2), and lg Ne at KASCADE depth follows Xmax.
# Widths read approximately from KASCADE CORSIKA simulations (Antoni et al.,
# Astropart. Phys. 24 (2005) 1, Figs. 1-2; Antoni et al., Astropart. Phys. 16
# (2002) 245): sigma(lg Ne) ~ 0.20 (p) .. 0.06 (Fe), sigma(lg Nmu^tr) ~ 0.10 (p)
# .. 0.04 (Fe) around the knee; linear in ln A between. The widths shrink
# slowly with energy (~ -0.02 per decade, same sources) -- included.
SIG_NE_P, SIG_NE_FE = 0.20, 0.06
SIG_NMU_P, SIG_NMU_FE = 0.10, 0.04
SIG_DLOG = -0.02  # per decade of energy, relative to 4 PeV, applied as a factor (1 + SIG_DLOG*x/sig)
LN56 = math.log(56.0)


def fluctuation_widths(ln_a, lg_e_ev):
    f = np.clip(np.asarray(ln_a) / LN56, 0.0, 1.0)
    x = np.asarray(lg_e_ev) - 9.0 - LGE_REF_GEV
    s_e = SIG_NE_P + (SIG_NE_FE - SIG_NE_P) * f + SIG_DLOG * x
    s_mu = SIG_NMU_P + (SIG_NMU_FE - SIG_NMU_P) * f + 0.5 * SIG_DLOG * x
    return np.clip(s_e, 0.03, 0.35), np.clip(s_mu, 0.02, 0.2)


# --------------------------------------------------------------------------- shower age
# Mean NKG age with the KASCADE scale radius (r0 ~ 30 m for electrons,
# astro-ph/0004233 = Antoni et al., Astropart. Phys. 14 (2001) 245): older
# (larger s) for heavier primaries and more inclined showers, younger for
# larger showers. Approximate linear description of KASCADE's age
# distributions (values 0.6-1.2 around the knee; KCDC range 0.1-1.48).
AGE_0, AGE_SEC, AGE_LNA, AGE_LGNE, AGE_SIGMA = 0.82, 0.45, 0.035, -0.05, 0.05


def mean_age(lg_ne_true, sec_ze, ln_a):
    return AGE_0 + AGE_SEC * (sec_ze - 1.0) + AGE_LNA * ln_a + AGE_LGNE * (lg_ne_true - 5.0)


# --------------------------------------------------------------------------- detector
# Reconstruction resolution of the KASCADE array vs shower size (Antoni et al.,
# NIM A 513 (2003) 490, section on reconstruction accuracy; values read
# approximately): core ~5 m at lg Ne 3 to < 1 m at lg Ne 6-7; direction ~1.5 deg
# to ~0.15 deg; lg Ne ~0.15 to ~0.03; lg Nmu^tr ~0.25 at lg Nmu 2 to 0.04 at 6
# (Poisson statistics of the ~620 m^2 of muon detectors dominate); Age ~0.05.
_RES_LGNE_NODES = np.array([3.0, 4.0, 5.0, 6.0, 7.0])
_RES_CORE_M = np.array([5.0, 2.5, 1.5, 1.0, 0.8])
_RES_DIR_DEG = np.array([1.5, 0.8, 0.4, 0.2, 0.15])
_RES_LGNE = np.array([0.15, 0.08, 0.05, 0.035, 0.03])
_RES_LGNMU_NODES = np.array([2.0, 3.0, 4.0, 5.0, 6.0])
_RES_LGNMU = np.array([0.25, 0.13, 0.07, 0.05, 0.04])
RES_AGE = 0.05


def resolution(lg_ne, lg_nmu):
    """(sigma_core_m, sigma_dir_deg, sigma_lgNe, sigma_lgNmu) for measured sizes."""
    return (np.interp(lg_ne, _RES_LGNE_NODES, _RES_CORE_M),
            np.interp(lg_ne, _RES_LGNE_NODES, _RES_DIR_DEG),
            np.interp(lg_ne, _RES_LGNE_NODES, _RES_LGNE),
            np.interp(lg_nmu, _RES_LGNMU_NODES, _RES_LGNMU))


# Trigger and reconstruction efficiency: KASCADE reaches full efficiency for
# lg Ne >~ 4 (threshold energy ~ 10^14.7-10^15 eV depending on mass; Antoni et
# al. 2003 NIM A 513, Antoni et al. 2005 Astropart. Phys. 24 1). Modelled as an
# error function in the true lg Ne at ground, 50 % at 3.4, width 0.2.
EFF_LGNE50, EFF_WIDTH = 3.4, 0.2


def efficiency(lg_ne_true):
    from scipy.special import ndtr

    return ndtr((np.asarray(lg_ne_true) - EFF_LGNE50) / EFF_WIDTH)


# --------------------------------------------------------------------------- lateral distributions
# NKG lateral function (Kamata & Nishimura 1958; Greisen 1960):
#   rho(r) = N c(s) / r0^2 (r/r0)^(s-2) (1 + r/r0)^(s-4.5),
#   c(s) = Gamma(4.5-s) / (2 pi Gamma(s) Gamma(4.5-2s)).
# Electrons: r0 = 30 m at KASCADE (astro-ph/0004233; REFERENCE_VALUES.md).
# Muons: NKG form with r0 = 420 m and s_mu = 1.71 - 0.094 lg Nmu (KASCADE muon
# lateral fits as compiled on the CHICOS "KASCADE LDF" page), which reproduces
# the flat muon LDF over 40-200 m.
R0_E = 30.0
R0_MU = 420.0
TRUNC_MIN_M, TRUNC_MAX_M = 40.0, 200.0  # KASCADE truncated muon number range


def nkg_norm(s):
    from scipy.special import gammaln

    s = np.asarray(s, dtype=float)
    return np.exp(gammaln(4.5 - s) - gammaln(s) - gammaln(4.5 - 2.0 * s)) / (2.0 * np.pi)


def nkg_density(r, n, s, r0):
    """NKG particle density (per m^2 perpendicular to the axis)."""
    r = np.maximum(np.asarray(r, dtype=float), 0.5)  # avoid the integrable r -> 0 pole
    u = r / r0
    s = np.asarray(s, dtype=float)
    return n * nkg_norm(s) / r0**2 * u ** (s - 2.0) * (1.0 + u) ** (s - 4.5)


def muon_age(lg_nmu):
    return np.clip(1.71 - 0.094 * np.asarray(lg_nmu), 1.0, 1.6)


def _truncated_fraction_table():
    from scipy.integrate import quad

    ss = np.linspace(1.0, 1.6, 61)
    fr = []
    for s in ss:
        f = lambda r: 2 * np.pi * r * nkg_density(r, 1.0, s, R0_MU)  # noqa: E731
        fr.append(quad(f, TRUNC_MIN_M, TRUNC_MAX_M)[0])
    return ss, np.array(fr)


_TF = None


def truncated_fraction(s_mu):
    """Fraction of all muons (NKG, r0 = 420 m) that fall within 40-200 m."""
    global _TF
    if _TF is None:
        _TF = _truncated_fraction_table()
    return np.interp(s_mu, *_TF)


# Energy deposits: a minimum-ionising particle deposits ~8 MeV in the 4 cm
# liquid scintillator of an e/gamma detector and ~6 MeV in the 3 cm plastic of a
# muon detector (dE/dx ~ 2 MeV/cm; detector thicknesses from Antoni et al. NIM A
# 513 (2003) 490). The per-particle spread (Landau tail, path-length and photon
# conversions) is modelled as a Gamma distribution with shape 4 (~50 % rms):
# a sum of k particles is then Gamma(4k).
MEV_PER_EG, MEV_PER_MU, DEPOSIT_SHAPE = 8.0, 6.0, 4.0

# Timing: plane front plus curvature delay r^2 / (2 R c) with R ~ 2 km and a
# shower-disc thickness growing with distance (sigma ~ 1.5 ns + r / 40 m ns)
# reduced by the number of particles that can start the timer, plus 1 ns
# electronics jitter (KASCADE timing resolution ~ 1 ns; front curvature and
# thickness: Antoni et al. NIM A 513 (2003) 490 and Agnetta et al. Astropart.
# Phys. 6 (1997) 301, values rounded).
C_M_PER_NS = 0.299792458
FRONT_RADIUS_M = 2000.0
T_JITTER_NS = 1.0
