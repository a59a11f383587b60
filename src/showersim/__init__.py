"""showersim: a parametric simulation of the KASCADE air-shower array that writes
open, honestly labelled *simulated* data sets in the KCDC layout.

Public API::

    showersim.generate_dataset(out_dir, events=, seed=, kind=, stations=, dataset_id=, ...)
    showersim.build_bundle(data_root, seed=)
    showersim.Simulation(Config(seed=...), events).chunks()
    showersim.stations(), showersim.station_grid(values)
    showersim.kcdc_energy(lg_ne, lg_nmu, ze_deg)
"""

from .version import __version__  # noqa: E402
from .layout import station_grid, stations, stations_json  # noqa: E402
from .physics import kcdc_energy  # noqa: E402
from .generator import Config, Simulation, MASS_GROUPS  # noqa: E402
from .dataset import build_bundle, generate_dataset, load_dataset, load_metadata  # noqa: E402

__all__ = [
    "__version__", "Config", "Simulation", "MASS_GROUPS", "build_bundle", "generate_dataset",
    "load_dataset", "load_metadata", "kcdc_energy", "station_grid", "stations", "stations_json",
]
