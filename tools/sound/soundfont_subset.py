"""A SoundFont cut down to the General MIDI programs a score plays, so the synthesizer loads only their samples.

TinySoundFont holds every sample of a font as float32: loading the whole FluidR3_GM (148 MB) costs about 285 MiB
of memory, while a score plays a handful of programs. `subset_soundfont` writes a smaller SF2 in memory with only
those presets (in every bank and in their original order, so preset lookup and bank fallback are unchanged), the
instruments and samples they use, and each sample's points with the 46 points after it (read from the file, which
are zeros in a font that follows the spec), so every value the synthesizer reads is the same. The audio matches
the whole font's to float rounding (about 1e-6 of full scale), not bit for bit: TinySoundFont steps through its one
sample array at double-precision positions, and a sample moved to a smaller position rounds its steps differently.
Anything it does not copy faithfully (compressed .sf3 samples, ROM samples, a malformed file) gives None, and the
caller loads the whole file.
"""

from __future__ import annotations

import struct
from collections.abc import Collection
from pathlib import Path
from typing import BinaryIO

RECORDS = {
    "phdr": "<20sHHHIII", "pbag": "<HH", "pmod": "<HHhHH", "pgen": "<HH",
    "inst": "<20sH", "ibag": "<HH", "imod": "<HHhHH", "igen": "<HH", "shdr": "<20sIIIIIBbHH",
}  # fmt: skip
"""The SF2 2.04 hydra: each pdta chunk's record layout."""
INSTRUMENT = 41
SAMPLE_ID = 53
ADDRESS_OFFSETS = {0: 1, 1: 1, 2: 1, 3: 1, 4: 32768, 12: 32768, 45: 32768, 50: 32768}
"""Generators that move a sample's start, end or loop points, with the points each unit of them is worth."""
GUARD_POINTS = 46
LINKED_TYPES = 0x2 | 0x4 | 0x8
COMPRESSED_OR_ROM = 0x10 | 0x8000


def _chunks(file: BinaryIO, start: int, end: int) -> dict[bytes, tuple[int, int]]:
    """Each chunk's [body start, body end) between `start` and `end`; a LIST is named by its list type."""
    found: dict[bytes, tuple[int, int]] = {}
    position = start
    while position + 8 <= end:
        file.seek(position)
        ident, size = struct.unpack("<4sI", file.read(8))
        body = position + 8
        if body + size > end:
            raise ValueError("chunk runs past its parent")
        if ident == b"LIST":
            found[file.read(4)] = (body + 4, body + size)
        else:
            found[ident] = (body, body + size)
        position = body + size + (size & 1)
    return found


def _read(file: BinaryIO, span: tuple[int, int]) -> bytes:
    file.seek(span[0])
    data = file.read(span[1] - span[0])
    if len(data) != span[1] - span[0]:
        raise ValueError("file ends early")
    return data


def _chunk(ident: bytes, body: bytes) -> bytes:
    return struct.pack("<4sI", ident, len(body)) + body + b"\0" * (len(body) & 1)


def _ascending(indices: list[int], count: int) -> None:
    """Raise unless `indices` (a header's or bag's first-record indices, terminal included) step through `count`."""
    if not indices or any(a > b for a, b in zip(indices, indices[1:], strict=False)) or indices[-1] >= count:
        raise ValueError("record indices out of order or range")


def _slack(generators: list[tuple[int, int]]) -> tuple[int, int]:
    """How far, at most, address-offset generators move any point back and forward."""
    moves = [
        ((amount ^ 0x8000) - 0x8000) * ADDRESS_OFFSETS[oper] for oper, amount in generators if oper in ADDRESS_OFFSETS
    ]
    return sum(move for move in moves if move < 0), sum(move for move in moves if move > 0)


def _zones(headers: list[tuple], bag_field: int, index: int, bags: list[tuple], gens: list[tuple]) -> list[list]:
    """The generator lists of the zones of header `index` (its global zone first, if it has one)."""
    return [
        gens[bags[bag][0] : bags[bag + 1][0]] for bag in range(headers[index][bag_field], headers[index + 1][bag_field])
    ]


