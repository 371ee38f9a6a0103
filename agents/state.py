"""The film as data: every structure an agent reads or writes, serialisable to JSON.

State holds paths to frames and clips, never pixels, so checkpoints stay small.
"""

from __future__ import annotations

import operator
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agents.reducers import merge_alternates, merge_failures, merge_takes
from agents.review_scope import ReviewScope, UnresolvedShot
from agents.soundtrack import Soundtrack
from tools.edit.film_sound import SoundFacts
from tools.look.consistency import ConsistencyReport
from tools.look.continuity import ContinuityFlag
from tools.render.spec import HEX_COLOUR, Aspect, CameraMove, Fps, Framing, Height, ShotSpec, TimeOfDay, Voice, Width

SCHEMA_VERSION = 2


class ShotStatus(StrEnum):
    PLANNED = "planned"
    DESIGNED = "designed"
    RENDERED = "rendered"
    FAILED = "failed"


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def height_for(width: int, aspect: str) -> int:
    """The even frame height that gives `aspect` at `width`."""
    across, down = (float(part) for part in aspect.split(":"))
    return max(2, round(width * down / across / 2) * 2)


class StyleBible(Model):
    """The look every shot shares. The frame height follows the width and aspect unless given."""

    palette: list[Annotated[str, Field(pattern=HEX_COLOUR)]] = Field(
        default_factory=lambda: ["#1d3557", "#457b9d", "#a8dadc", "#f1faee", "#e63946"]
    )
    era: str = "present day"
    lens: str = "35mm"
    aspect: Aspect = "16:9"
    fps: Fps = 12
    width: Width = 640
    height: Height = 360
    direction: str = Field(default="", max_length=300, description="A filmmaker's note that every shot follows.")

    @model_validator(mode="before")
    @classmethod
    def _height_from_aspect(cls, data: object) -> object:
        if isinstance(data, dict) and "height" not in data:
            return {**data, "height": height_for(data.get("width", 640), data.get("aspect", "16:9"))}
        return data

    @field_validator("width", "height")
    @classmethod
    def _even(cls, value: int) -> int:
        if value % 2:
            raise ValueError("width and height must be even for H.264")
        return value


class Character(Model):
    id: str
    name: str
    look: str = Field(description="Face, hair, wardrobe: words an image generator can use.")
    signature_color: str = Field(default="#e63946", pattern=HEX_COLOUR)
    voice: Voice | None = Field(default=None, description="Cast by the designer when first needed.")
    reference_images: list[str] = Field(default_factory=list)

    @field_validator("voice", mode="before")
    @classmethod
    def _uncast_voice(cls, value: object) -> object:
        """Films saved before voices were cast kept an empty string."""
        return None if value == "" else value


class Setting(Model):
    id: str
    name: str
    look: str
    time_of_day: TimeOfDay = TimeOfDay.DAY
    interior: bool = False
    palette: list[Annotated[str, Field(pattern=HEX_COLOUR)]] = Field(default_factory=list)
    reference_images: list[str] = Field(default_factory=list)


class DialogueLine(Model):
    character_id: str
    text: str
    parenthetical: str = ""
    off_screen: bool = Field(default=False, description="Heard, not seen: a voice over or a voice off screen.")
    after_action: int = Field(
        default=0, ge=0, description="How many of the scene's action paragraphs come before this line."
    )


class Take(Model):
    """One rendering of a shot: files, who made them, and what determined them."""

    shot_id: str
    content_hash: str
    keyframe: str
    clip: str
    audio: str = Field(default="", description="The spoken line, a WAV file, when the shot has dialogue.")
    audio_seconds: float = 0.0
    ambience: str = Field(default="", description="The clip's own sound (WAV), played low under a shot with no line.")
    speech_backend: str = ""
    image_backend: str
    video_backend: str
    model: str = ""
    seed: int
    parameters: dict[str, str | int | float | bool] = Field(default_factory=dict)
    duration: float
    render_seconds: float = 0.0
    timings: dict[str, float] = Field(default_factory=dict, description="Seconds per stage: image, video, speech.")
    models: dict[str, str] = Field(default_factory=dict, description="The model per stage: image, video, speech.")
    worker: str = Field(default="", description="Where it rendered when not in the run's process: a Ray node.")
    checksums: dict[str, str] = Field(
        default_factory=dict, description="SHA-256 of each file when rendered, to notice one damaged since."
    )
    cache_hit: bool = False


