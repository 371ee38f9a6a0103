"""The critic's vision client against a FAKE vision endpoint over real HTTP, through the real `openai` SDK."""

from __future__ import annotations

import json
import pickle
import socket
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.fake_vision import FakeVisionEndpoint, RecordedRequest
from tools.llm.structured_output import grammar_safe_schema
from tools.look import vision
from tools.look.vision import PROMPT_FILE, VisionReviewer, VisionUnavailableError
from tools.look.vision_verdict import (
    CharacterMatch,
    LabeledPicture,
    VisionChange,
    VisionShot,
    VisionVerdict,
    strict_json_schema,
)
from tools.settings import CriticSettings, LLMSettings, Settings

GOOD = {
    "in_frame": ["Noor"],
    "people_count": 1,
    "action_shown": True,
    "place_shown": True,
    "time_of_day_shown": False,
    "characters": [{"name": "Noor", "matches_look": False, "note": "her coat is blue, not yellow"}],
    "artifacts": ["hands"],
    "score": 4,
    "change": {"kind": "prompt_addition", "prompt_addition": "yellow oilskin coat", "reference_weight": None},
    "note": "The lamp is lit but the coat is wrong.",
}


def scripted(request: RecordedRequest) -> dict[str, Any] | str:
    """By shot id: s1 answers GOOD, s2 its score by the first picture's colour, s3 badly once, s4 always badly."""
    text = request.text
    if "Shot s2." in text:
        red, _, blue = request.pictures[0].mean_colour
        return {**GOOD, "score": 9 if red > blue else 2}
    if "Shot s3." in text and "Your answer was invalid" not in text:
        return json.dumps({**GOOD, "score": 42})
    if "Shot s4." in text:
        return "I think the take is quite nice."
    return GOOD


def shot(shot_id: str = "s1") -> VisionShot:
    return VisionShot(
        shot_id=shot_id,
        action="Noor lights the lamp",
        setting="the lantern room of a lighthouse",
        time_of_day="dusk",
        characters=[("Noor", "a woman in her sixties, grey braid, yellow oilskin coat")],
        expected_people=1,
        line="Light, at last.",
    )


@pytest.fixture(autouse=True)
def fresh_process_memory(monkeypatch):
    """Each test starts as a fresh process would: no endpoint remembered as unreachable."""
    monkeypatch.setattr(vision, "_UNREACHED_THIS_PROCESS", set())


@pytest.fixture(scope="module")
def endpoint():
    with FakeVisionEndpoint(scripted) as fake:
        yield fake


@pytest.fixture(scope="module")
def pictures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, LabeledPicture]:
    folder = tmp_path_factory.mktemp("pictures")
    made = {
        "wide_red": ("take 1, first frame", Image.new("RGB", (1024, 576), (200, 30, 30))),
        "blue_rgba": ("take 1, last frame", Image.new("RGBA", (300, 600), (30, 30, 200, 128))),
        "small_grey": ("take 1, middle frame", Image.new("L", (200, 100), 128)),
        "reference": ("Noor, reference", Image.new("RGB", (640, 640), (220, 200, 40))),
    }
    labeled = {}
    for name, (label, image) in made.items():
        path = folder / f"{name}.png" if image.mode == "RGBA" else folder / f"{name}.jpg"
        image.save(path)
        labeled[name] = LabeledPicture(label=label, path=path)
    return labeled


def reviewer(
    base_url: str | None, tmp_path: Path, *, flavour: str = "auto", max_retries: int = 2, **critic: Any
) -> VisionReviewer:
    """A reviewer of `base_url` given as the critic's own endpoint, or as the LLM's when a flavour is named."""
    on_llm = flavour != "auto"
    critic_settings = CriticSettings(
        **{"vision": "on", "vision_model": "fake-vision", "vision_max_side": 256, **critic},
        vision_base_url=None if on_llm else base_url,
    )
    llm = LLMSettings(base_url=base_url if on_llm else None, flavour=flavour, max_retries=max_retries)
    return VisionReviewer.from_settings(critic_settings, llm, probe_file=tmp_path / "vision-probes.json")


