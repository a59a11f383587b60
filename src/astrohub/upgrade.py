"""`astrohub upgrade`: from the release that runs to the release of this checkout.

1. a backup of everything (astrohub.backup) into the backup repository, so that a
   failed upgrade can be rolled back;
2. the new release's images, built (tagged with the release: ``settings.VERSION``);
3. the hub stopped (its service scaled to 0: nothing writes its database) and its
   database migrated by the new hub image (``jupyterhub upgrade-db``; for SQLite
   JupyterHub also keeps a copy of the file beside it);
4. the stack deployed with the new release; the hub comes back with its users,
   tokens and auth state.

Running servers are left running until they are culled or their users stop them:
the hub's restart does not stop them (``cleanup_servers`` is off), and the next
start of each uses the new user image. Except when the new release remakes the
user network (0.1.0 -> 0.2.0: it became internal, issue 19): Docker cannot change a
network that containers use, so the whole stack is removed first and running servers
stop; the upgrade says so before it starts and names them. Their files are in the
homes, which are volumes and are never touched.

Rollback (tested in tests/e2e/test_upgrade.py): with the previous release's checkout
(``git checkout <previous tag or commit>``), ``astrohub down``, then
``astrohub restore --skip-homes --snapshot <id printed by the upgrade> <repository>``,
then ``astrohub up``: databases, courses and the state come back as they were before
the upgrade; homes keep the students' work since then.
"""

from __future__ import annotations

import json

from . import backup, courses, images
from .deploy import DeployError, Stack, docker


def running_release(stack: Stack) -> str | None:
    """The image tag of the hub that runs now (None: the stack is not deployed)."""
    r = docker("service", "inspect", f"{stack.name}_hub", "--format", "{{json .Spec.TaskTemplate.ContainerSpec.Image}}",
               check=False)
    if r.returncode != 0:
        return None
    image = json.loads(r.stdout).split("@")[0]
    return image.rsplit(":", 1)[-1]


def migrate_hub_database(stack: Stack, tag: str) -> str:
    """Run the new hub image's ``jupyterhub upgrade-db`` on the hub's volume; its output."""
    if not stack.settings.db_url.startswith("sqlite:////srv/jupyterhub/"):
        raise DeployError("the hub's database is not the default SQLite file on its volume: migrate it with "
                          f"`jupyterhub upgrade-db --JupyterHub.db_url=...` of astrohub/hub:{tag} yourself")
    r = docker("run", "--rm", "-v", f"{stack.name}_hub-data:/srv/jupyterhub", "-w", "/srv/jupyterhub",
               f"{stack.settings.image_prefix}astrohub/hub:{tag}",
               "jupyterhub", "upgrade-db", f"--JupyterHub.db_url={stack.settings.db_url}")
    return r.stdout + r.stderr


def upgrade(stack: Stack, repository: str, build: bool = True) -> dict:
    """Back up, build, migrate, deploy; returns what was done (for the operator and the tests)."""
    before = running_release(stack)
    if before is None:
        raise DeployError(f"stack {stack.name} is not deployed: `astrohub up` starts it (nothing to upgrade)")
    target = stack.settings.image_tag
    manifest = backup.backup(stack, repository, progress=False)
    snapshot = backup.latest_snapshot(stack, repository)
    if build:
        images.build(stack.root, target, courses=courses.course_ids(stack.settings))
    stopped = []
    try:
        stack.check_user_network()
        docker("service", "scale", "--detach=false", f"{stack.name}_hub=0")
    except DeployError:
        # The network must be made anew: every server on it stops with the stack.
        stopped = [s.removeprefix(f"{stack.name}-user-") for s in stack.user_services()]
        print(f"this release makes the user network anew: stopping the stack and the running servers "
              f"({', '.join(stopped) or 'none'}); homes stay", flush=True)
        stack.remove()
    migrated = migrate_hub_database(stack, target)
    stack.ensure_secrets()
    stack.deploy()
    # A redeploy leaves a service's replica count as it was: the hub must come back.
    docker("service", "scale", "--detach=true", f"{stack.name}_hub=1")
    took = stack.wait_until_ready()
    return {"from": before, "to": target, "snapshot": snapshot, "backup": manifest, "migration": migrated,
            "ready_after": took, "stopped": stopped}