def _rebuild(pdta: dict[str, list[tuple]], kind: str, kept: list[int], remap: dict[int, int]) -> list[bytes]:
    """The kept headers with their bags, modulators and generators re-indexed, each list with its terminal record."""
    names = ("phdr", "pbag", "pmod", "pgen") if kind == "p" else ("inst", "ibag", "imod", "igen")
    headers, bags, mods, gens = (pdta[name] for name in names)
    bag_field, link = (3, INSTRUMENT) if kind == "p" else (1, SAMPLE_ID)
    new: tuple[list[tuple], ...] = ([], [], [], [])
    for index in kept:
        new[0].append((*headers[index][:bag_field], len(new[1]), *headers[index][bag_field + 1 :]))
        for bag in range(headers[index][bag_field], headers[index + 1][bag_field]):
            new[1].append((len(new[3]), len(new[2])))
            new[2].extend(mods[bags[bag][1] : bags[bag + 1][1]])
            new[3].extend(
                (op, remap[amount] if op == link else amount) for op, amount in gens[bags[bag][0] : bags[bag + 1][0]]
            )
    new[0].append((*headers[-1][:bag_field], len(new[1]), *headers[-1][bag_field + 1 :]))
    new[1].append((len(new[3]), len(new[2])))
    new[2].append(mods[-1])
    new[3].append(gens[-1])
    return [
        _chunk(name.encode(), b"".join(struct.pack(RECORDS[name], *row) for row in rows))
        for name, rows in zip(names, new, strict=True)
    ]


def _parse(file: BinaryIO) -> tuple[bytes, dict[bytes, tuple[int, int]], dict[str, list[tuple]]]:
    """The INFO list's body, the sdta chunks' spans and the pdta records of a checked, uncompressed SF2."""
    riff, size, form = struct.unpack("<4sI4s", file.read(12))
    if riff != b"RIFF" or form != b"sfbk":
        raise ValueError("not a SoundFont")
    top = _chunks(file, 12, 8 + size)
    info = _read(file, (top[b"INFO"][0] - 4, top[b"INFO"][1]))
    version = _chunks(file, *top[b"INFO"]).get(b"ifil")
    if version is not None and struct.unpack("<H", _read(file, (version[0], version[0] + 2)))[0] >= 3:
        raise ValueError("compressed SoundFont 3")
    sdta = _chunks(file, *top[b"sdta"])
    spans = _chunks(file, *top[b"pdta"])
    pdta: dict[str, list[tuple]] = {}
    for name, layout in RECORDS.items():
        data = _read(file, spans[name.encode()])
        if not data or len(data) % struct.calcsize(layout):
            raise ValueError(f"bad {name} chunk")
        pdta[name] = list(struct.iter_unpack(layout, data))
    for headers, field, bags in (("phdr", 3, "pbag"), ("inst", 1, "ibag")):
        _ascending([row[field] for row in pdta[headers]], len(pdta[bags]))
        for column, records in ((0, bags[0] + "gen"), (1, bags[0] + "mod")):
            _ascending([row[column] for row in pdta[bags]], len(pdta[records]))
    if any(row[9] & COMPRESSED_OR_ROM for row in pdta["shdr"][:-1]):
        raise ValueError("compressed or ROM samples")
    return info, sdta, pdta


