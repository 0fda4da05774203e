"""A stranger's fresh clone: the README and the architecture document are in the repository and say what the code
and the scripts do; the dependency tree is locked with hashes and installed from the locks."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_points_to_the_design_document_in_the_repository():
    assert "../shared" not in README
    assert "(docs/DESIGN.md)" in README and (ROOT / "docs" / "DESIGN.md").is_file()


def test_design_document_names_only_paths_that_exist():
    design = (ROOT / "docs" / "DESIGN.md").read_text(encoding="utf-8")
    paths = {p for p in re.findall(r"`([\w./-]+/[\w./-]*)`", design) if not p.startswith(("http", "/"))}
    paths = {p for p in paths if "<" not in p} - {"instance/", "data/", "tests/data/"}  # made at run time / by copies
    missing = sorted(p for p in paths if not (ROOT / p).exists())
    assert not missing, f"docs/DESIGN.md names paths the repository does not have: {missing}"
    for part in ("services/README.md", "services/_template/", "portal/static/vendor/", "requirements.lock"):
        assert part in design


def test_readme_says_what_the_run_script_does():
    run = (ROOT / "scripts" / "run.sh").read_text(encoding="utf-8")
    assert "db upgrade heads" in run and "`db upgrade heads`" in README
    assert not re.search(r"`db upgrade`", README) and "flask --app app db upgrade`" not in README
    for variable in ("PORTAL_HOST", "PORTAL_PORT"):
        assert variable in run and variable in README


def test_readme_demo_table_promises_only_what_the_demo_loads(app):
    row = next(line for line in README.splitlines() if line.startswith("| `maire@ailleville.example.org`"))
    alerts = app.extensions["service_registry"].get("alerts")
    if alerts is not None and "demo" not in (alerts.cli.commands if alerts.cli else {}):
        assert "the alerts start empty" in row, row  # no demo subscriber, list or alert is loaded
        assert "consultations and alerts" not in row, row


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9_.\[\]-]+)==([^\s;\\]+)", line.split("#")[0].strip())
        if match:
            pins[re.sub(r"\[.*\]", "", match.group(1)).lower().replace("_", "-")] = match.group(2)
    return pins


def test_the_whole_dependency_tree_is_locked_with_hashes_and_installed_from_the_locks():
    for source, lock in (("requirements.txt", "requirements.lock"), ("requirements-dev.txt", "requirements-dev.lock")):
        text = (ROOT / lock).read_text(encoding="utf-8")
        entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 1)[1])
        assert all("--hash=sha256:" in entry for entry in entries if "==" in entry), f"{lock}: a pin has no hash"
        locked = _pins(ROOT / lock)
        direct = _pins(ROOT / source)
        if source == "requirements-dev.txt":
            direct.update(_pins(ROOT / "requirements.txt"))
        wrong = {name: version for name, version in direct.items() if locked.get(name) != version}
        assert not wrong, f"{lock} is not in step with {source} (run bash scripts/lock.sh): {wrong}"
        assert len(locked) > len(direct), f"{lock} holds the direct pins only"
    venv = (ROOT / "scripts" / "_venv.sh").read_text(encoding="utf-8")
    assert "--require-hashes" in venv and ".lock" in venv
    assert "requirements.lock requirements-dev.lock" in venv  # a changed lock reinstalls
