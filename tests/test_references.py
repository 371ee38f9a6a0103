from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from PIL import Image

import tools.references as references
from tools.references import ALLOWED_FORMATS, check_reference, dominant_vivid_colour, reference_palette, store_reference

RED, BLUE = (255, 0, 0), (0, 0, 255)


def _image(path: Path, fmt: str = "PNG", size: tuple[int, int] = (40, 30), split: float = 1.0) -> Path:
    """Red on the left `split` of the width, blue on the rest."""
    image = Image.new("RGB", size, BLUE)
    image.paste(RED, (0, 0, round(size[0] * split), size[1]))
    image.save(path, fmt, **({"quality": 95} if fmt in ("JPEG", "WEBP") else {}))
    return path


def _near(hex_colour: str, rgb: tuple[int, int, int], tolerance: int = 40) -> bool:
    values = [int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)]
    return all(abs(a - b) <= tolerance for a, b in zip(values, rgb, strict=True))


def _rejects(source: Path, original_name: str | None = None) -> str:
    with pytest.raises(references.ReferenceUploadError) as caught:
        check_reference(source, original_name)
    return str(caught.value)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "film"
    root.mkdir()
    return root


def test_solid_red_png_is_stored_by_content(project: Path, tmp_path: Path) -> None:
    source = _image(tmp_path / "upload.tmp")
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    stored = store_reference(project, "character", "mai", source, "Mai sketch.png")
    assert stored.path == f"references/characters/mai/{digest[:16]}.png"
    assert (stored.sha256, stored.original_name, stored.format) == (digest, "Mai sketch.png", "PNG")
    assert (stored.width, stored.height, stored.palette) == (40, 30, ["#ff0000"])
    assert (project / stored.path).read_bytes() == source.read_bytes()
    assert (project / stored.path).resolve().is_relative_to(project.resolve() / "references")


def test_red_and_blue_jpeg_keeps_palette_order(project: Path, tmp_path: Path) -> None:
    source = _image(tmp_path / "harbour.jpg", "JPEG", (64, 48), split=0.75)
    stored = store_reference(project, "setting", "old-harbour", source)
    assert stored.path.startswith("references/settings/old-harbour/") and stored.path.endswith(".jpg")
    assert (stored.format, stored.width, stored.height, stored.original_name) == ("JPEG", 64, 48, "harbour.jpg")
    assert _near(stored.palette[0], RED) and _near(stored.palette[1], BLUE)


def test_palette_is_sorted_by_pixel_count_and_transparency_is_grey(tmp_path: Path) -> None:
    assert reference_palette(_image(tmp_path / "blue.png", split=0.25)) == ["#0000ff", "#ff0000"]
    image = Image.new("RGBA", (40, 40), (0, 0, 0, 0))
    image.paste((255, 0, 0, 255), (0, 0, 10, 10))
    image.save(tmp_path / "cutout.png")
    assert reference_palette(tmp_path / "cutout.png") == ["#808080", "#ff0000"]
    assert reference_palette(_image(tmp_path / "two.png", split=0.5), colours=1) == ["#800080"]


@pytest.mark.parametrize("fmt", sorted(ALLOWED_FORMATS))
def test_each_allowed_format_is_detected(project: Path, tmp_path: Path, fmt: str) -> None:
    source = _image(tmp_path / "upload", fmt)
    assert check_reference(source, "upload") == (fmt, 40, 30)
    assert store_reference(project, "character", "mai", source).path.endswith(ALLOWED_FORMATS[fmt])


def test_same_bytes_twice_keep_one_file(project: Path, tmp_path: Path) -> None:
    source = _image(tmp_path / "a.png")
    first = store_reference(project, "character", "mai", source, "first.png")
    second = store_reference(project, "character", "mai", source, "second.png")
    assert first.path == second.path and second.original_name == "second.png"
    assert [p.name for p in (project / "references/characters/mai").iterdir()] == [Path(first.path).name]


def test_damaged_stored_copy_is_replaced(project: Path, tmp_path: Path) -> None:
    source = _image(tmp_path / "a.png")
    stored = store_reference(project, "character", "mai", source)
    (project / stored.path).write_bytes(b"garbage")
    assert store_reference(project, "character", "mai", source) == stored
    assert (project / stored.path).read_bytes() == source.read_bytes()


def test_extension_comes_from_content(project: Path, tmp_path: Path) -> None:
    stored = store_reference(project, "character", "mai", _image(tmp_path / "photo.jpg"), "photo.jpg")
    assert stored.path.endswith(".png") and stored.format == "PNG" and stored.original_name == "photo.jpg"


