"""The wheel built from this checkout, installed into an empty virtual environment and run from a directory
outside the checkout, migrates its database and serves its pages and static files through gunicorn.

No network: the wheel is built with the running interpreter's setuptools (``--no-build-isolation``) and
installed without its dependencies, which the new environment sees through a ``.pth`` file naming this
interpreter's import path (not the checkout)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from importlib.metadata import version
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

CHECKOUT = Path(__file__).resolve().parent.parent
# What the build reads; everything else (tests, instance data, caches, the .venv) stays behind.
SOURCES = ("pyproject.toml", "setup.py", "requirements.txt", "README.md")
SOURCE_DIRS = ("dpa_tracker", "templates", "static", "migrations")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(args: list[str | Path], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _get(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - a local http:// URL
        return response.status, response.headers.get("Content-Type", ""), response.read()


@pytest.fixture
def installed(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """(python of a new venv holding only the installed wheel, environment without the checkout)."""
    setuptools_major = int(version("setuptools").split(".")[0])
    assert setuptools_major >= 77, "pyproject.toml needs setuptools>=77: pip install -r requirements-dev.txt"
    source = tmp_path / "source"  # a copy: the build's build/ and *.egg-info never land in the checkout
    source.mkdir()
    for name in SOURCES:
        shutil.copy2(CHECKOUT / name, source / name)
    for name in SOURCE_DIRS:
        shutil.copytree(CHECKOUT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))

    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DPA_", "FLASK_", "PYTHON", "PIP_")) and key not in ("DATABASE_URL", "VIRTUAL_ENV")
    }
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--wheel-dir",
            tmp_path / "dist",
            source,
        ],
        tmp_path,
        env,
    )
    (wheel,) = (tmp_path / "dist").glob("dpa_tracker-*.whl")

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], tmp_path, env)
    python = venv / "bin" / "python"
    _run(
        [sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps", "--no-index", wheel],
        tmp_path,
        env,
    )
    site_packages = Path(
        _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp_path, env).strip()
    )
    # This interpreter's import path (its site-packages and whatever those add) minus the checkout itself.
    ours = [path for path in sys.path if path and Path(path).is_dir() and Path(path).resolve() != CHECKOUT]
    (site_packages / "dependencies.pth").write_text("".join(f"{path}\n" for path in ours))
    return python, env


def test_installed_wheel_migrates_and_serves_pages_and_static_files_outside_the_checkout(
    installed: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    python, env = installed
    site = tmp_path / "site"  # the operator's working directory, far from the checkout
    site.mkdir()

    where = _run([python, "-c", "import dpa_tracker; print(dpa_tracker.__file__)"], site, env).strip()
    assert Path(where).is_relative_to(tmp_path / "venv"), where
    installed_package = Path(where).parent
    data = [*(CHECKOUT / "dpa_tracker").glob("catalogue/*.yaml"), *(CHECKOUT / "dpa_tracker").glob("reports/fonts/*")]
    assert len(data) >= 3
    for path in data:  # the catalogue the obligations come from, the fonts the PDFs embed
        relative = path.relative_to(CHECKOUT / "dpa_tracker")
        assert (installed_package / relative).read_bytes() == path.read_bytes(), relative

    assert "latest schema" in _run([python, "-m", "flask", "--app", "dpa_tracker", "init-db"], site, env)
    assert (site / "instance" / "dpa_tracker.sqlite3").is_file()
    assert not (installed_package.parent / "instance").exists()  # nothing written into site-packages

    elsewhere = tmp_path / "elsewhere"
    _run([python, "-m", "flask", "--app", "dpa_tracker", "init-db"], site, {**env, "DPA_INSTANCE_PATH": str(elsewhere)})
    assert (elsewhere / "dpa_tracker.sqlite3").is_file()

    port = _free_port()
    server = subprocess.Popen(
        [str(python), "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}", "dpa_tracker.wsgi:app"],
        cwd=site,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, _type, body = _get(f"http://127.0.0.1:{port}/login")
                break
            except urllib.error.HTTPError:
                raise  # it answered, wrongly
            except OSError:  # not answering yet
                assert server.poll() is None and time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        page = body.decode()
        assert status == 200
        assert "<h1>Sign in</h1>" in page and '<form method="post"' in page and 'name="password"' in page
        assert 'href="/static/app.css' in page

        status, content_type, css = _get(f"http://127.0.0.1:{port}/static/app.css")
        assert status == 200 and content_type.startswith("text/css")
        assert css == (CHECKOUT / "static" / "app.css").read_bytes()
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=20)
    assert "Traceback" not in output, output