class TakeRank(Model):
    """Where one candidate take of a shot stands, and what its review found."""

    number: int = Field(ge=1, description="The take's number in the shot's candidates, from 1.")
    content_hash: str
    score: float = Field(ge=0.0, le=1.0)
    vision: float | None = Field(default=None, ge=0.0, le=1.0, description="The vision model's score, if it looked.")
    face_distance: float | None = Field(default=None, description="The farthest face from its character's.")
    problems: list[str] = Field(default_factory=list)
    picked_by: Literal["critic", "filmmaker"] | None = Field(default=None, description="Set on the take in the cut.")


class Shot(Model):
    id: str
    scene_id: str
    order: int
    framing: Framing = Framing.MEDIUM
    camera_move: CameraMove = CameraMove.STATIC
    duration: float = Field(default=3.0, gt=0.5, le=30.0)
    action: str = ""
    dialogue: DialogueLine | None = None
    character_ids: list[str] = Field(default_factory=list)
    prompt: str = ""
    negative_prompt: str = ""
    seed: int = 0
    status: ShotStatus = ShotStatus.PLANNED
    direction: str = Field(default="", description="Extra direction added by the critic or a note.")
    reshoot_from: str = Field(
        default="", description="The keyframe a reshoot starts from (image-to-image); empty draws afresh."
    )
    takes: list[Take] = Field(default_factory=list)
    reference_weight: float | None = Field(default=None, ge=0.0, le=1.0, description="None: the backend's own.")
    candidates: list[Take] = Field(default_factory=list, description="Coverage: the latest render's takes, 1 first.")
    ranking: list[TakeRank] = Field(default_factory=list, description="The candidates, best first, and why.")
    outtakes: list[Take] = Field(default_factory=list, description="Earlier candidates never cut in (for costs).")

    def all_takes(self) -> list[Take]:
        """Every take made for the shot, each once: its history, then candidates and outtakes never cut in."""
        seen = {take.content_hash for take in self.takes}
        extra = {t.content_hash: t for t in [*self.candidates, *self.outtakes] if t.content_hash not in seen}
        return [*self.takes, *extra.values()]

    @property
    def take(self) -> Take | None:
        return self.takes[-1] if self.takes else None


class Scene(Model):
    id: str
    number: int
    heading: str = ""
    setting_id: str
    character_ids: list[str] = Field(default_factory=list)
    summary: str = ""
    action: list[str] = Field(default_factory=list)
    dialogue: list[DialogueLine] = Field(default_factory=list)
    transition: str = ""
    time_of_day: TimeOfDay | None = Field(default=None, description="Overrides the setting's time of day.")
    direction: str = Field(default="", max_length=300, description="A filmmaker's note for this scene's shots.")
    shots: list[Shot] = Field(default_factory=list)


class ShotChange(Model):
    """The concrete change a critic asks for when it sends a shot back.

    A `repair` mends words that failed the prose gate from the script or a default (never a new seed alone):
    `action` replaces the shot's action, `drop_line` silences a model-written line, and the designer composes
    the prompt again; a seed or direction rides along when the picture also needs one.
    """

    kind: Literal["new_seed", "new_prompt", "new_framing", "repair", "reshoot_from", "reference_weight"]
    seed: int | None = None
    direction: str = ""
    framing: Framing | None = None
    action: str | None = Field(default=None, description="repair: the shot's new action, the scene's own words.")
    drop_line: bool = Field(default=False, description="repair: the model-written line is not prose; drop it.")
    keyframe: str = Field(default="", description="reshoot_from: the keyframe of the take to start again from.")
    reference_weight: float | None = Field(default=None, ge=0.0, le=1.0, description="reference_weight: the new one.")


class ShotVerdict(Model):
    shot_id: str
    passed: bool
    score: float = Field(ge=0.0, le=1.0)
    reasons: list[str] = Field(default_factory=list)
    change: ShotChange | None = None
    vision: float | None = Field(default=None, ge=0.0, le=1.0, description="The vision model's score of the take.")


