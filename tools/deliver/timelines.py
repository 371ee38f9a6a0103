"""Editorial timelines for an assembled cut: OpenTimelineIO, CMX 3600 EDL and FCP 7 XML for real editors.

The film's timing (title card, shots overlapping at scene changes, spoken lines) becomes, in
`tools.deliver.otio_timeline`, one video track of clips that point at the take files themselves,
cross-dissolves at scene changes, a marker per scene and per subtitle, audio tracks with the spoken lines,
and one film-length audio track per sound stem ("Dialogue stem", "Music", "Ambience"). Each format keeps what it
can: `film.otio` everything; `film.xml` all but our metadata and marker colours, with each dissolve centred on its
cut, and each stem a `<track>` of its own under `<audio>`; `film.edl` the picture edit with reels and point
markers (upper-cased), but no audio: the CMX 3600 adapter writes a single track's events and refuses more than
two audio tracks, so the EDL is built from the picture track alone.

`film.otio` counts in the film's own frames. EDL and XML carry SMPTE timecode, which has no 12 or 16 fps, so
they count at the edit rate: the smallest timecode rate that is a whole multiple of the film's (24 for 12 fps,
48 for 16), where every film frame is a whole number of timeline frames.
"""

from __future__ import annotations

import re
from contextlib import ExitStack
from pathlib import Path

import opentimelineio as otio
from pydantic import BaseModel, ConfigDict, Field

from tools.deliver.otio_timeline import REEL_LENGTH, TimelineError, TimelinePlan, build_timeline
from tools.files import open_atomic

OTIO_NAME = "film.otio"
EDL_NAME = "film.edl"
XML_NAME = "film.xml"
MAX_EDIT_RATE = 120
ADAPTER_PACKAGES = {"cmx_3600": "otio-cmx3600-adapter", "fcp_xml": "otio-fcp-adapter"}
_DISSOLVE_LINE = re.compile(r"^\d{3,}\s+\S+\s+\S+\s+D\s")


class TimelineFiles(BaseModel):
    """The three exported timelines, side by side in the cut folder."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    otio: Path
    edl: Path
    xml: Path
    edit_rate: int = Field(description="Frames per second of film.edl and film.xml; an EDL does not say its own.")


def export_timeline(plan: TimelinePlan, out_dir: Path) -> TimelineFiles:
    """Write `film.otio`, `film.edl` and `film.xml` for `plan` into `out_dir`.

    All three are rendered in memory first, then written under temporary names that are renamed into place
    only once all three are written, so a failed export leaves the previous files (or none) and never a
    half-written one.

    Raises:
        TimelineError: a take or line file is missing, the timing is not on the frame grid or cannot be cut, or
            the files cannot be written.
    """
    out_dir = Path(out_dir)
    finals = [out_dir / OTIO_NAME, out_dir / EDL_NAME, out_dir / XML_NAME]
    for final in finals:
        if final.exists() and not final.is_file():
            raise TimelineError(f"{final} is in the way and is not a file; move it aside and export again")
    rate = edit_rate(plan.fps)
    timeline = build_timeline(plan)
    editorial = _conformed(timeline, rate)
    texts = [
        _render(timeline, "otio_json", "OpenTimelineIO"),
        _edl_text(editorial, rate),
        _xml_text(editorial, plan, rate),
    ]
    try:
        with ExitStack() as files:
            for final, text in zip(finals, texts, strict=True):
                files.enter_context(open_atomic(final)).write(text.encode("utf-8"))
    except OSError as err:
        raise TimelineError(f"could not write the timelines into {out_dir}: {err}") from err
    return TimelineFiles(otio=finals[0], edl=finals[1], xml=finals[2], edit_rate=rate)


def edit_rate(fps: int) -> int:
    """The smallest SMPTE timecode rate that is a whole multiple of `fps`, for the EDL and the XML.

    Raises:
        TimelineError: no timecode rate is a multiple of `fps` (say 18), so no EDL could place every frame.
    """
    rates = (fps * k for k in range(1, MAX_EDIT_RATE // fps + 1))
    rate = next((r for r in rates if otio.opentime.RationalTime.is_valid_timecode_rate(r)), None)
    if rate is None:
        raise TimelineError(
            f"{fps} fps has no whole multiple among the SMPTE timecode rates (24, 25, 30, 48, 50, 60), so an EDL "
            f"or XML cannot hold the cut frame for frame; cut the film at 6, 8, 10, 12, 15, 16, 20, 24, 25, 30, "
            f"48, 50 or 60 fps"
        )
    return rate


def _conformed(timeline: otio.schema.Timeline, rate: int) -> otio.schema.Timeline:
    """A copy of `timeline` counted at `rate`, a whole multiple of its own, so every time scales exactly."""
    copy = timeline.deepcopy()

    def scaled(span: otio.opentime.TimeRange) -> otio.opentime.TimeRange:
        return otio.opentime.TimeRange(span.start_time.rescaled_to(rate), span.duration.rescaled_to(rate))

    copy.global_start_time = copy.global_start_time.rescaled_to(rate)
    for track in copy.tracks:
        for item in track:
            if isinstance(item, otio.schema.Transition):
                item.in_offset = item.in_offset.rescaled_to(rate)
                item.out_offset = item.out_offset.rescaled_to(rate)
                continue
            item.source_range = scaled(item.source_range)
            for marker in item.markers:
                marker.marked_range = scaled(marker.marked_range)
            if isinstance(item, otio.schema.Clip):
                item.media_reference.available_range = scaled(item.media_reference.available_range)
    return copy


def _xml_text(timeline: otio.schema.Timeline, plan: TimelinePlan, rate: int) -> str:
    """FCP 7 XML, with the sequence's frame size, which Premiere and Resolve set the timeline up from."""
    timeline = timeline.deepcopy()
    timeline.metadata["fcp_xml"] = {"media": {"video": {"format": _fcp_format(plan, rate)}}}
    for track in timeline.video_tracks():
        _centre_dissolves(track)
    return _render(timeline, "fcp_xml", "FCP 7 XML")


