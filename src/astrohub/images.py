"""Build the astrohub images, online (registry base) or offline (debootstrap base).

Order matters: the Debian base, then astrohub/python (the pinned science stack,
built once), then the thin images FROM it. Docker's layer cache makes a rebuild
of unchanged images take seconds, so `astrohub up` always runs the builds.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from .settings import operator_variable

BASE_IMAGE = "debian:bookworm-slim"
# name -> Dockerfile folder; in build order.
IMAGES = ("python", "hub", "proxy", "edge", "egress", "singleuser", "datacentre", "dashboards", "ngshare", "formgrader")
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


class BuildError(RuntimeError):
    pass


def docker_for_builds() -> str:
    """A docker client that can do BuildKit builds (needed for --secret).

    Docker CE ships the buildx plugin; Debian's docker.io client has BuildKit
    built in. A newer client without buildx refuses DOCKER_BUILDKIT=1.
    """
    override = operator_variable("ASTROHUB_DOCKER_BUILD_CLIENT")
    if override:
        return override
    docker = shutil.which("docker") or "docker"
    has_buildx = subprocess.run([docker, "buildx", "version"], capture_output=True).returncode == 0
    if not has_buildx and Path("/usr/bin/docker").exists():
        return "/usr/bin/docker"
    return docker


def image_exists(ref: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", ref], capture_output=True).returncode == 0


def ensure_base(root: Path) -> None:
    if image_exists(BASE_IMAGE):
        return
    pulled = subprocess.run(["docker", "pull", BASE_IMAGE], capture_output=True).returncode == 0
    if not pulled:
        # No registry reachable: make the same base from the Debian mirror.
        subprocess.run(["sh", str(root / "images/base/make-base.sh"), BASE_IMAGE], check=True)


def course_images(courses) -> tuple[str, ...]:
    """The formgrader image of each course (``formgrader-<course>``): only that course's sources."""
    return tuple(f"formgrader-{course}" for course in courses)


def build(root: Path, tag: str, names: tuple[str, ...] = IMAGES, quiet: bool = True, courses=()) -> None:
    """Build ``names``, then one formgrader image per course id in ``courses``."""
    ensure_base(root)
    jobs = [(name, name, []) for name in names]
    jobs += [(image, "formgrader", ["--build-arg", f"COURSE={course}"])
             for image, course in zip(course_images(courses), courses)]
    client = docker_for_builds()
    env = dict(os.environ, DOCKER_BUILDKIT="1")
    for name, folder, args in jobs:
        ref = f"astrohub/{name}:{tag}"
        # The Dockerfile goes on stdin: BuildKit of Docker 20.10 takes one Dockerfile for
        # another when both have the same size and time (a fresh clone gives all files one
        # time), and builds the wrong image under the right name (moby/buildkit#1368).
        cmd = [client, "build", "--progress=plain", "-t", ref, "--build-arg", f"TAG={tag}", *args, "-f", "-"]
        # The CA bundle lets pip inside the build through a TLS-intercepting proxy.
        if Path(CA_BUNDLE).exists():
            cmd += ["--secret", f"id=ca_bundle,src={CA_BUNDLE}"]
        cmd.append(str(root))
        print(f"building {ref}", flush=True)
        dockerfile = (root / "images" / folder / "Dockerfile").read_text()
        result = subprocess.run(cmd, env=env, capture_output=quiet, text=True, input=dockerfile)
        if result.returncode != 0:
            if quiet:
                sys.stderr.write(result.stdout[-6000:] + result.stderr[-6000:])
            raise BuildError(f"building {ref} failed (see the build output above)")


def push(tag: str, registry: str, names: tuple[str, ...] | None = None,
         push_to: str | None = None, docker_config: Path | None = None) -> None:
    """Tag the images as ``<registry>/astrohub/<name>:<tag>`` and push them there.

    Every node of the Swarm pulls them by that name. The default: what the stack
    runs, all images but the build-only astrohub/python (its layers go along with
    the images built FROM it). ``push_to``: where the pushes go when that is not
    where nodes pull (the machine's registry takes pushes on its own port);
    ``docker_config``: a DOCKER_CONFIG folder with the login for it.
    """
    env = dict(os.environ, DOCKER_CONFIG=str(docker_config)) if docker_config else None
    for name in names or tuple(n for n in IMAGES if n != "python"):
        ref = f"{registry}/astrohub/{name}:{tag}"
        target = f"{push_to}/astrohub/{name}:{tag}" if push_to else ref
        for r in {ref, target}:
            subprocess.run(["docker", "tag", f"astrohub/{name}:{tag}", r], check=True)
        print(f"pushing {target}", flush=True)
        result = subprocess.run(["docker", "push", target], capture_output=True, text=True, env=env)
        if result.returncode != 0:
            raise BuildError(f"pushing {target} failed: {(result.stderr or result.stdout).strip()[-2000:]}")


def docker_config(folder: Path, logins) -> Path:
    """A DOCKER_CONFIG folder (mode 0700) whose config.json holds these logins (``.server``, ``.user``, ``.password``).

    Written for one command's environment, so the operator's ~/.docker keeps no password."""
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    auths = {login.server: {"auth": base64.b64encode(f"{login.user}:{login.password}".encode()).decode()}
             for login in logins}
    path = folder / "config.json"
    path.write_text(json.dumps({"auths": auths}, indent=1) + "\n")
    os.chmod(path, 0o600)
    return folder