def requests_since(endpoint: FakeVisionEndpoint, count: int) -> list[RecordedRequest]:
    return endpoint.requests[count:]


def test_a_review_sends_the_shot_and_every_picture_as_a_small_png_and_reads_the_verdict(endpoint, pictures, tmp_path):
    before = len(endpoint.requests)
    take = [pictures["wide_red"], pictures["blue_rgba"], pictures["small_grey"]]
    with reviewer(endpoint.base_url, tmp_path) as looking:
        verdict = looking.review(shot("s1"), take, [pictures["reference"]])
        usage = looking.usage
    (request,) = requests_since(endpoint, before)
    assert verdict == VisionVerdict.model_validate(GOOD)
    assert request.problems == []
    assert len(request.pictures) == 4
    assert all(max(p.width, p.height) <= 256 and p.mode == "RGB" for p in request.pictures)
    assert [(p.width, p.height) for p in request.pictures] == [(256, 144), (128, 256), (200, 100), (256, 256)]
    assert request.pictures[0].mean_colour[0] > 150 > request.pictures[1].mean_colour[0]
    system, user = request.messages
    assert system["content"].startswith(PROMPT_FILE.read_text(encoding="utf-8").strip())
    assert [part["type"] for part in user["content"]] == ["text"] + ["image_url"] * 4
    for words in ("Shot s1.", "Noor lights the lamp", "yellow oilskin", "dusk", "Light, at last.", "Noor, reference"):
        assert words in user["content"][0]["text"]
    assert "1. take 1, first frame" in user["content"][0]["text"]
    assert "4. Noor, reference" in user["content"][0]["text"]
    assert usage.calls == 1 and usage.prompt_tokens > 4 * 85 and usage.completion_tokens > 0


def test_the_openai_flavour_asks_for_the_verdict_as_a_strict_json_schema(endpoint, pictures, tmp_path):
    before = len(endpoint.requests)
    with reviewer(endpoint.base_url, tmp_path, flavour="openai") as looking:
        looking.review(shot("s1"), [pictures["wide_red"]])
    (request,) = requests_since(endpoint, before)
    response_format = request.response_format
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["strict"] is True
    assert response_format["json_schema"]["schema"] == strict_json_schema(VisionVerdict)

    def objects(node: Any) -> list[dict]:
        if isinstance(node, list):
            return [found for item in node for found in objects(item)]
        if not isinstance(node, dict):
            return []
        inner = [found for value in node.values() for found in objects(value)]
        return ([node] if node.get("type") == "object" else []) + inner

    schema = response_format["json_schema"]["schema"]
    checked = objects(schema)
    assert len(checked) == 3
    assert all(o["additionalProperties"] is False and o["required"] == list(o["properties"]) for o in checked)
    assert "$ref" not in json.dumps(schema) and "maxLength" not in json.dumps(schema)
    assert schema["properties"]["artifacts"]["items"]["enum"] == [
        "hands", "face", "text", "extra_limbs", "extra_people", "blur", "none"
    ]  # fmt: skip
    assert grammar_safe_schema(VisionVerdict)["properties"]["score"] == {
        "type": "integer",
        "description": VisionVerdict.model_fields["score"].description,
    }


@pytest.mark.parametrize(("flavour", "kind"), [("ollama", "json_schema"), ("llama.cpp", "json_object")])
def test_other_flavours_ask_as_the_llm_client_does(endpoint, pictures, tmp_path, flavour, kind):
    before = len(endpoint.requests)
    with reviewer(endpoint.base_url, tmp_path, flavour=flavour) as looking:
        assert looking.review(shot("s1"), [pictures["wide_red"]]) is not None
    (request,) = requests_since(endpoint, before)
    assert request.response_format["type"] == kind
    assert request.response_format.get("json_schema", {}).get("strict") in (None, False)
    assert ("matches this JSON schema" in request.messages[0]["content"]) is (flavour == "ollama")


