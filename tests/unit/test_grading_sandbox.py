"""The autograding sandbox's two halves, without the sandbox uid (the e2e test tries the attacks)."""

from __future__ import annotations

import io
import os
import tarfile

import pytest

from servicekit import grading_sandbox, nbgrader_exchange


def test_the_submission_travels_without_links_and_with_the_connection_file(tmp_path):
    folder = tmp_path / "sub"
    (folder / "data").mkdir(parents=True)
    (folder / "energy.ipynb").write_text("{}")
    (folder / "data" / "a.parquet").write_bytes(b"x")
    (folder / "gradebook-link").symlink_to(tmp_path / "secret")
    (tmp_path / "secret").write_text("hidden")
    connection = tmp_path / "kernel.json"
    connection.write_text('{"key": "k"}')
    with grading_sandbox.submission_tar(str(folder), str(connection)) as f:
        names = sorted(tarfile.open(fileobj=f).getnames())
    assert names == ["connection.json", "work/data/a.parquet", "work/energy.ipynb"]


@pytest.mark.parametrize("name,kind", [("../escape", tarfile.REGTYPE), ("/etc/x", tarfile.REGTYPE),
                                       ("work/link", tarfile.SYMTYPE), ("work/dev", tarfile.CHRTYPE)])
def test_the_launcher_refuses_what_is_not_a_file_inside_its_run_folder(tmp_path, name, kind):
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        member = tarfile.TarInfo(name)
        member.type = kind
        member.linkname = "/home/jovyan/gradebook.db" if kind == tarfile.SYMTYPE else ""
        tar.addfile(member, io.BytesIO(b"") if kind == tarfile.REGTYPE else None)
    data.seek(0)
    run = tmp_path / "run"
    run.mkdir()
    with pytest.raises(SystemExit, match="refused tar member"):
        grading_sandbox._extract(data, str(run))
    assert not (tmp_path / "escape").exists()


def test_the_kernel_environment_holds_nothing_of_the_graders(monkeypatch, tmp_path):
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "secret")
    env = grading_sandbox.kernel_env(str(tmp_path))
    assert "secret" not in env.values() and not any(k.startswith("JUPYTERHUB") for k in env)
    assert env["HOME"] == str(tmp_path) and env["TMPDIR"].startswith(str(tmp_path))


def test_autograde_executes_only_through_the_sandbox():
    from traitlets.config import Config

    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import Execute

    c = Config()
    grading_sandbox.configure_autograde(c)
    chain = c.Autograde.autograde_preprocessors
    default = Autograde.class_traits()["autograde_preprocessors"].default()
    assert len(chain) == len(default) and Execute not in chain
    sandboxed = chain[default.index(Execute)]
    assert issubclass(sandboxed, Execute)
    km = sandboxed().kernel_manager_class
    assert km.__name__ == "SandboxedKernelManager"


def test_a_formgrader_reads_its_token_from_the_secret_file_not_the_environment(monkeypatch, tmp_path):
    secret = tmp_path / "service_token"
    secret.write_text("tok\n")
    monkeypatch.delenv("JUPYTERHUB_API_TOKEN", raising=False)
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN_FILE", str(secret))
    assert nbgrader_exchange.api_token() == "tok"
    assert "JUPYTERHUB_API_TOKEN" not in os.environ
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN_FILE", str(tmp_path / "missing"))
    assert nbgrader_exchange.api_token() is None
