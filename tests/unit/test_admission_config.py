"""The line of starts in the hub's configuration (bare traitlets Config)."""

import pytest
from traitlets.config import Config

from astrohub.config import apply
from astrohub.settings import SettingsError, load


def configured(**env):
    environ = {f"ASTROHUB_{k.upper()}": v for k, v in env.items()}
    return apply(load(environ, secrets_dir="/nonexistent"), Config())


def test_sixty_students_asking_at_once_all_wait_their_turn_instead_of_429():
    c = configured()
    limit = c.JupyterHub.concurrent_spawn_limit
    assert limit == 0 or limit >= 60


def test_the_time_in_line_does_not_count_against_the_start_timeout():
    c = configured(start_timeout="120")
    s = c.AstroSwarmSpawner
    # The spawner limits the start from its turn; the hub's limit is only a backstop
    # far beyond sixty starts of 120 s served two at a time.
    assert s.admitted_start_timeout == 120
    assert s.start_timeout >= 60 / 2 * 120


def test_concurrent_starts_default_to_the_nodes_cores_and_can_be_set():
    assert configured().AstroSwarmSpawner.concurrent_starts == 0
    assert configured(concurrent_starts="4").AstroSwarmSpawner.concurrent_starts == 4


def test_a_negative_number_of_starts_is_refused_with_the_fix():
    with pytest.raises(SettingsError, match="ASTROHUB_CONCURRENT_STARTS='-1' is invalid: use a whole number of at least 0"):
        configured(concurrent_starts="-1")


def test_the_stock_spawner_baseline_keeps_the_hubs_own_limits():
    c = configured(spawner="stock", start_timeout="120")
    assert c.SwarmSpawner.start_timeout == 120
    assert "concurrent_spawn_limit" not in c.JupyterHub
