"""Content credentials: a real cut signed with a throwaway certificate chain, then read back by c2pa's Reader."""

from __future__ import annotations

import shutil
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from audio import read_audio, write_tone
from certificates import Pki, make_pki
from clips import write_clip

from tools.deliver.content_credentials import (
    GENERATION_LABEL,
    TRAINED_ALGORITHMIC_MEDIA,
    CredentialError,
    CredentialResult,
    read_credentials,
    sign_film,
)
from tools.edit.cut import assemble_cut
from tools.edit.plan import CutItem, CutPlan
from tools.edit.probe import probe_video

TOOL = "Director (agent-director 0.1.0)"
MODELS = [("llm", "SmolLM2-360M-Instruct"), ("video", "stabilityai/stable-video-diffusion-img2vid"), ("speech", "")]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def film(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real two-shot cut with a spoken line: H.264 and AAC, as the editor writes it."""
    root = tmp_path_factory.mktemp("clips")
    red = [np.full((90, 160, 3), (220, 40, 40), np.uint8)] * 12
    blue = [np.full((90, 160, 3), (40, 60, 220), np.uint8)] * 12
    plan = CutPlan(
        title="The Long Night",
        width=160,
        height=90,
        fps=12,
        title_seconds=0.5,
        items=[
            CutItem(
                shot_id="s1",
                scene_number=1,
                clip=write_clip(root / "s1.mp4", red),
                duration=1.0,
                subtitle="Hello",
                speaker="ANNA",
                audio=write_tone(root / "s1.wav", 0.6),
            ),
            CutItem(shot_id="s2", scene_number=2, clip=write_clip(root / "s2.mp4", blue), duration=1.0),
        ],
    )
    return assemble_cut(plan, tmp_path_factory.mktemp("cut")).video


def fresh_copy(film: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy2(film, folder / "film.mp4"))


def sign(video: Path, pki: Pki, **changes: object) -> CredentialResult:
    arguments: dict = {
        "certificate_chain": pki.chain,
        "private_key": pki.key,
        "title": "The Long Night",
        "film_id": "film-1234",
        "tool": TOOL,
        "models": MODELS,
    }
    return sign_film(video, **(arguments | changes))


@pytest.fixture(scope="module")
def signed(film: Path, pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, CredentialResult]:
    video = fresh_copy(film, tmp_path_factory.mktemp("signed"))
    return video, sign(video, pki)


def decoded_frames(path: Path) -> list[bytes]:
    reader = imageio_ffmpeg.read_frames(str(path))
    next(reader)
    return list(reader)


def codes(manifest: dict) -> list[str]:
    return [status["code"] for status in manifest["validation_status"]]


def test_signing_reports_what_it_signed(signed: tuple[Path, CredentialResult]) -> None:
    video, result = signed
    assert result.video == video
    assert result.manifest_label.startswith("urn:c2pa:")
    assert (result.signer, result.issuer, result.algorithm) == ("Director test signer", "Director test studio", "es256")
    assert not result.timestamped
    assert result.validation_state == "Valid"
    assert 0 < result.sign_seconds < 5
    assert sorted(p.name for p in video.parent.iterdir()) == ["film.mp4"], "no partial file is left behind"


def test_manifest_says_the_film_is_ai_generated_and_by_which_models(signed: tuple[Path, CredentialResult]) -> None:
    video, result = signed
    manifest = read_credentials(video)
    assert manifest["label"] == result.manifest_label
    assert manifest["title"] == "The Long Night"
    assert manifest["claim_generator_info"][0]["name"] == TOOL
    assertions = {a["label"]: a["data"] for a in manifest["assertions"]}
    assert "c2pa.hash.bmff.v3" in assertions, "the picture and sound are bound to the claim by a BMFF hash"
    (created,) = assertions["c2pa.actions.v2"]["actions"]
    assert created["action"] == "c2pa.created"
    assert created["digitalSourceType"] == TRAINED_ALGORITHMIC_MEDIA
    assert created["softwareAgent"] == {"name": TOOL}
    assert "video: stabilityai/stable-video-diffusion-img2vid" in created["parameters"]["description"]
    assert assertions[GENERATION_LABEL] == {
        "tool": TOOL,
        "film_id": "film-1234",
        "models": [{"role": role, "model": model} for role, model in MODELS],
    }


def test_reader_validates_but_does_not_trust_a_throwaway_root(signed: tuple[Path, CredentialResult], pki: Pki) -> None:
    video, _ = signed
    untrusted = read_credentials(video)
    assert untrusted["validation_state"] == "Valid"
    assert codes(untrusted) == ["signingCredential.untrusted"], "the only complaint is the unknown signer"
    trusted = read_credentials(video, trust_anchors=pki.root)
    assert trusted["validation_state"] == "Trusted"
    assert codes(trusted) == []


def test_signed_film_still_plays_the_same_picture_and_sound(film: Path, signed: tuple[Path, CredentialResult]) -> None:
    video, _ = signed
    before, after = probe_video(film), probe_video(video)
    assert after.num_frames == before.num_frames > 0
    assert (after.width, after.height, after.fps, after.codec, after.audio_codec) == (160, 90, 12, "h264", "aac")
    assert decoded_frames(video) == decoded_frames(film)
    sound = read_audio(video)
    assert sound.size > 0 and np.abs(sound).max() > 0.1
    assert np.array_equal(sound, read_audio(film))


def test_changed_picture_is_reported_invalid(signed: tuple[Path, CredentialResult], tmp_path: Path) -> None:
    video, _ = signed
    data = bytearray(video.read_bytes())
    start = data.index(b"mdat") + 64
    data[start : start + 16] = bytes(b ^ 0xFF for b in data[start : start + 16])
    tampered = tmp_path / "film.mp4"
    tampered.write_bytes(data)
    manifest = read_credentials(tampered)
    assert manifest["validation_state"] == "Invalid"
    assert "assertion.bmffHash.mismatch" in codes(manifest)


def unchanged_after_failure(video: Path, pki: Pki, match: str, **changes: object) -> None:
    original = video.read_bytes()
    with pytest.raises(CredentialError, match=match):
        sign(video, pki, **changes)
    assert video.read_bytes() == original
    assert [p.name for p in video.parent.iterdir()] == [video.name], "no partial file is left behind"


def test_key_of_another_certificate_is_refused(film: Path, pki: Pki, tmp_path: Path) -> None:
    unchanged_after_failure(
        fresh_copy(film, tmp_path / "f"), pki, r"does not belong to the certificate", private_key=pki.other_key
    )


@pytest.mark.parametrize(
    ("case", "match"),
    [
        ("ca_as_signer", r"cannot sign .*end-entity certificate \(not a CA\)"),
        ("not_pem", r"holds no PEM certificate"),
        ("missing_key", r"cannot read the private key"),
        ("wrong_algorithm", r"not a usable es384 key"),
        ("unknown_algorithm", r"'rsa' is not one C2PA knows"),
        ("dead_timestamp_authority", r"time-stamp authority http://127\.0\.0\.1:9/ did not answer"),
    ],
)
def test_unusable_credentials_are_explained(film: Path, pki: Pki, tmp_path: Path, case: str, match: str) -> None:
    video = fresh_copy(film, tmp_path / "f")
    not_pem = tmp_path / "cert.der"
    not_pem.write_bytes(b"\x30\x82 not a certificate")
    changes = {
        "ca_as_signer": {"certificate_chain": pki.root, "private_key": pki.root_key},
        "not_pem": {"certificate_chain": not_pem},
        "missing_key": {"private_key": tmp_path / "absent.key"},
        "wrong_algorithm": {"algorithm": "es384"},
        "unknown_algorithm": {"algorithm": "rsa"},
        "dead_timestamp_authority": {"timestamp_url": "http://127.0.0.1:9/"},
    }[case]
    unchanged_after_failure(video, pki, match, **changes)


def test_unsupported_or_signed_files_are_refused(
    signed: tuple[Path, CredentialResult], pki: Pki, tmp_path: Path
) -> None:
    junk = tmp_path / "junk" / "film.mp4"
    junk.parent.mkdir()
    junk.write_bytes(b"not a film at all")
    unchanged_after_failure(junk, pki, r"is not a film C2PA can sign")
    with pytest.raises(CredentialError, match=r"is not an MP4 or MOV film"):
        sign(tmp_path / "film.srt", pki)
    with pytest.raises(CredentialError, match=r"does not exist; cut the film"):
        sign(tmp_path / "gone.mp4", pki)
    video, result = signed
    again = fresh_copy(video, tmp_path / "again")
    unchanged_after_failure(again, pki, rf"already carries a content credential \({result.manifest_label}\)")


def test_unsigned_film_has_no_credentials(film: Path) -> None:
    with pytest.raises(CredentialError, match=r"carries no content credential; sign it"):
        read_credentials(film)
