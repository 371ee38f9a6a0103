"""The OpenAI backends through the real `openai` SDK, against a local FAKE server that checks every request."""

from __future__ import annotations

import io
import json
import socket
import time
import wave
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from tests.fake_openai_media import BAND_COLOUR, LEFT_COLOUR, RIGHT_COLOUR, FakeOpenAIMediaServer
from tools.edit.probe import probe_video
from tools.render.base import BackendError, ImageBackend, SpeechBackend, VideoBackend
from tools.render.openai.characters import CHARACTER_CACHE_NAME
from tools.render.openai.images import OpenAIImageBackend, image_api_size
from tools.render.openai.speech import OpenAISpeechBackend, repaired_wav
from tools.render.openai.video import OpenAIVideoBackend, OpenAIVideoRecord, video_api_seconds, video_api_size
from tools.render.setup import image_backend_from_settings, speech_backend_from_settings, video_backend_from_settings
from tools.render.spec import CastMember, ShotSpec, Voice
from tools.settings import OpenAIMediaSettings, RenderSettings, Settings

MARA = CastMember(id="mara", name="Mara", look="red coat", color="#d94f3d")


@pytest.fixture
def server():
    with FakeOpenAIMediaServer() as fake:
        yield fake


def settings_for(url: str | None, **media) -> Settings:
    options = {"base_url": url, "api_key": "test-key", "poll_interval": 0.01, "timeout": 5.0, "max_retries": 0}
    return Settings(
        render=RenderSettings(
            image_backend="openai",
            video_backend="openai",
            speech_backend="openai",
            openai=OpenAIMediaSettings(**(options | media)),
        )
    )


def make_spec(**changes) -> ShotSpec:
    fields = dict(
        shot_id="s1",
        scene_number=1,
        shot_number=2,
        prompt="medium shot, Mara waits on a rainy platform",
        negative_prompt="blurry",
        width=320,
        height=180,
        seed=7,
        fps=12,
        duration=1.5,
    )
    return ShotSpec(**(fields | changes))


def write_png(path: Path, size: tuple[int, int] = (320, 180), colour=(90, 160, 90)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)
    return path


def take_folder(root: Path, name: str) -> Path:
    """A take folder laid out as the project does: `<project>/takes/<2 chars>/<hash>`."""
    folder = root / "takes" / name[:2] / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def read_frames(path: Path) -> list[np.ndarray]:
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = reader.__next__()
    w, h = meta["size"]
    return [np.frombuffer(frame, np.uint8).reshape(h, w, 3) for frame in reader]


# The factories and the protocols


def test_settings_pick_the_openai_backends(server):
    settings = settings_for(server.url)
    images, video, speech = (
        image_backend_from_settings(settings),
        video_backend_from_settings(settings),
        speech_backend_from_settings(settings),
    )
    assert isinstance(images, OpenAIImageBackend) and isinstance(images, ImageBackend)
    assert isinstance(video, OpenAIVideoBackend) and isinstance(video, VideoBackend)
    assert isinstance(speech, OpenAISpeechBackend) and isinstance(speech, SpeechBackend)
    assert (images.name, video.name, speech.name) == ("openai", "openai", "openai")
    assert (images.model, video.model, speech.model) == ("gpt-image-1", "sora-2", "gpt-4o-mini-tts")
    assert images.supports_reference_image and video.supports_remix


