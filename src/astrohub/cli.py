"""The `astrohub` command: bring the hub up and down, and operate it.

    astrohub up            build what is missing, deploy the stack, print where to log in
    astrohub down          remove the stack (user homes, hub database and secrets stay)
    astrohub status        the stack's services and the hub's answer
    astrohub stack-file    write the compose file rendered from the topology (src/astrohub/topology.py), print its path
    astrohub health        run a notebook as a temporary user: does the live hub work?
    astrohub settings-doc  write docs/configuration.md from the settings schema
    astrohub ca-cert       print the root certificate of the edge's local CA (to trust it)
    astrohub users import ROSTER.csv  create a class's accounts (native login), print one-time passwords
    astrohub node add|remove NAME     a worker node in a container on this machine (src/astrohub/nodes.py)
    astrohub registry up   deploy the machine's own image registry (TLS, logins); `down` removes it
    astrohub backup DEST   a snapshot of homes, courses, databases, secrets (src/astrohub/backup.py)
    astrohub backup --verify DEST   read the repository back and check it
    astrohub restore SRC   everything back before `astrohub up`, on an empty machine
    astrohub upgrade       back up, build, migrate the hub's database, deploy this release
    astrohub --version     the release of this checkout
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import courses, edge, images, nodes, registry, roster, settings, topology
from .deploy import DeployError, docker, operator_stack


def cmd_up(args) -> int:
    stack = operator_stack()
    stack.ensure_swarm()
    if not args.no_build:
        images.build(stack.root, stack.settings.image_tag, courses=courses.course_ids(stack.settings))
    if stack.settings.registry:
        # Every node pulls the images from there (its own registry is deployed first);
        # the machine's registry gives the pull login that the hub and the stack use.
        stack_images = tuple(n for n in images.IMAGES if n != "python")
        stack.settings = registry.publish(stack.root, stack.settings,
                                          stack_images + images.course_images(courses.course_ids(stack.settings)))
    stack.ensure_secrets()
    passwords = stack.write_admin_passwords() if stack.settings.authenticator == "native" else None
    stack.deploy()
    print(f"stack {stack.name} deployed; waiting for the hub ...", flush=True)
    took = stack.wait_until_ready()
    print(f"\nThe hub answers after {took:.0f} s.")
    print(f"  Log in at:  {stack.settings.public_url}/hub/login")
    if edge.tls_mode(stack.settings) == "internal":
        print("  Local CA:   browsers warn until they trust its root: .venv/bin/astrohub ca-cert > astrohub-ca.crt")
    if stack.settings.authenticator == "native":
        # Not the password itself: terminals are logged, shared and scrolled back.
        print(f"  Admins:     {', '.join(stack.settings.admin_users) or '(none)'}")
        print(f"  Passwords:  in {passwords} (mode 0600, one `name password` a line)")
    return 0


def cmd_down(args) -> int:
    stack = operator_stack()
    stack.remove()
    print(f"stack {stack.name} removed; user homes, the hub database and the secrets are kept")
    return 0


def cmd_status(args) -> int:
    stack = operator_stack()
    print(stack.logs(tail=0) if not args.logs else stack.logs())
    why = stack.certificate_problem()
    print(f"edge: {why}" if why else f"edge: https ({edge.tls_mode(stack.settings)} certificate)")
    return 0


def cmd_stack_file(args) -> int:
    # Secrets are not needed to render, nor made: the file shows what `astrohub up` deploys.
    stack = operator_stack()
    stack.state_dir.mkdir(parents=True, exist_ok=True)
    print(stack.write_stack_file())
    return 0


def cmd_ca_cert(args) -> int:
    stack = operator_stack()
    if edge.tls_mode(stack.settings) != "internal":
        raise DeployError("this stack has no local CA: its certificate comes from ACME or from the operator")
    print(stack.root_certificate(timeout=args.timeout), end="")
    return 0


def cmd_health(args) -> int:
    from . import health

    stack = operator_stack()
    token = stack.secret_value("ops_token")
    if not token:
        raise DeployError(f"no ops token in {stack.state_dir}: run on the machine that ran `astrohub up`")
    hub = stack.hub_client(timeout=60)
    volume = topology.home_volume(stack.settings)

    def remove_home(user: str) -> None:
        # Swarm removes the stopped container a moment after the service: retry.
        name = volume.replace("{username}", user)
        for _ in range(60):
            if docker("volume", "rm", "-f", name, check=False).returncode == 0:
                return
            time.sleep(0.5)
        docker("volume", "rm", "-f", name)

    return 0 if health.check(hub, remove_home) else 1


def cmd_backup(args) -> int:
    from . import backup

    stack = operator_stack()
    if args.verify:
        manifest = backup.verify(stack, args.dest)
        print(f"backup of {manifest['stack']} from {manifest['created']} is intact: "
              f"{len(manifest['volumes'])} volumes, {len(manifest['databases'])} databases, "
              f"{len(manifest['state'])} state files")
        return 0
    t0 = time.monotonic()
    manifest = backup.backup(stack, args.dest, progress=sys.stdout.isatty())
    size = sum(v["bytes"] for v in manifest["volumes"].values())
    print(f"backed up {stack.name}: {len(manifest['volumes'])} volumes ({size / 1e6:.1f} MB), "
          f"{len(manifest['databases'])} databases, {len(manifest['state'])} state files in "
          f"{time.monotonic() - t0:.1f} s to {args.dest}")
    if args.keep_daily:
        backup.forget(stack, args.dest, args.keep_daily, args.keep_weekly, args.keep_monthly)
        print(f"kept {args.keep_daily} daily, {args.keep_weekly} weekly, {args.keep_monthly} monthly snapshots")
    return 0


def cmd_restore(args) -> int:
    from . import backup

    stack = operator_stack()
    manifest = backup.restore(stack, args.src, progress=sys.stdout.isatty(), snapshot=args.snapshot,
                              skip_homes=args.skip_homes)
    print(f"restored {stack.name} from the backup of {manifest['created']} (release {manifest['release']}): "
          f"{len(manifest['volumes'])} volumes, {len(manifest['databases'])} databases; now `make up`")
    return 0


def cmd_upgrade(args) -> int:
    from . import backup, upgrade

    stack = operator_stack()
    repository = args.backup or backup.DEFAULT_REPOSITORY.format(stack=stack.name)
    done = upgrade.upgrade(stack, repository, build=not args.no_build)
    print(f"upgraded {stack.name} from {done['from']} to {done['to']}; the hub answers after {done['ready_after']:.0f} s.")
    print(f"  Backup before the upgrade: snapshot {done['snapshot']} in {repository}")
    print(f"  Roll back: check out {done['from']}, `astrohub down`, "
          f"`astrohub restore --skip-homes --snapshot {done['snapshot']} {repository}`, `astrohub up`")
    if done["stopped"]:
        print(f"  Servers stopped (the user network was made anew): {', '.join(done['stopped'])}; homes kept.")
    else:
        print("  Running servers keep running until culled; their next start uses the new image.")
    return 0


def cmd_settings_doc(args) -> int:
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(settings.reference_markdown())
    print(f"wrote {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="astrohub", description="Operate the astroparticle.online hub.")
    parser.add_argument("--version", action="version", version=f"astrohub {settings.VERSION}")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="build, deploy and wait for the hub")
    up.add_argument("--no-build", action="store_true", help="deploy the images that are there")
    up.set_defaults(func=cmd_up)
    sub.add_parser("down", help="remove the stack, keep the data").set_defaults(func=cmd_down)
    status = sub.add_parser("status", help="services and tasks of the stack")
    status.add_argument("--logs", action="store_true")
    status.set_defaults(func=cmd_status)
    sub.add_parser("stack-file", help="write the stack's compose file (what `up` deploys), print where").set_defaults(
        func=cmd_stack_file)
    sub.add_parser("health", help="run a notebook as a temporary user on the live hub").set_defaults(func=cmd_health)
    doc = sub.add_parser("settings-doc", help="write the configuration reference")
    doc.add_argument("--output", default="docs/configuration.md")
    doc.set_defaults(func=cmd_settings_doc)
    ca = sub.add_parser("ca-cert", help="print the root certificate of the edge's local CA")
    ca.add_argument("--timeout", type=float, default=120, help="seconds to wait for a starting edge")
    ca.set_defaults(func=cmd_ca_cert)
    bk = sub.add_parser("backup", help="snapshot the stack's data into a restic repository")
    bk.add_argument("dest", help="repository: a folder (made at the first backup) or any restic location")
    bk.add_argument("--verify", action="store_true", help="check the repository instead of backing up")
    bk.add_argument("--keep-daily", type=int, default=0, help="after the backup keep this many daily snapshots ...")
    bk.add_argument("--keep-weekly", type=int, default=4, help="... this many weekly ...")
    bk.add_argument("--keep-monthly", type=int, default=6, help="... and monthly; the rest is pruned")
    bk.set_defaults(func=cmd_backup)
    rs = sub.add_parser("restore", help="bring the latest snapshot back (stack down; `make up` after)")
    rs.add_argument("src", help="the repository given to `astrohub backup`")
    rs.add_argument("--snapshot", help="the snapshot id to restore (default: the newest of this stack)")
    rs.add_argument("--skip-homes", action="store_true",
                    help="leave the users' homes as they are (a rollback after an upgrade)")
    rs.set_defaults(func=cmd_restore)
    up_ = sub.add_parser("upgrade", help="back up, build, migrate and deploy the release of this checkout")
    up_.add_argument("--backup", help="the backup repository (default /var/backups/astrohub/<stack>)")
    up_.add_argument("--no-build", action="store_true", help="the release's images are built already")
    up_.set_defaults(func=cmd_upgrade)
    roster.add_parser(sub)  # astrohub users import ROSTER.csv
    nodes.add_parser(sub)  # astrohub node add|remove NAME
    registry.add_parser(sub)  # astrohub registry up|down
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except settings.SettingsError as e:
        print(e, file=sys.stderr)
        return 2
    except (DeployError, images.BuildError) as e:
        print(f"astrohub: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
