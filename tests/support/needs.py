"""What a test needs from the machine: a missing part of this project (Docker, the Swarm,
an image that `make setup` builds) fails the test with what to run, it never skips it."""

from __future__ import annotations

import shutil
import subprocess

import pytest


def docker_image(image: str, swarm: bool = False) -> None:
    if shutil.which("docker") is None:
        pytest.fail("Docker is not installed or not on PATH: run `make setup`")
    if swarm:
        state = subprocess.run(["docker", "info", "--format", "{{.Swarm.LocalNodeState}}"],
                               capture_output=True, text=True).stdout.strip()
        if state != "active":
            pytest.fail(f"the Swarm is not active ({state or 'no answer from dockerd'}): run `make setup`")
    if subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode != 0:
        pytest.fail(f"the image {image} is missing: run `make setup` (or `make images`)")