def _centre_dissolves(track: otio.schema.Track) -> None:
    """Move each dissolve's cut to its middle frame (the earlier one for an odd length), as FCP 7 XML needs.

    XML can only centre a transition on its cut, so an uneven split would be read back a frame off. The
    incoming shot's markers that now fall before its first frame in the edit move up to that frame.
    """
    for index, item in enumerate(track):
        if not isinstance(item, otio.schema.Transition):
            continue
        total = item.in_offset + item.out_offset
        centred = otio.opentime.RationalTime(total.value // 2, total.rate)
        shift = centred - item.in_offset
        item.in_offset, item.out_offset = centred, total - centred
        outgoing, incoming = track[index - 1], track[index + 1]
        outgoing.source_range = outgoing.source_range.duration_extended_by(shift)
        first = incoming.source_range.start_time + shift
        incoming.source_range = otio.opentime.TimeRange(first, incoming.source_range.duration - shift)
        for marker in incoming.markers:
            span = marker.marked_range
            if span.start_time < first:
                late = first - span.start_time
                duration = max(span.duration - late, otio.opentime.RationalTime(0, late.rate))
                marker.marked_range = otio.opentime.TimeRange(first, duration)


def _edl_text(timeline: otio.schema.Timeline, rate: int) -> str:
    """A CMX 3600 EDL of the picture edit alone; the adapter rewrites the track it is given, so it gets a copy.

    The line and stem audio tracks are left out: the adapter refuses more than two audio tracks (a film with
    stems has up to five) and writes only the first track's events anyway.
    """
    picture = otio.schema.Timeline(name=" ".join(timeline.name.split()), global_start_time=timeline.global_start_time)
    picture.tracks.append(timeline.video_tracks()[0].deepcopy())
    for clip in picture.find_clips():
        # EDL comments are plain paths, which Avid and conform tools read, rather than file URLs.
        clip.media_reference.target_url = otio.url_utils.filepath_from_url(clip.media_reference.target_url)
    text = _render(picture, "cmx_3600", "CMX 3600 EDL", rate=rate, style="avid", reelname_len=REEL_LENGTH)
    text = _without_repeated_locators(text)
    title, _, rest = text.partition("\n")
    return f"{title}\nFCM: NON-DROP FRAME\n{rest}" if title.startswith("TITLE:") else f"FCM: NON-DROP FRAME\n\n{text}"


def _without_repeated_locators(edl: str) -> str:
    """Drop the outgoing clip's locators that the adapter repeats inside a dissolve event.

    They are already on the outgoing clip's own event; read back, the repeats land on the incoming clip at the
    outgoing clip's source timecode, where they mark the wrong frames.
    """
    lines = []
    outgoing = False
    for line in edl.split("\n"):
        if _DISSOLVE_LINE.match(line):
            outgoing = True
        elif line.startswith("* TO CLIP NAME") or line[:1].isdigit():
            outgoing = False
        if not (outgoing and line.startswith("* LOC:")):
            lines.append(line)
    return "\n".join(lines)


def _render(timeline: otio.schema.Timeline, adapter: str, what: str, **options: object) -> str:
    if adapter not in otio.adapters.available_adapter_names():
        package = ADAPTER_PACKAGES.get(adapter, adapter)
        raise TimelineError(f"OpenTimelineIO has no {adapter!r} adapter for the {what}; pip install {package}")
    try:
        return otio.adapters.write_to_string(timeline, adapter_name=adapter, **options)
    except Exception as err:
        raise TimelineError(f"the {what} adapter could not write timeline {timeline.name!r}: {err}") from err


def _fcp_format(plan: TimelinePlan, rate: int) -> dict:
    return {
        "samplecharacteristics": {
            "rate": {"timebase": rate, "ntsc": "FALSE"},
            "width": plan.width,
            "height": plan.height,
            "anamorphic": "FALSE",
            "pixelaspectratio": "square",
            "fielddominance": "none",
        }
    }