def test_the_verdict_follows_what_the_pictures_show(endpoint, pictures, tmp_path):
    with reviewer(endpoint.base_url, tmp_path) as looking:
        red_first = looking.review(shot("s2"), [pictures["wide_red"], pictures["blue_rgba"]])
        blue_first = looking.review(shot("s2"), [pictures["blue_rgba"], pictures["wide_red"]])
    assert (red_first.score, blue_first.score) == (9, 2)
    assert looking.is_reshoot(blue_first) and not looking.is_reshoot(red_first)


def test_an_invalid_answer_is_asked_for_again_once_with_the_pictures(endpoint, pictures, tmp_path):
    before = len(endpoint.requests)
    with reviewer(endpoint.base_url, tmp_path) as looking:
        verdict = looking.review(shot("s3"), [pictures["wide_red"]])
        usage = looking.usage
    first, second = requests_since(endpoint, before)
    assert verdict is not None and verdict.score == 4
    assert len(second.pictures) == 1 and second.messages[2]["role"] == "assistant"
    assert "score" in second.messages[3]["content"] and "Your answer was invalid" in second.messages[3]["content"]
    assert (usage.calls, usage.retries, usage.failures) == (2, 1, 0)


def test_an_answer_that_stays_invalid_gives_no_verdict(endpoint, pictures, tmp_path):
    before = len(endpoint.requests)
    with reviewer(endpoint.base_url, tmp_path) as looking:
        assert looking.review(shot("s4"), [pictures["wide_red"]]) is None
        assert looking.usage.failures == 1
    assert len(requests_since(endpoint, before)) == 2


def test_a_server_error_is_retried_and_then_raised_with_what_to_do(endpoint, pictures, tmp_path):
    before = len(endpoint.requests)
    endpoint.fail_next(503)
    with reviewer(endpoint.base_url, tmp_path) as looking:
        assert looking.review(shot("s1"), [pictures["wide_red"]]) is not None
    assert len(requests_since(endpoint, before)) == 2
    endpoint.fail_next(500, times=2)
    with reviewer(endpoint.base_url, tmp_path, max_retries=1) as looking:
        with pytest.raises(VisionUnavailableError, match="HTTP 500") as raised:
            looking.review(shot("s1"), [pictures["wide_red"]])
        assert looking.usage.failures == 1
    assert "DIRECTOR_CRITIC__VISION=off" in str(raised.value)
    assert str(pickle.loads(pickle.dumps(raised.value))) == str(raised.value)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_endpoint_in_on_mode_raises(pictures, tmp_path):
    with reviewer(f"http://127.0.0.1:{free_port()}/v1", tmp_path, max_retries=0) as looking:
        with pytest.raises(VisionUnavailableError, match="Could not reach the vision endpoint.*VISION_BASE_URL"):
            looking.review(shot("s1"), [pictures["wide_red"]])


def test_auto_probes_a_capable_endpoint_once_and_remembers_it_in_the_probe_file(pictures, tmp_path):
    with FakeVisionEndpoint(scripted) as fake:
        first = reviewer(fake.base_url, tmp_path, vision="auto")
        assert first.available() and first.available()
        (probe,) = fake.requests
        assert [(p.width, p.height) for p in probe.pictures] == [(16, 16)]
        assert first.usage.tasks["vision_probe"].calls == 1
        remembered = json.loads((tmp_path / "vision-probes.json").read_text())
        assert remembered[f"{fake.base_url} fake-vision"]["vision"] is True
        second = reviewer(fake.base_url, tmp_path, vision="auto")
        assert second.available()
        assert len(fake.requests) == 1
        assert second.review(shot("s1"), [pictures["wide_red"]]) is not None
        assert len(fake.requests) == 2


def test_auto_finds_a_text_only_endpoint_blind_and_never_sends_it_a_take(pictures, tmp_path):
    with FakeVisionEndpoint(scripted, vision=False) as fake:
        looking = reviewer(fake.base_url, tmp_path, vision="auto")
        assert not looking.available()
        assert looking.review(shot("s1"), [pictures["wide_red"]]) is None
        assert len(fake.requests) == 1
        remembered = json.loads((tmp_path / "vision-probes.json").read_text())
        entry = remembered[f"{fake.base_url} fake-vision"]
        assert entry["vision"] is False and "does not support image input" in entry["why"]


