"""The import contract of DESIGN.md's floors, run with import-linter (`[tool.importlinter]` in
pyproject.toml): imports point down the floors, siblings never import each other, consent and
portal import no app, and no app has an import cycle between its modules.

No database: these tests read files and run `lint-imports` in a subprocess.
"""

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOT_PRODUCT = {"bench", "tests"}  # never imported by the product, never part of the contract
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]


def _lint_imports(cwd: Path, *contracts: str) -> subprocess.CompletedProcess:
    assert LINT_IMPORTS.exists(), f"{LINT_IMPORTS} is missing: pip install -e '.[test]'"
    args = [str(LINT_IMPORTS), "--no-cache", "--no-logo"]
    for contract in contracts:
        args += ["--contract", contract]
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=60)


def _output(result: subprocess.CompletedProcess) -> str:
    return f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"


def test_the_product_keeps_its_import_contracts():
    result = _lint_imports(ROOT)
    assert result.returncode == 0, _output(result)


def test_every_app_is_a_root_package_on_a_floor():
    # An app missing from root_packages is invisible to every contract, so a new app that is not
    # added would pass silently; one missing from the layers would be free to import anything.
    config = _config()
    apps = {
        path.name
        for path in ROOT.iterdir()
        if (path / "__init__.py").is_file() and path.name not in NOT_PRODUCT
    }
    assert set(config["root_packages"]) == apps
    floors = next(c for c in config["contracts"] if c["type"] == "layers")["layers"]
    on_a_floor = {name.strip(" ()") for floor in floors for name in re.split(r"[|:]", floor)}
    assert apps <= on_a_floor, f"not on any floor: {sorted(apps - on_a_floor)}"


def test_the_product_never_imports_the_bench_or_the_tests():
    # Outside the contract (they are not root packages), so checked here with import-linter's grimp.
    apps = _config()["root_packages"]
    graph = grimp.build_graph(*apps, *sorted(NOT_PRODUCT), cache_dir=None)
    chains = {
        chain
        for app in apps
        for outside in NOT_PRODUCT
        for chain in graph.find_shortest_chains(importer=app, imported=outside, as_packages=True)
    }
    assert not chains, "\n".join(" -> ".join(chain) for chain in sorted(chains))


@pytest.fixture
def product_copy(tmp_path):
    """The product packages and the contract, copied where they can be broken safely."""
    for package in _config()["root_packages"]:
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_an_upward_import_breaks_the_floors(product_copy):
    probe = product_copy / "notifications" / "probe.py"
    probe.write_text("def late():\n    import assignments.selectors  # noqa\n")
    result = _lint_imports(product_copy, "floors")
    assert result.returncode == 1, _output(result)
    assert "notifications is not allowed to import assignments" in result.stdout
    assert "notifications.probe -> assignments.selectors (l.2)" in result.stdout, _output(result)


def test_the_ledger_importing_a_sibling_breaks_two_contracts(product_copy):
    (product_copy / "consent" / "probe.py").write_text("from people.models import Employee\n")
    result = _lint_imports(product_copy, "floors", "ledger-alone")
    assert result.returncode == 1, _output(result)
    assert "consent is not allowed to import people" in result.stdout, _output(result)
    assert "consent imports no other app" in result.stdout
    assert "consent.probe -> people.models (l.1)" in result.stdout, _output(result)
    assert "Contracts: 0 kept, 2 broken." in result.stdout, _output(result)


def test_portal_importing_an_app_breaks_the_wiring_contract(product_copy):
    (product_copy / "portal" / "probe.py").write_text("import outbox.services  # noqa\n")
    result = _lint_imports(product_copy, "wiring-names-apps-by-string")
    assert result.returncode == 1, _output(result)
    assert "portal.probe -> outbox.services (l.1)" in result.stdout, _output(result)


def test_a_cycle_inside_an_app_is_named(product_copy):
    consent = product_copy / "consent"
    (consent / "probe_a.py").write_text("from consent import probe_b  # noqa\n")
    (consent / "probe_b.py").write_text("def later():\n    from consent import probe_a  # noqa\n")
    result = _lint_imports(product_copy, "no-cycles-inside-apps")
    assert result.returncode == 1, _output(result)
    assert "No cycles are allowed in consent." in result.stdout, _output(result)
    assert re.search(r"\.probe_[ab] -> \.probe_[ab]", result.stdout), _output(result)
