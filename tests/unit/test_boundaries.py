"""Services import each other only through ``contract.py`` (ARCHITECTURE rule 1).

Every module under ``services/<a>/`` is parsed (not imported); an import of ``services.<b>.<x>``
for another service ``b`` fails the test unless ``x`` is ``contract``, and the failure names the
file and line. ``shared/`` imports no service at all (it is below them).
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted(p.name for p in (ROOT / "services").iterdir() if (p / "__init__.py").exists())


def imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    """``(line, dotted name)`` of every absolute import; ``from a import b`` gives ``a.b`` when ``a``
    is a package of ``services/`` itself (``from services.funds import contract``), else ``a``."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.count(".") == 1 and node.module.startswith("services."):
                found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, node.module))
    return found


def violations(owner: str | None, path: Path, root: Path = ROOT) -> list[str]:
    """The imports in ``path`` (a module of service ``owner``; None for ``shared/``) that break rule 1."""
    bad = []
    for line, name in imported_modules(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        parts = name.split(".")
        if parts[0] != "services" or len(parts) < 2:
            continue
        other = parts[1]
        if other == owner:
            continue
        if owner is not None and len(parts) >= 3 and parts[2] == "contract":
            continue
        where = f"{path.relative_to(root)}:{line}"
        bad.append(f"{where} imports {name}" + ("" if owner is None else f" (only services.{other}.contract)"))
    return bad


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_imports_other_services_only_through_their_contract(service):
    bad = [v for path in sorted((ROOT / "services" / service).rglob("*.py")) for v in violations(service, path)]
    assert not bad, "rule 1 (ARCHITECTURE.md): services import each other only through contract.py:\n" + "\n".join(bad)


def test_shared_imports_no_service():
    bad = [v for path in sorted((ROOT / "shared").rglob("*.py")) for v in violations(None, path)]
    assert not bad, "shared/ is below the services and imports none of them:\n" + "\n".join(bad)


def test_the_check_names_file_and_line(tmp_path):
    """The check itself: a non-contract import is named with its line; contract ones pass."""
    probe = tmp_path / "services" / "audit" / "probe.py"
    probe.parent.mkdir(parents=True)
    module_text = ("from services.funds.contract import postings_of\n"
                   "from services.funds import contract\n"
                   "from services.audit.rebuild import funds\n"
                   "import services.registry.domain.workflow\n"
                   "from services.projects.domain import lifecycle\n"
                   "from services.funds import domain\n")
    probe.write_text(module_text, encoding="utf-8")
    assert violations("audit", probe, root=tmp_path) == [
        "services/audit/probe.py:4 imports services.registry.domain.workflow"
        " (only services.registry.contract)",
        "services/audit/probe.py:5 imports services.projects.domain (only services.projects.contract)",
        "services/audit/probe.py:6 imports services.funds.domain (only services.funds.contract)",
    ]


@pytest.mark.parametrize("service", SERVICES)
def test_a_contract_is_importable_without_the_web_and_database_stack(service):
    """Another service's domain may import a contract (projects' eligibility reads ``ON_ROLL``), so
    a contract and what it imports stay pure: no SQLAlchemy, asyncpg, FastAPI or Kafka client."""
    if not (ROOT / "services" / service / "contract.py").exists():
        pytest.skip(f"{service} publishes no contract")
    probe = (f"import sys; import services.{service}.contract; "
             "print(' '.join(m for m in ('sqlalchemy', 'asyncpg', 'fastapi', 'aiokafka', 'httpx') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.stdout.strip() == "", f"services.{service}.contract pulls in {out.stdout.strip()}"


#: What a router of a service with a use-case layer must not touch itself: the database and the log.
#: A router parses, calls one use case and renders (ARCHITECTURE rule 6; issue 17).
STORAGE = ("sqlalchemy", "asyncpg", "shared.db", "shared.events", "services.{service}.models")


@pytest.mark.parametrize("service", ["registry"])
def test_routers_of_a_service_with_use_cases_write_nothing_themselves(service):
    storage = tuple(s.format(service=service) for s in STORAGE)
    bad = [f"{path.relative_to(ROOT)}:{line} imports {name}"
           for path in sorted((ROOT / "services" / service / "api").rglob("*.py"))
           for line, name in imported_modules(ast.parse(path.read_text(encoding="utf-8")))
           if any(name == s or name.startswith(s + ".") for s in storage)]
    assert not bad, "a router calls a use case (services/<svc>/usecases/) for rows and events:\n" + "\n".join(bad)
