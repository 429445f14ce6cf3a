"""Separate package directories for the client libraries that cannot share our environment.

python-binance (in the `test` extra), binance-connector and binance-futures-connector all
install a top-level `binance` package, and the two connectors each ship their own
`binance/api.py`. So each connector gets a directory of its own, made by
`pip install --target DIR`, and its tests run in a subprocess with PYTHONPATH=DIR.

CI builds the directories before the test command (`.ci/run`, via `python
tests/client_envs.py build ROOT`) and names them in the environment variables below. On
a developer's machine where a variable is unset, `ensure()` builds the directory once into
a cache (pip reaches PyPI) and reuses it afterwards.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

#: name -> (environment variable, pip requirement, module that proves the install)
ENVS: dict[str, tuple[str, str, str]] = {
    "binance-connector": ("BKM_TEST_SPOT_CONNECTOR_DIR", "binance-connector>=3.13", "binance.spot"),
    "binance-futures-connector": ("BKM_TEST_FUTURES_CONNECTOR_DIR", "binance-futures-connector>=4.2",
                                  "binance.um_futures"),
}


def _pip_install(requirement: str, target: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "--no-warn-conflicts", "--target", str(target), requirement],
                   check=True, timeout=600)


def _installed(directory: Path, module: str) -> bool:
    return (directory / Path(*module.split("."))).is_dir()


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "bkm-guard-tests"


def ensure(name: str) -> Path:
    """The package directory for `name`: the CI-built one, or one built once into the cache."""
    variable, requirement, module = ENVS[name]
    given = os.environ.get(variable)
    if given:
        directory = Path(given)
        if not _installed(directory, module):
            raise RuntimeError(f"{variable}={given} holds no {module}: build it with "
                               f"`python tests/client_envs.py build DIR`")
        return directory
    from filelock import FileLock

    tag = hashlib.sha256(f"{requirement} {sys.version_info[:2]}".encode()).hexdigest()[:12]
    directory = cache_dir() / f"{name}-{tag}"
    directory.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(directory) + ".lock", timeout=900):  # xdist workers: one builds, the others wait
        if not _installed(directory, module):
            building = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=directory.parent))
            _pip_install(requirement, building)
            shutil.rmtree(directory, ignore_errors=True)
            building.rename(directory)
    return directory


def build(root: Path) -> dict[str, Path]:
    """Build every directory under `root` (CI); returns variable -> directory."""
    made = {}
    for name, (variable, requirement, _) in ENVS.items():
        _pip_install(requirement, root / name)
        made[variable] = root / name
    return made


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "build":
        raise SystemExit("usage: python tests/client_envs.py build ROOT  (prints the export lines)")
    for variable, directory in build(Path(sys.argv[2])).items():
        print(f"export {variable}={directory}")