def _windows(pdta: dict[str, list[tuple]], instruments: dict[int, tuple[int, int]]) -> dict[int, list[int]]:
    """The [first, last) points of each sample the kept instruments play, or that a kept stereo sample links to.

    A window covers the sample, its loop and the 46 guard points after them, widened by every address-offset
    generator of the zones that play it (preset level included), so every point the synthesizer can read is kept.
    """
    shdr, windows = pdta["shdr"], {}
    for instrument, (back, forward) in instruments.items():
        zones = _zones(pdta["inst"], 1, instrument, pdta["ibag"], pdta["igen"])
        shared = zones[0] if zones and (not zones[0] or zones[0][-1][0] != SAMPLE_ID) else []
        for zone in zones:
            if zone and zone[-1][0] == SAMPLE_ID:
                low, high = _slack(shared + zone[:-1])
                windows.setdefault(zone[-1][1], []).append((back + low, forward + high))
    pending = list(windows)
    while pending:
        sample = pending.pop()
        if sample >= len(shdr) - 1:
            raise ValueError("sample index out of range")
        if shdr[sample][9] & LINKED_TYPES and shdr[sample][8] not in windows:
            windows[shdr[sample][8]] = [(0, 0)]
            pending.append(shdr[sample][8])
    spans = {}
    for sample in sorted(windows):
        _name, start, end, loop_start, loop_end = shdr[sample][:5]
        back = min(move for move, _ in windows[sample])
        forward = max(move for _, move in windows[sample])
        spans[sample] = [max(0, min(start, loop_start) + back), max(end, loop_end) + GUARD_POINTS + forward]
    return spans


def subset_soundfont(path: Path, presets: Collection[int]) -> bytes | None:
    """An SF2 holding only the presets numbered in `presets` (in every bank), or None to load the whole file.

    None for a file this does not copy faithfully: a .sf3 or compressed or ROM samples, a malformed or unreadable
    file, or a font with none of `presets`.
    """
    try:
        with path.open("rb") as file:
            info, sdta, pdta = _parse(file)
            phdr, pgen, pbag = pdta["phdr"], pdta["pgen"], pdta["pbag"]
            kept = [index for index in range(len(phdr) - 1) if phdr[index][1] in presets]
            instruments: dict[int, tuple[int, int]] = {}
            for index in kept:
                zones = _zones(phdr, 3, index, pbag, pgen)
                shared = zones[0] if zones and (not zones[0] or zones[0][-1][0] != INSTRUMENT) else []
                for zone in zones:
                    if zone and zone[-1][0] == INSTRUMENT:
                        if zone[-1][1] >= len(pdta["inst"]) - 1:
                            raise ValueError("instrument index out of range")
                        back, forward = _slack(shared + zone[:-1])
                        old_back, old_forward = instruments.get(zone[-1][1], (0, 0))
                        instruments[zone[-1][1]] = (min(back, old_back), max(forward, old_forward))
            if not kept:
                return None
            windows = _windows(pdta, instruments)
            chunks = [b"smpl"] + ([b"sm24"] if b"sm24" in sdta else [])
            data: dict[bytes, list[bytes]] = {chunk: [] for chunk in chunks}
            samples, position = [], 0
            for sample, (first, last) in windows.items():
                for chunk, width in zip(chunks, (2, 1), strict=False):
                    start = sdta[chunk][0] + first * width
                    stop = min(sdta[chunk][0] + last * width, sdta[chunk][1])
                    piece = _read(file, (start, max(start, stop)))
                    data[chunk].append(piece + b"\0" * ((last - first) * width - len(piece)))
                name, start, end, loop_start, loop_end, *rest = pdta["shdr"][sample]
                shift = position - first
                samples.append([name, start + shift, end + shift, loop_start + shift, loop_end + shift, *rest])
                position += last - first
        remap = {sample: new for new, sample in enumerate(windows)}
        for row in samples:
            row[8] = remap[row[8]] if row[9] & LINKED_TYPES else 0
        samples.append(list(pdta["shdr"][-1]))
        pdta_chunks = _rebuild(pdta, "p", kept, {old: new for new, old in enumerate(sorted(instruments))})
        pdta_chunks += _rebuild(pdta, "i", sorted(instruments), remap)
        pdta_chunks.append(_chunk(b"shdr", b"".join(struct.pack(RECORDS["shdr"], *row) for row in samples)))
        body = b"sfbk" + _chunk(b"LIST", info)
        body += _chunk(b"LIST", b"sdta" + b"".join(_chunk(chunk, b"".join(data[chunk])) for chunk in chunks))
        return _chunk(b"RIFF", body + _chunk(b"LIST", b"pdta" + b"".join(pdta_chunks)))
    except (OSError, ValueError, KeyError, IndexError, struct.error):
        return None