def test_auto_takes_an_unknown_model_for_blind(tmp_path):
    with FakeVisionEndpoint(scripted, models=("another-model",)) as fake:
        assert not reviewer(fake.base_url, tmp_path, vision="auto").available()
    assert json.loads((tmp_path / "vision-probes.json").read_text())[f"{fake.base_url} fake-vision"]["vision"] is False


def test_auto_with_an_unreachable_endpoint_is_blind_without_writing_it_down(tmp_path):
    looking = reviewer(f"http://127.0.0.1:{free_port()}/v1", tmp_path, vision="auto", max_retries=0)
    assert not looking.available()
    assert not (tmp_path / "vision-probes.json").exists()


def test_auto_does_not_write_down_a_refusal_that_is_not_about_pictures(tmp_path):
    with FakeVisionEndpoint(scripted) as fake:
        fake.fail_next(400)
        assert not reviewer(fake.base_url, tmp_path, vision="auto").available()
        (probe,) = fake.requests
        assert "temperature" not in probe.body
    assert not (tmp_path / "vision-probes.json").exists()


def test_auto_asks_the_endpoint_for_its_model_when_none_is_set(tmp_path):
    with FakeVisionEndpoint(scripted) as fake:
        critic = CriticSettings(vision_base_url=fake.base_url)
        looking = VisionReviewer.from_settings(critic, LLMSettings(), probe_file=tmp_path / "probes.json")
        assert looking.available() and looking.model == "fake-vision"


def test_off_never_asks_and_the_bundled_model_is_never_probed(endpoint, pictures, tmp_path):
    before = len(endpoint.requests)
    off = reviewer(endpoint.base_url, tmp_path, vision="off")
    assert not off.available() and off.review(shot("s1"), [pictures["wide_red"]]) is None
    assert len(endpoint.requests) == before
    bundled = VisionReviewer.from_settings(CriticSettings(), LLMSettings(), probe_file=tmp_path / "probes.json")
    assert not bundled.available() and bundled.usage.calls == 0
    assert not (tmp_path / "probes.json").exists()
    forced = VisionReviewer.from_settings(CriticSettings(vision="on"), LLMSettings(), probe_file=tmp_path / "p.json")
    with pytest.raises(VisionUnavailableError, match="bundled model cannot see"):
        forced.review(shot("s1"), [pictures["wide_red"]])


def test_the_vision_settings_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DIRECTOR_CONFIG", raising=False)
    assert Settings().critic.vision == "auto"
    monkeypatch.setenv("DIRECTOR_CRITIC__VISION", "off")
    monkeypatch.setenv("DIRECTOR_CRITIC__VISION_FLAG_BELOW", "0.7")
    settings = Settings()
    assert (settings.critic.vision, settings.critic.vision_flag_below) == ("off", 0.7)
    looking = VisionReviewer.from_settings(settings.critic, settings.llm, probe_file=tmp_path / "probes.json")
    assert looking.mode == "off" and looking.flag_below == 0.7


def test_problems_say_what_is_wrong_in_words():
    verdict = VisionVerdict(
        in_frame=["Noor", "Tam"],
        people_count=2,
        action_shown=False,
        place_shown=True,
        time_of_day_shown=False,
        characters=[
            CharacterMatch(name="Noor", matches_look=False, note="her braid is black"),
            CharacterMatch(name="Tam", matches_look=True),
        ],
        artifacts=["hands", "blur", "hands"],
        score=3,
        change=VisionChange(kind="new_seed"),
    )
    assert verdict.normalised_score == pytest.approx(0.3)
    assert verdict.problems(shot()) == [
        "2 people in frame, the shot has 1",
        "Noor does not match their look: her braid is black",
        "the action is not shown (Noor lights the lamp)",
        "the time of day does not show (dusk)",
        "hands are malformed",
        "the picture is blurred",
    ]
    alone = verdict.model_copy(update={"in_frame": [], "people_count": 0, "artifacts": ["none"], "action_shown": True})
    assert alone.problems() == ["Noor does not match their look: her braid is black", "the time of day does not show"]
    assert alone.problems(shot())[:2] == ["0 people in frame, the shot has 1", "Noor is not in frame"]