def test_a_missing_key_says_which_variable_to_set(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    settings = settings_for("http://127.0.0.1:9/v1", api_key=None)
    for build in (OpenAIImageBackend, OpenAIVideoBackend, OpenAISpeechBackend):
        with pytest.raises(BackendError, match="OPENAI_API_KEY.*DIRECTOR_RENDER__OPENAI__API_KEY"):
            build.from_settings(settings)


def test_key_and_endpoint_fall_back_to_the_sdk_variables(server, monkeypatch, tmp_path):
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    backend = OpenAIImageBackend.from_settings(settings_for(None, api_key=None))
    backend.generate(make_spec(), tmp_path / "keyframe.png")
    assert server.requests_to("POST", "/images/generations")[0].headers["authorization"] == "Bearer test-key"


# Images


@pytest.mark.parametrize(
    ("width", "height", "api_size", "bands_kept"),
    [
        (320, 180, "1536x1024", False),
        (180, 320, "1024x1536", True),
        (200, 200, "1024x1024", True),
        (478, 200, "1536x1024", False),
    ],
)
def test_generate_asks_the_nearest_size_and_writes_the_exact_one(server, tmp_path, width, height, api_size, bands_kept):
    backend = OpenAIImageBackend.from_settings(settings_for(server.url, image_quality="high"))
    result = backend.generate(make_spec(width=width, height=height), tmp_path / "keyframe.png")

    (request,) = server.requests_to("POST", "/images/generations")
    assert request.headers["authorization"] == "Bearer test-key"
    assert request.json["model"] == "gpt-image-1"
    assert request.json["size"] == api_size
    assert request.json["quality"] == "high"
    assert request.json["n"] == 1
    assert request.json["prompt"].startswith("medium shot, Mara waits on a rainy platform")
    assert "Avoid: blurry" in request.json["prompt"]
    assert server.problems == []
    assert (result.width, result.height, result.backend, result.model) == (width, height, "openai", "gpt-image-1")
    with Image.open(result.path) as written:
        assert written.format == "PNG" and written.size == (width, height)
        pixels = np.asarray(written.convert("RGB")).astype(int)
    # centre-cropped, not flipped: the fake's red half stays left and its blue half right
    assert np.abs(pixels[height // 2, 2] - LEFT_COLOUR).max() < 12
    assert np.abs(pixels[height // 2, width - 3] - RIGHT_COLOUR).max() < 12
    # a wider shot than 3:2 is cut from the middle, so the fake's top and bottom bands are gone; never squashed
    for row in (0, height - 1):
        assert bool(np.abs(pixels[row, width // 4] - BAND_COLOUR).max() < 12) == bands_kept
    assert not list(tmp_path.glob(".*part*")), "the temporary file was left behind"


def test_image_size_follows_the_aspect():
    assert image_api_size(640, 272) == "1536x1024"
    assert image_api_size(360, 640) == "1024x1536"
    assert image_api_size(480, 360) == "1536x1024"  # 4:3 is nearer 3:2 than 1:1
    assert image_api_size(640, 640) == "1024x1024"


def test_an_image_answered_as_a_url_is_fetched(tmp_path):
    with FakeOpenAIMediaServer(image_answer="url") as fake:
        backend = OpenAIImageBackend.from_settings(settings_for(fake.url))
        result = backend.generate(make_spec(), tmp_path / "keyframe.png")
        assert len(fake.requests_to("GET", "/fake-files/")) == 1
    with Image.open(result.path) as written:
        assert written.size == (320, 180)


def test_references_and_the_previous_take_make_an_edit(server, tmp_path):
    mara_picture = write_png(tmp_path / "refs" / "mara.png", colour=(200, 30, 30))
    station = write_png(tmp_path / "refs" / "station.jpg", colour=(30, 30, 200))
    previous = write_png(tmp_path / "takes" / "ab" / "abc" / "keyframe.png", colour=(10, 200, 10))
    spec = make_spec(
        cast=[MARA.model_copy(update={"reference_images": [str(mara_picture)]})],
        setting_references=[str(station)],
        init_image=str(previous),
    )
    backend = OpenAIImageBackend.from_settings(settings_for(server.url))
    result = backend.generate(spec, tmp_path / "new" / "keyframe.png")

    assert server.requests_to("POST", "/images/generations") == []
    (request,) = server.requests_to("POST", "/images/edits")
    assert server.problems == []
    assert request.headers["content-type"].startswith("multipart/form-data")
    assert request.value("model") == "gpt-image-1" and request.value("size") == "1536x1024"
    assert request.value("quality") == "medium"
    uploads = request.files["image[]"]
    assert [u.data for u in uploads] == [previous.read_bytes(), mara_picture.read_bytes(), station.read_bytes()]
    assert [u.content_type for u in uploads] == ["image/png", "image/png", "image/jpeg"]
    assert "previous take" in request.value("prompt") and "reference pictures" in request.value("prompt")
    with Image.open(result.path) as written:
        assert written.size == (320, 180)


def test_a_missing_reference_picture_is_named(server, tmp_path):
    spec = make_spec(setting_references=[str(tmp_path / "gone.png")])
    backend = OpenAIImageBackend.from_settings(settings_for(server.url))
    with pytest.raises(BackendError, match="gone.png is missing"):
        backend.generate(spec, tmp_path / "keyframe.png")
    assert server.requests == []


# Video


@pytest.mark.parametrize(("duration", "seconds"), [(1.5, "4"), (4.0, "4"), (4.2, "8"), (9.0, "12"), (30.0, "12")])
def test_seconds_is_the_shortest_clip_not_shorter_than_the_shot(duration, seconds):
    assert video_api_seconds(duration) == seconds


def test_video_size_follows_orientation_and_model():
    assert video_api_size("sora-2", 640, 360) == "1280x720"
    assert video_api_size("sora-2", 1920, 1080) == "1280x720"
    assert video_api_size("sora-2", 360, 640) == "720x1280"
    assert video_api_size("sora-2-pro", 640, 360) == "1280x720"
    assert video_api_size("sora-2-pro", 1920, 1080) == "1792x1024"
    assert video_api_size("sora-2-pro", 1080, 1920) == "1024x1792"


def test_animate_creates_polls_downloads_and_conforms(server, tmp_path):
    folder = take_folder(tmp_path, "ab12")
    keyframe = write_png(folder / "keyframe.png")
    spec = make_spec(duration=1.5, fps=12)
    backend = OpenAIVideoBackend.from_settings(settings_for(server.url))
    clip = backend.animate(spec, keyframe, folder / "clip.mp4")

    assert server.problems == []
    (create,) = server.requests_to("POST", "/videos")
    assert create.headers["content-type"].startswith("multipart/form-data")
    assert create.value("model") == "sora-2"
    assert create.value("seconds") == "4" and create.value("size") == "1280x720"
    assert create.value("prompt").startswith(spec.prompt)
    (reference,) = create.files["input_reference"]
    with Image.open(io.BytesIO(reference.data)) as sent:
        assert sent.size == (1280, 720)
    (job,) = server.jobs.values()
    assert job.retrieves >= 2, "the job was not polled until it completed"
    assert len(server.requests_to("GET", f"/videos/{job.id}/content")) == 1

    facts = probe_video(clip.path)
    assert (facts.width, facts.height, facts.num_frames, facts.codec) == (320, 180, 18, "h264")
    assert facts.fps == pytest.approx(12, abs=0.01)
    assert (clip.width, clip.height, clip.fps, clip.num_frames, clip.duration) == (320, 180, 12, 18, 1.5)
    assert (clip.backend, clip.model) == ("openai", "sora-2")
    record = OpenAIVideoRecord.model_validate_json((folder / "clip.openai.json").read_text())
    assert (record.video_id, record.model, record.seconds, record.size) == (job.id, "sora-2", "4", "1280x720")
    assert sorted(p.name for p in folder.iterdir()) == ["clip.mp4", "clip.openai.json", "keyframe.png"]


def test_a_shot_longer_than_any_clip_is_slowed_then_holds_its_last_frame(tmp_path):
    with FakeOpenAIMediaServer(video_fps=6, polls_before_done=1) as fake:
        folder = take_folder(tmp_path, "cd34")
        keyframe = write_png(folder / "keyframe.png", size=(180, 320))
        spec = make_spec(width=180, height=320, duration=20.0, fps=6)
        backend = OpenAIVideoBackend.from_settings(settings_for(fake.url))
        backend.animate(spec, keyframe, folder / "clip.mp4")
        assert fake.requests_to("POST", "/videos")[0].value("seconds") == "12"
        assert fake.requests_to("POST", "/videos")[0].value("size") == "720x1280"
    facts = probe_video(folder / "clip.mp4")
    assert (facts.width, facts.height, facts.num_frames) == (180, 320, 120)
    frames = read_frames(folder / "clip.mp4")
    # 12 s slowed by at most 1.5 fill 18 s; the last 2 s (12 frames) hold the last picture
    tail = np.stack(frames[-10:]).astype(int)
    assert np.abs(tail - tail[-1]).max() <= 3
    assert np.abs(frames[0].astype(int) - frames[60].astype(int)).max() > 50, "the picture never moved"


def test_a_reshoot_remixes_the_previous_take(server, tmp_path):
    backend = OpenAIVideoBackend.from_settings(settings_for(server.url))
    first_folder = take_folder(tmp_path, "aa11")
    first_keyframe = write_png(first_folder / "keyframe.png")
    backend.animate(make_spec(), first_keyframe, first_folder / "clip.mp4")
    (first_job,) = server.jobs.values()

    second_folder = take_folder(tmp_path, "bb22")
    reshoot = make_spec(prompt="medium shot, Mara runs for the train", init_image=str(first_keyframe))
    clip = backend.animate(reshoot, write_png(second_folder / "keyframe.png"), second_folder / "clip.mp4")

    assert server.problems == []
    assert len(server.requests_to("POST", "/videos")) == 2  # the create, and the remix below
    (remix,) = server.requests_to("POST", f"/videos/{first_job.id}/remix")
    assert remix.json["prompt"].startswith("medium shot, Mara runs for the train")
    remixed = next(job for job in server.jobs.values() if job.remixed_from == first_job.id)
    assert remixed.retrieves >= 2
    record = OpenAIVideoRecord.model_validate_json((second_folder / "clip.openai.json").read_text())
    assert (record.video_id, record.remixed_from) == (remixed.id, first_job.id)
    assert probe_video(clip.path).num_frames == 18


def test_a_reshoot_of_a_take_openai_forgot_is_made_afresh(server, tmp_path):
    first_folder = take_folder(tmp_path, "aa11")
    first_keyframe = write_png(first_folder / "keyframe.png")
    stale = OpenAIVideoRecord(video_id="video_gone", model="sora-2", seconds="4", size="1280x720", prompt="x")
    (first_folder / "clip.openai.json").write_text(stale.model_dump_json())
    second_folder = take_folder(tmp_path, "bb22")
    backend = OpenAIVideoBackend.from_settings(settings_for(server.url))
    backend.animate(
        make_spec(init_image=str(first_keyframe)), write_png(second_folder / "keyframe.png"), second_folder / "clip.mp4"
    )
    assert len(server.requests_to("POST", "/videos/video_gone/remix")) == 1
    creates = [r for r in server.requests_to("POST", "/videos") if r.path == "/v1/videos"]
    assert len(creates) == 1
    assert OpenAIVideoRecord.model_validate_json((second_folder / "clip.openai.json").read_text()).remixed_from is None


def test_characters_are_registered_once_and_reused(server, tmp_path):
    picture = write_png(tmp_path / "refs" / "mara.png", size=(300, 400), colour=(200, 40, 40))
    mara = MARA.model_copy(update={"reference_images": [str(picture)]})
    settings = settings_for(server.url)
    backend = OpenAIVideoBackend.from_settings(settings)
    for index, prompt in enumerate(["a quiet station at dawn", "Mara boards the train"]):
        folder = take_folder(tmp_path, f"c{index}{index}")
        spec = make_spec(shot_id=f"s{index}", prompt=prompt, cast=[mara])
        backend.animate(spec, write_png(folder / "keyframe.png"), folder / "clip.mp4")

    assert server.problems == []
    (registration,) = server.requests_to("POST", "/videos/characters")
    assert registration.value("name") == "Mara"
    assert registration.files["video"][0].content_type == "video/mp4"
    assert server.character_clip_seconds[0] == pytest.approx(3.0, abs=0.1)
    (character_id,) = server.characters
    creates = [r for r in server.requests_to("POST", "/videos") if r.path == "/v1/videos"]
    assert [r.fields["characters[][id]"] for r in creates] == [[character_id], [character_id]]
    assert creates[0].value("prompt").endswith("Characters: Mara.")  # named where the prompt did not
    assert "Characters:" not in creates[1].value("prompt")
    cache = json.loads((tmp_path / "takes" / CHARACTER_CACHE_NAME).read_text())
    assert [entry["character_id"] for entry in cache["characters"].values()] == [character_id]

    # a new process trusts the remembered character after one check, and registers again if OpenAI forgot it
    again = OpenAIVideoBackend.from_settings(settings)
    folder = take_folder(tmp_path, "dd44")
    again.animate(make_spec(cast=[mara]), write_png(folder / "keyframe.png"), folder / "clip.mp4")
    assert len(server.requests_to("GET", f"/videos/characters/{character_id}")) == 1
    assert len(server.requests_to("POST", "/videos/characters")) == 1
    server.characters.clear()
    forgetful = OpenAIVideoBackend.from_settings(settings)
    folder = take_folder(tmp_path, "ee55")
    forgetful.animate(make_spec(cast=[mara]), write_png(folder / "keyframe.png"), folder / "clip.mp4")
    assert len(server.requests_to("POST", "/videos/characters")) == 2
    assert server.problems == []


def test_a_character_openai_will_not_register_is_left_out(server, tmp_path, caplog):
    picture = write_png(tmp_path / "refs" / "mara.png")
    mara = MARA.model_copy(update={"reference_images": [str(picture)]})
    server.fail_next("moderation", "/videos/characters")
    backend = OpenAIVideoBackend.from_settings(settings_for(server.url))
    for name in ("aa11", "bb22"):
        folder = take_folder(tmp_path, name)
        backend.animate(make_spec(cast=[mara]), write_png(folder / "keyframe.png"), folder / "clip.mp4")
    assert len(server.requests_to("POST", "/videos/characters")) == 1, "a refused picture was sent again"
    creates = [r for r in server.requests_to("POST", "/videos") if r.path == "/v1/videos"]
    assert len(creates) == 2 and all("characters[][id]" not in r.fields for r in creates)
    assert "would not register Mara" in caplog.text
    assert not (tmp_path / "takes" / CHARACTER_CACHE_NAME).exists()


def test_characters_are_left_alone_when_reuse_is_off(server, tmp_path):
    picture = write_png(tmp_path / "refs" / "mara.png")
    spec = make_spec(cast=[MARA.model_copy(update={"reference_images": [str(picture)]})])
    folder = take_folder(tmp_path, "ff66")
    backend = OpenAIVideoBackend.from_settings(settings_for(server.url, reuse_characters=False))
    backend.animate(spec, write_png(folder / "keyframe.png"), folder / "clip.mp4")
    assert server.requests_to("POST", "/videos/characters") == []
    assert "characters[][id]" not in server.requests_to("POST", "/videos")[0].fields


def test_an_odd_size_is_refused_before_any_request(server, tmp_path):
    backend = OpenAIVideoBackend.from_settings(settings_for(server.url))
    with pytest.raises(BackendError, match="even size"):
        backend.animate(make_spec(width=321), write_png(tmp_path / "keyframe.png"), tmp_path / "clip.mp4")
    assert server.requests == []


# Speech


@pytest.mark.parametrize("streamed", [True, False])
def test_speak_writes_a_wav_and_measures_it(tmp_path, streamed):
    text = "The last train leaves at midnight."
    voice = Voice(openai="coral", instructions="Whisper, tired.")
    with FakeOpenAIMediaServer(streamed_wav=streamed) as fake:
        backend = OpenAISpeechBackend.from_settings(settings_for(fake.url))
        result = backend.speak(text, voice, tmp_path / "line.wav", speed=1.25)
        (request,) = fake.requests_to("POST", "/audio/speech")
        assert fake.problems == []
    assert request.json == {
        "model": "gpt-4o-mini-tts",
        "voice": "coral",
        "input": text,
        "response_format": "wav",
        "speed": 1.25,
        "instructions": "Whisper, tired.",
    }
    expected = round(0.06 * len(text) / 1.25, 2)
    assert result.duration == pytest.approx(expected, abs=0.011)
    assert (result.sample_rate, result.backend, result.model) == (24000, "openai", "gpt-4o-mini-tts")
    with wave.open(str(result.path), "rb") as written:
        assert written.getnchannels() == 1
        assert written.getnframes() == (result.path.stat().st_size - 44) // 2


def test_a_model_without_instructions_is_not_sent_them(server, tmp_path):
    backend = OpenAISpeechBackend.from_settings(settings_for(server.url, speech_model="tts-1"))
    backend.speak("Hello.", Voice(openai="onyx", instructions="gruff"), tmp_path / "line.wav")
    assert "instructions" not in server.requests_to("POST", "/audio/speech")[0].json
    assert server.problems == []


def test_speech_refuses_empty_text_and_impossible_speeds(server, tmp_path):
    backend = OpenAISpeechBackend.from_settings(settings_for(server.url))
    with pytest.raises(BackendError, match="empty"):
        backend.speak("  ", Voice(), tmp_path / "line.wav")
    with pytest.raises(BackendError, match="0.25 to 4.0"):
        backend.speak("Hi.", Voice(), tmp_path / "line.wav", speed=5.0)
    assert server.requests == []


def test_repaired_wav_keeps_a_well_formed_file_as_it_is():
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(8000)
        writer.writeframes(b"\x00\x01" * 800)
    assert repaired_wav(buffer.getvalue()) == buffer.getvalue()
    with pytest.raises(ValueError, match="RIFF"):
        repaired_wav(b"ID3 not a wav at all")


# Failures become BackendErrors that say what to do


def image_backend(server: FakeOpenAIMediaServer, **media) -> OpenAIImageBackend:
    return OpenAIImageBackend.from_settings(settings_for(server.url, **media))


def test_exhausted_quota_says_check_billing(server, tmp_path):
    server.fail_next("quota", "/images")
    with pytest.raises(BackendError, match="quota exhausted while making shot s1's keyframe: check billing"):
        image_backend(server).generate(make_spec(), tmp_path / "keyframe.png")
    assert not (tmp_path / "keyframe.png").exists()


def test_a_moderation_refusal_asks_for_a_new_prompt(server, tmp_path):
    server.fail_next("moderation", "/images")
    with pytest.raises(BackendError, match="refused the prompt for shot s1's keyframe as against its content policy"):
        image_backend(server).generate(make_spec(), tmp_path / "keyframe.png")


def test_a_moderation_refusal_of_a_video(server, tmp_path):
    server.fail_next("moderation", "/videos")
    backend = OpenAIVideoBackend.from_settings(settings_for(server.url))
    with pytest.raises(BackendError, match="shot s1's clip as against its content policy: rephrase"):
        backend.animate(make_spec(), write_png(tmp_path / "keyframe.png"), tmp_path / "clip.mp4")


def test_the_sdk_retries_a_passing_rate_limit(server, tmp_path):
    server.fail_next("rate_limit", "/images")
    result = image_backend(server, max_retries=2).generate(make_spec(), tmp_path / "keyframe.png")
    assert result.path.is_file()
    assert len(server.requests_to("POST", "/images/generations")) == 2


def test_a_lasting_rate_limit_says_wait_or_slow_down(server, tmp_path):
    server.fail_next("rate_limit", "/images", times=5)
    with pytest.raises(BackendError, match="rate limit hit .* still after 1 retries: wait a minute"):
        image_backend(server, max_retries=1).generate(make_spec(), tmp_path / "keyframe.png")
    assert len(server.requests_to("POST", "/images/generations")) == 2


def test_a_lasting_server_error_says_try_later(server, tmp_path):
    server.fail_next("server_error", "/audio", times=5)
    backend = OpenAISpeechBackend.from_settings(settings_for(server.url, max_retries=1))
    with pytest.raises(BackendError, match=r"server error \(500\) while making the line 'Hi.'.*try again later"):
        backend.speak("Hi.", Voice(), tmp_path / "line.wav")


def test_a_slow_answer_times_out_quickly(server, tmp_path):
    server.fail_next("slow", "/images", delay=5.0)
    started = time.monotonic()
    with pytest.raises(BackendError, match="did not answer in time .*DIRECTOR_RENDER__OPENAI__TIMEOUT"):
        image_backend(server, timeout=0.3).generate(make_spec(), tmp_path / "keyframe.png")
    assert time.monotonic() - started < 2.0


def test_a_failed_video_job_reports_openai_reason(tmp_path):
    error = ("video_generation_failed", "The model could not render this scene.")
    with FakeOpenAIMediaServer(video_outcome="failed", video_error=error) as fake:
        backend = OpenAIVideoBackend.from_settings(settings_for(fake.url))
        with pytest.raises(BackendError, match=r"video job video_\d+ failed \(video_generation_failed\): The model"):
            backend.animate(make_spec(), write_png(tmp_path / "keyframe.png"), tmp_path / "clip.mp4")
        assert fake.requests_to("GET", "/videos/video_000001/content") == []
    assert not (tmp_path / "clip.mp4").exists()


def test_a_video_job_blocked_by_moderation_asks_for_a_new_prompt(tmp_path):
    error = ("moderation_blocked", "Your request was blocked by our moderation system.")
    with FakeOpenAIMediaServer(video_outcome="failed", video_error=error) as fake:
        backend = OpenAIVideoBackend.from_settings(settings_for(fake.url))
        with pytest.raises(BackendError, match="content policy: rephrase"):
            backend.animate(make_spec(), write_png(tmp_path / "keyframe.png"), tmp_path / "clip.mp4")


def test_a_video_that_never_finishes_times_out(tmp_path):
    with FakeOpenAIMediaServer(video_outcome="stuck") as fake:
        backend = OpenAIVideoBackend.from_settings(settings_for(fake.url, video_timeout=0.2))
        started = time.monotonic()
        with pytest.raises(BackendError, match="still in_progress .* after 0.2 s.*VIDEO_TIMEOUT"):
            backend.animate(make_spec(), write_png(tmp_path / "keyframe.png"), tmp_path / "clip.mp4")
        assert time.monotonic() - started < 2.0
        assert fake.jobs["video_000001"].retrieves >= 2


def test_an_unreachable_endpoint_says_where_it_looked(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    backend = OpenAISpeechBackend.from_settings(settings_for(f"http://127.0.0.1:{port}/v1"))
    with pytest.raises(BackendError, match=f"could not reach OpenAI at http://127.0.0.1:{port}/v1"):
        backend.speak("Hi.", Voice(), tmp_path / "line.wav")


def test_a_wrong_key_says_check_the_key(server, tmp_path):
    with pytest.raises(BackendError, match="rejected the API key .*OPENAI_API_KEY"):
        image_backend(server, api_key="wrong-key").generate(make_spec(), tmp_path / "keyframe.png")