def test_text_and_disguised_svg_are_not_images(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("Mai wears a red coat.")
    assert "notes.txt is not an image" in _rejects(tmp_path / "notes.txt")
    (tmp_path / "logo.png").write_text('<svg xmlns="http://www.w3.org/2000/svg"><rect width="9" height="9"/></svg>')
    assert "logo.png is not an image" in _rejects(tmp_path / "logo.png")
    Image.new("RGB", (8, 8), RED).save(tmp_path / "scan.tif", "TIFF")
    assert "scan.tif is not an image" in _rejects(tmp_path / "scan.tif")


def test_truncated_png_is_rejected(tmp_path: Path) -> None:
    noise = Image.frombytes("RGB", (64, 64), os.urandom(64 * 64 * 3))
    noise.save(tmp_path / "full.png")
    (tmp_path / "cut.png").write_bytes((tmp_path / "full.png").read_bytes()[:100])
    assert "cut.png looks like a PNG but cannot be decoded" in _rejects(tmp_path / "cut.png")


def test_truncated_jpeg_is_rejected(tmp_path: Path) -> None:
    data = _image(tmp_path / "full.jpg", "JPEG", (256, 256), split=0.5).read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    assert "cut.jpg looks like a JPEG but cannot be decoded" in _rejects(tmp_path / "cut.jpg")


def test_empty_missing_folder_and_symlink_sources(tmp_path: Path) -> None:
    (tmp_path / "empty.png").touch()
    assert "empty.png is empty" in _rejects(tmp_path / "empty.png")
    assert "gone.png was not found" in _rejects(tmp_path / "gone.png")
    (tmp_path / "folder.png").mkdir()
    assert "folder.png is not a regular file" in _rejects(tmp_path / "folder.png")
    (tmp_path / "link.png").symlink_to(_image(tmp_path / "real.png"))
    assert "link.png is a symbolic link" in _rejects(tmp_path / "link.png")


def test_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = _image(tmp_path / "big.png")
    monkeypatch.setattr(references, "MAX_REFERENCE_BYTES", source.stat().st_size)
    assert check_reference(source) == ("PNG", 40, 30)
    monkeypatch.setattr(references, "MAX_REFERENCE_BYTES", source.stat().st_size - 1)
    message = _rejects(source)
    assert message.startswith("big.png is ") and "MB; references must be at most" in message


def test_pixel_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = _image(tmp_path / "bomb.png")
    monkeypatch.setattr(references, "MAX_REFERENCE_PIXELS", 40 * 30)
    assert check_reference(source) == ("PNG", 40, 30)
    monkeypatch.setattr(references, "MAX_REFERENCE_PIXELS", 40 * 30 - 1)
    assert "bomb.png is 40×30 pixels" in _rejects(source)


BAD_NAMES = ["../../etc/passwd", "/etc/passwd", "a\\b.png", "..png", "..", ".", "a\x00b.png", "tab\t.png", "C:x.png"]


@pytest.mark.parametrize("name", [*BAD_NAMES, "", "   ", "x" * 252 + ".png"])
def test_path_trick_names_are_rejected(project: Path, tmp_path: Path, name: str) -> None:
    source = _image(tmp_path / "a.png")
    assert "is not allowed" in _rejects(source, name)
    with pytest.raises(references.ReferenceUploadError):
        store_reference(project, "character", "mai", source, name)
    assert not (project / "references").exists()


@pytest.mark.parametrize("name", ["mai.png", "Mai – final (v2).JPG", "héroïne.png", ".mai.png", "x" * 251 + ".png"])
def test_plain_names_are_kept(project: Path, tmp_path: Path, name: str) -> None:
    assert store_reference(project, "character", "mai", _image(tmp_path / "a.png"), name).original_name == name


def test_bidi_controls_are_stripped_for_display(project: Path, tmp_path: Path) -> None:
    stored = store_reference(project, "character", "mai", _image(tmp_path / "a.png"), "photo\u202egnp.exe")
    assert stored.original_name == "photognp.exe"


@pytest.mark.parametrize("owner_id", ["../x", "A B", "", "mai\n", "-mai", "a" * 65, "mai/x"])
def test_bad_owner_ids_are_rejected(project: Path, tmp_path: Path, owner_id: str) -> None:
    with pytest.raises(references.ReferenceUploadError, match="a.png.*is not a character id"):
        store_reference(project, "character", owner_id, _image(tmp_path / "a.png"))
    assert not (project / "references").exists()


def test_destination_outside_project_is_refused(project: Path, tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (project / "references").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(references.ReferenceUploadError, match="outside the project"):
        store_reference(project, "character", "mai", _image(tmp_path / "a.png"))
    assert list((tmp_path / "elsewhere").iterdir()) == []


@pytest.mark.parametrize(
    ("palette", "expected"),
    [
        (["#ffffff", "#808080", "#000000", "#c03030"], "#c03030"),
        (["#fafafa", "#ff0000", "#0000ff"], "#ff0000"),
        (["#1a0a0a", "#3366cc"], "#3366cc"),
        (["#202020", "#f0f0f0"], "#202020"),
    ],
)
def test_dominant_vivid_colour_skips_greys(palette: list[str], expected: str) -> None:
    assert dominant_vivid_colour(palette) == expected


def test_dominant_vivid_colour_needs_a_palette() -> None:
    with pytest.raises(references.ReferenceUploadError, match="empty"):
        dominant_vivid_colour([])
