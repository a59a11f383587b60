"""The spectrum dashboard's flux: kcdc.spectrum's formula over the data shop's exposure."""

import numpy as np
import pandas as pd

from dashboards import spectrum

EXPOSURE = {"area_m2": 1e4, "solid_angle_sr": 0.5, "live_time_s": 1e6}


def test_the_flux_above_the_threshold_uses_the_data_shops_exposure(monkeypatch):
    energies = np.array([15.05, 15.15, 15.16, 15.31])  # lg(E/eV); 15.2-15.3 stays empty
    monkeypatch.setattr(spectrum.data, "selection", lambda shop, columns, cuts: pd.DataFrame({"E": energies}))
    monkeypatch.setattr(spectrum.data, "datashop", lambda shop: {"exposure": EXPOSURE})
    lg, flux, err, counts = spectrum.experiment_flux("kascade", 15.0, 0.1)
    assert list(counts) == [1, 2, 1] and np.allclose(lg, [15.05, 15.15, 15.35])
    width_gev = (10 ** 15.2 - 10 ** 15.1) / 1e9
    assert np.isclose(flux[1], 2 / (1e4 * 0.5 * 1e6 * width_gev))
    assert np.isclose(err[1], np.sqrt(2) / (1e4 * 0.5 * 1e6 * width_gev))
