"""Object paths: the platform's file-name sanitising and path layout, and path safety."""

from __future__ import annotations

import pytest

from tools.files import check_object_path, class_material_path, sanitize_file_name

CLASS = "c1a55000-0000-4000-8000-000000000001"
MATERIAL = "0b7c6a4e-2f57-4c1e-9d59-6a0f3c1d2e4f"
SANDBOX = "55555555-5555-4555-8555-555555555555"


@pytest.mark.parametrize(
    ("name", "sanitised"),
    [
        ("Forces.pdf", "Forces.pdf"),
        ("unit-2_notes.v3.docx", "unit-2_notes.v3.docx"),
        ("Week 1 notes.pdf", "Week_1_notes.pdf"),  # a space becomes _
        ("a  b\tc.pptx", "a_b_c.pptx"),  # a run of unsafe characters collapses
        ("a__b___c.pdf", "a_b_c.pdf"),  # existing runs of _ collapse too
        ("Énergie cinétique.pdf", "_nergie_cin_tique.pdf"),  # letters are ASCII letters
        ("力学.pdf", "_.pdf"),
        ("../../etc/passwd", ".._.._etc_passwd"),  # slashes never survive
        ("C:\\Users\\me\\notes.pdf", "C_Users_me_notes.pdf"),
        ("x" * 130 + ".pdf", "x" * 120),  # cut to 120 characters
        ("", "material"),
        (None, "material"),
        ("..", "material"),  # never a dot segment
    ],
)
def test_file_names_are_sanitised_as_the_platform_does(name: str | None, sanitised: str) -> None:
    assert sanitize_file_name(name) == sanitised


def test_a_class_upload_path() -> None:
    assert class_material_path(CLASS, MATERIAL, "Week 1.pdf") == (
        f"classes/{CLASS}/{MATERIAL}/Week_1.pdf"
    )


def test_a_guest_upload_path_sits_under_its_sandbox() -> None:
    assert class_material_path(CLASS, MATERIAL, "deck.pptx", sandbox_id=SANDBOX) == (
        f"classes/{CLASS}/sandboxes/{SANDBOX}/{MATERIAL}/deck.pptx"
    )


def test_ids_must_be_uuids() -> None:
    with pytest.raises(ValueError, match="class_id must be a UUID"):
        class_material_path("../x", MATERIAL, "a.pdf")
    with pytest.raises(ValueError, match="sandbox_id must be a UUID"):
        class_material_path(CLASS, MATERIAL, "a.pdf", sandbox_id="x/y")


@pytest.mark.parametrize(
    "path",
    ["", "/abs/a.pdf", "a//b", "a/./b", "a/../b", "..", "a\\b", "a\x00b", "a/b/", "x" * 1025],
)
def test_unsafe_object_paths_are_refused(path: str) -> None:
    with pytest.raises(ValueError):
        check_object_path(path)


def test_a_safe_path_splits_into_segments() -> None:
    assert check_object_path("classes/c/m/a.pdf") == ("classes", "c", "m", "a.pdf")
