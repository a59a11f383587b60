"""The directions dashboard puts a shower where the generator sent it from: one azimuth
convention (from the array's x axis towards y) in showersim and on the sky map."""

import numpy as np

from dashboards import directions
from showersim.kascade import simulate_stations
from showersim.layout import stations


def test_the_sky_map_shows_the_side_the_generators_shower_came_from():
    ze, az = 30.0, 60.0  # deg; not symmetric under swapping x and y or flipping a sign
    rng = np.random.default_rng(1)
    hits = simulate_stations(rng, np.zeros(1), np.zeros(1), np.radians([ze]), np.radians([az]),
                             np.array([6.5]), np.array([1.0]), np.array([5.0]))
    t = hits["Arrival"][0].astype(float)
    st = stations()
    use = np.isfinite(t)
    # The shower comes from the side hit first: the arrival time falls towards it.
    design = np.column_stack([np.ones(use.sum()), st["x"][use], st["y"][use]])
    (_, dt_dx, dt_dy), *_ = np.linalg.lstsq(design, t[use], rcond=None)
    towards_source = np.degrees(np.arctan2(-dt_dy, -dt_dx))
    assert abs(towards_source - az) < 3, towards_source

    radius, bins = 50.0, 41
    counts = directions.sky_counts(np.array([ze]), np.array([az]), bins=bins, radius=radius)
    row, col = np.argwhere(counts)[0]  # rows are y, columns x (bokeh's image)
    centres = np.linspace(-radius, radius, bins + 1)[:-1] + radius / bins
    x, y = centres[col], centres[row]
    assert abs(np.degrees(np.arctan2(y, x)) - towards_source) < 6
    assert abs(np.hypot(x, y) - ze) < 2 * radius / bins