class VisionReport(Model):
    """Whether a vision model looked at the takes this round, which, and what it sent back."""

    model: str = ""
    asked: int = Field(default=0, description="Takes sent to the model this round (the others were kept verdicts).")
    scored: int = Field(default=0, description="Takes with a usable verdict.")
    flagged: list[str] = Field(default_factory=list, description="Shots it scored below `critic.vision_flag_below`.")
    unavailable: str = Field(default="", description="Why it stopped answering, when it did; the review went on.")


class Review(Model):
    """One round of the critic. It passes only on its objective checks: the rubric can flag, never pass."""

    round: int
    passed: bool
    verdicts: list[ShotVerdict] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    rubric: dict[str, int] = Field(
        default_factory=dict, description="Story and continuity scores; empty when the rubric answer was discarded."
    )
    rubric_discarded: int = Field(
        default=0, description="Rubric answers (scores, or the weakest-shot pick) refused as unusable this round."
    )
    repaired: list[str] = Field(
        default_factory=list, description="Film-level words (title, logline, looks) the critic mended in place."
    )
    consistency: ConsistencyReport | None = Field(
        default=None, description="Each character's face across the film's takes, measured with dlib."
    )
    continuity: list[ContinuityFlag] = Field(
        default_factory=list, description="Shots whose light or colour breaks from the rest of their scene."
    )
    vision: VisionReport | None = Field(default=None, description="None when no vision model looked.")
    unresolved: list[UnresolvedShot] = Field(
        default_factory=list, description="Shots still flagged when this round spent the last review round."
    )
    scope: ReviewScope | None = Field(default=None, description="What this round checked afresh and what it kept.")

    @property
    def flagged(self) -> list[str]:
        return [v.shot_id for v in self.verdicts if not v.passed]


GateName = Literal["script", "storyboard", "cut"]
TargetKind = Literal["film", "character", "setting", "scene", "shot", "removal", "reference", "sound"]


class ReferenceImage(Model):
    """An uploaded reference picture, stored in the project, for a character or a setting."""

    kind: Literal["character", "setting"]
    owner_id: str
    path: str = Field(description="Relative to the project root.")
    palette: list[Annotated[str, Field(pattern=HEX_COLOUR)]] = Field(default_factory=list)
    source: str = Field(default="", max_length=200, description="Where the user says the picture comes from.")


class Feedback(Model):
    """A filmmaker's note, optionally aimed at one scene (by number) or one shot (by id)."""

    text: str = Field(default="", description="Checked by `agents.notes.targets.check_feedback` before a run takes it.")
    scene: int | None = Field(default=None, ge=1)
    shot: str | None = None
    reference: ReferenceImage | None = None


class Revision(Model):
    """A note as the film's history keeps it: what it touched, what changed, which shots were remade."""

    at: str
    text: str
    scene: int | None = None
    shot: str | None = None
    kind: TargetKind
    target: str
    changes: list[str] = Field(default_factory=list)
    remade: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)
    reference: ReferenceImage | None = Field(default=None, description="The picture the note brought, if any.")


class GateDecision(Model):
    """How the filmmaker answers a gate: approve it, or send a note that revises the film first."""

    approve: bool = True
    feedback: Feedback | None = None


class GatePrompt(Model):
    """What a gate shows while the run waits for the filmmaker."""

    gate: GateName
    message: str
    shots: int = 0
    cut: str = ""


class Film(Model):
    schema_version: int = SCHEMA_VERSION
    id: str
    title: str = "Untitled"
    logline: str = ""
    premise: str = ""
    screenplay: str = Field(default="", description="Fountain source, when the film came from a script.")
    style: StyleBible = Field(default_factory=StyleBible)
    target_seconds: float = Field(default=45.0, ge=5.0, le=1800.0)
    characters: list[Character] = Field(default_factory=list)
    settings: list[Setting] = Field(default_factory=list)
    scenes: list[Scene] = Field(default_factory=list)
    review_rounds: list[Review] = Field(default_factory=list)
    feedback: list[Revision] = Field(default_factory=list, description="Every note the filmmaker gave, in order.")
    sound: Soundtrack = Field(default_factory=Soundtrack, description="The score and ambience, scene by scene.")

    @field_validator("feedback", mode="before")
    @classmethod
    def _notes_from_version_1(cls, value: object) -> object:
        """Version 1 kept notes as plain strings."""
        if isinstance(value, list):
            return [
                {"at": "", "text": item, "kind": "film", "target": "film"} if isinstance(item, str) else item
                for item in value
            ]
        return value

    def shots(self) -> list[Shot]:
        return [shot for scene in self.scenes for shot in scene.shots]

    def shot(self, shot_id: str) -> Shot:
        for shot in self.shots():
            if shot.id == shot_id:
                return shot
        raise KeyError(f"no shot {shot_id!r} in film {self.id!r}")

    def character(self, character_id: str) -> Character:
        for character in self.characters:
            if character.id == character_id:
                return character
        raise KeyError(f"no character {character_id!r} in film {self.id!r}")

    def name_of(self, character_id: str) -> str:
        """The name a character goes by; the id only for someone no longer in the cast."""
        return next((each.name for each in self.characters if each.id == character_id), character_id)

    def setting(self, setting_id: str) -> Setting:
        for setting in self.settings:
            if setting.id == setting_id:
                return setting
        raise KeyError(f"no setting {setting_id!r} in film {self.id!r}")


