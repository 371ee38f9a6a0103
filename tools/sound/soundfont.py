"""Which General MIDI SoundFont plays the score, with its licence and where that licence was read.

The configured file wins; else Debian's FluidR3_GM (MIT, 148 MB, package fluid-soundfont-gm); else the small
TimGM6mb (GPL-2.0, 6 MB) that ships inside the `pretty_midi` wheel. The score's audio is music the studio
delivers, so each choice carries its licence for the credits.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from tools.errors import DirectorError

DEBIAN_FLUID = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
PRETTY_MIDI_SOUNDFONT = "TimGM6mb.sf2"
SOUNDFONT_SUFFIXES = (".sf2", ".sf3")
INSTALL_HINT = (
    "run `apt install fluid-soundfont-gm` (make system does it) or set DIRECTOR_SOUND__SOUNDFONT to a .sf2/.sf3"
)


class SoundError(DirectorError):
    """The score cannot be played: no SoundFont, or no synthesizer; the message says what to install or set."""


class SoundFont(BaseModel):
    """A SoundFont file and what may be done with the music it plays."""

    model_config = ConfigDict(frozen=True)

    path: Path
    name: str
    licence: str
    source: str


FLUID_LICENCE = "MIT"
FLUID_SOURCE = "Debian fluid-soundfont-gm, Frank Wen; licence in /usr/share/doc/fluid-soundfont-gm/copyright"
TIMGM_LICENCE = "GPL-2.0"
TIMGM_SOURCE = (
    "TimGM6mb by Tim Brechbill, bundled in the pretty_midi wheel (whose own code is MIT); GPL-2.0 as Debian's "
    "timgm6mb-soundfont package states (the wheel carries no licence for the file)"
)


def pretty_midi_soundfont() -> Path | None:
    """The TimGM6mb.sf2 inside the installed pretty_midi package, found without importing pretty_midi."""
    try:
        spec = importlib.util.find_spec("pretty_midi")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / PRETTY_MIDI_SOUNDFONT
        if candidate.is_file():
            return candidate
    return None


def _known(path: Path) -> SoundFont | None:
    """FluidR3_GM or pretty_midi's TimGM6mb at `path`, with their licences; None for any other file."""
    resolved = path.resolve()
    if resolved == DEBIAN_FLUID.resolve():
        return SoundFont(path=path, name="FluidR3_GM", licence=FLUID_LICENCE, source=FLUID_SOURCE)
    bundled = pretty_midi_soundfont()
    if bundled is not None and resolved == bundled.resolve():
        return SoundFont(path=path, name="TimGM6mb", licence=TIMGM_LICENCE, source=TIMGM_SOURCE)
    return None


def find_soundfont(configured: Path | None) -> SoundFont:
    """The SoundFont to play the score: `configured` (settings `sound.soundfont`) if set, else the first found.

    Raises:
        SoundError: the configured file is missing or not a .sf2/.sf3, or no SoundFont is installed.
    """
    if configured is not None:
        if configured.suffix.lower() not in SOUNDFONT_SUFFIXES:
            raise SoundError(
                f"the configured SoundFont {configured} is not a .sf2 or .sf3 file: "
                "set DIRECTOR_SOUND__SOUNDFONT (or sound.soundfont in director.toml) to one, or unset it"
            )
        if not configured.is_file():
            raise SoundError(
                f"the configured SoundFont {configured} does not exist: set DIRECTOR_SOUND__SOUNDFONT "
                "(or sound.soundfont in director.toml) to an existing .sf2/.sf3, or unset it to use FluidR3_GM"
            )
        return _known(configured) or SoundFont(
            path=configured,
            name=configured.stem,
            licence="unknown: check the SoundFont's own licence before publishing the film",
            source="configured by DIRECTOR_SOUND__SOUNDFONT / sound.soundfont",
        )
    if DEBIAN_FLUID.is_file():
        return SoundFont(path=DEBIAN_FLUID, name="FluidR3_GM", licence=FLUID_LICENCE, source=FLUID_SOURCE)
    bundled = pretty_midi_soundfont()
    if bundled is not None:
        return SoundFont(path=bundled, name="TimGM6mb", licence=TIMGM_LICENCE, source=TIMGM_SOURCE)
    raise SoundError(f"no General MIDI SoundFont to play the score: {INSTALL_HINT}")


def soundfont_identity(soundfont: SoundFont) -> dict[str, object]:
    """What names the SoundFont's content in a cache key: file name, size and modification time (ns)."""
    stat = soundfont.path.stat()
    return {"file": soundfont.path.name, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
