"""A stranger's fresh clone: nothing the product or its tests open may lie outside the repository."""
from __future__ import annotations

from pathlib import Path

from tests.helpers import outside_paths

ROOT = Path(__file__).resolve().parents[2]


def test_a_test_opening_a_file_beside_the_repository_is_caught():
    outside_paths.take()
    beside = ROOT.parent / "shared" / "data" / "cap" / "sample.xml"
    try:
        beside.read_bytes()
    except OSError:
        pass  # caught even when the file is absent: the open was attempted
    assert outside_paths.take() == [("open", str(beside))]


def test_files_of_the_repository_python_and_the_temporary_folder_are_not_flagged(tmp_path):
    (tmp_path / "x.txt").write_text("ok")
    (ROOT / "README.md").read_text(encoding="utf-8")
    import pypdf  # noqa: F401 - a package of the virtualenv
    assert outside_paths.take() == []
    assert outside_paths.is_outside(str(ROOT.parent / "shared" / "DESIGN.md"))
    assert outside_paths.is_outside("/work/shared/data/cap/x.xml") == (not str(ROOT).startswith("/work/shared"))
    assert not outside_paths.is_outside(str(ROOT / "tests" / "data" / "x"))