class RenderTask(BaseModel):
    """What one `render_shot` task receives through `Send`."""

    film_id: str
    spec: ShotSpec
    candidate: int = Field(default=1, ge=1, description="Which of the shot's takes this is (coverage: `render.takes`).")


class CutFiles(Model):
    """Where the editor put the cut and its sidecars."""

    video: str
    subtitles: str
    timeline: str
    manifest: str
    duration: float
    shot_ids: list[str]
    otio: str = Field(default="", description="The cut as an OpenTimelineIO timeline, at the film's rate.")
    edl: str = Field(default="", description="CMX 3600 EDL at `edit_rate`, for editors that take EDLs.")
    xml: str = Field(default="", description="Final Cut Pro 7 XML at `edit_rate` (Premiere and Resolve read it).")
    edit_rate: int | None = Field(default=None, description="The timecode rate of the EDL and XML.")
    storyboard: str = Field(default="", description="The printable storyboard (PDF), an HTML copy beside it.")
    content_credential: str = Field(default="", description="The C2PA manifest label the film is signed with.")
    score: str = Field(default="", description="The score as MIDI (score.mid), for a composer's DAW.")
    stems: dict[str, str] = Field(default_factory=dict, description="dialogue, music, ambience: WAVs for editors.")
    loudness: SoundFacts | None = Field(default=None, description="The mix as measured: LUFS, true peak, gain.")


class RunInput(Model):
    """What a person gives to start a run."""

    film_id: str
    premise: str = ""
    screenplay: str = ""
    target_seconds: float = Field(default=45.0, ge=5.0, le=1800.0)
    max_review_rounds: int = Field(default=2, ge=1, le=10)
    width: Width = 640
    aspect: Aspect = "16:9"
    fps: Fps = 12
    takes: int = Field(default=1, ge=1, le=8, description="Takes rendered per shot; the critic picks the best.")
    feedback: Feedback | None = Field(default=None, description="A note to apply before anything else runs.")


class RunState(BaseModel):
    """The graph's state: the film plus the bookkeeping of one run."""

    model_config = ConfigDict(extra="ignore")

    film_id: str
    premise: str = ""
    screenplay: str = ""
    target_seconds: float = 45.0
    max_review_rounds: int = 2
    width: int = 640
    aspect: Aspect = "16:9"
    fps: int = 12
    takes: int = 1
    film: Film | None = None
    dirty: list[str] = Field(default_factory=list, description="Shot ids the next render pass must render.")
    rendered: Annotated[dict[str, Take], merge_takes] = Field(default_factory=dict)
    alternates: Annotated[dict[str, dict[int, Take]], merge_alternates] = Field(
        default_factory=dict, description="Takes 2 and on of each shot rendered in this pass, by number."
    )
    failed: Annotated[dict[str, str], merge_failures] = Field(default_factory=dict)
    cut: CutFiles | None = None
    review: Review | None = None
    feedback: Feedback | None = Field(default=None, description="The note the revise node applies next.")
    approved: list[GateName] = Field(default_factory=list, description="Gates the filmmaker has passed.")
    review_base: int = Field(default=0, description="Review rounds before the latest note; rounds count from here.")
    log: Annotated[list[str], operator.add] = Field(default_factory=list)


CHECKPOINTED_MODULES = (__name__, ShotSpec.__module__, Soundtrack.__module__)
"""The modules whose models a checkpoint holds, so the checkpointer revives them as themselves."""
