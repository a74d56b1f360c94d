"""A playable MP3 of a text, as a TTS provider answers it: MPEG-1 Layer III, mono, 48 kHz, 32 kbps.

No encoder is needed. Each granule (576 samples) holds at most one spectral line at quantised value 1,
coded in the count1 region with ISO/IEC 11172-3's Huffman table B (the four bits inverted, then the
sign); a line held across granules decodes as a steady tone of `line x 41.67 Hz`. Each word of the
text is one note, its pitch from the word and the voice, its length from the word's; a short rest
follows each word and a longer one `.`, `!` or `?`. The same text and voice give the same bytes.

The frames' ancillary bytes (which decoders skip) carry the text, so audio-to-text can read back what
text-to-audio said (`spoken_text`)."""

from __future__ import annotations

import re
import zlib
from typing import Final

SAMPLE_RATE: Final = 48_000
SAMPLES_PER_FRAME: Final = 1152
FRAME_BYTES: Final = 96  # 144 x 32000 / 48000, never padded
# sync, MPEG-1, Layer III, no CRC | 32 kbps, 48 kHz, no padding | mono, original
HEADER: Final = bytes((0xFF, 0xFB, 0x14, 0xC4))
_SIDE_INFO_BYTES: Final = 17  # mono
_ANCILLARY_AT: Final = 32  # after the header, side info and at most 26 bits of main data
_MAGIC: Final = b"DIFY-MOCK-TTS\x00"
MAX_FRAMES: Final = 12_500  # five minutes
_GAIN: Final = 202  # global_gain: 2^((202 - 210) / 4) = 1/4 of full scale per line
_SOFT: Final = _GAIN - 6  # the first and last granule of a note: no click
_LOW_LINE: Final = 7  # 292 Hz
_PITCHES: Final = 8  # up to line 14, 583 Hz
_WORD = re.compile(r"\S+")


class _Bits:
    def __init__(self) -> None:
        self.value = 0
        self.count = 0

    def put(self, value: int, width: int) -> None:
        self.value = (self.value << width) | value
        self.count += width

    def extend(self, other: _Bits) -> None:
        self.put(other.value, other.count)

    def to_bytes(self, size: int) -> bytes:
        return (self.value << (size * 8 - self.count)).to_bytes(size, "big")


def _main_data(line: int | None) -> _Bits:
    """One granule's Huffman data: quadruples of zeros up to `line`, which holds +1; none for silence."""
    bits = _Bits()
    if line is None:
        return bits
    for quad in range(line // 4 + 1):
        value = 1 << (3 - line % 4) if quad == line // 4 else 0
        bits.put(15 - value, 4)  # table B: the inverted bits of v w x y
    bits.put(0, 1)  # its sign: positive
    return bits


def _frame(granules: tuple[tuple[int | None, int], tuple[int | None, int]], ancillary: bytes) -> bytes:
    side, main = _Bits(), _Bits()
    side.put(0, 9)  # main_data_begin: no bit reservoir
    side.put(0, 5)  # private bits
    side.put(0, 4)  # scfsi
    for line, gain in granules:
        data = _main_data(line)
        side.put(data.count, 12)  # part2_3_length (no scale factors: scalefac_compress 0)
        side.put(0, 9)  # big_values: everything is count1
        side.put(gain if line is not None else 0, 8)
        side.put(0, 4 + 1 + 15 + 4 + 3 + 1 + 1)  # scalefac_compress .. scalefac_scale: long blocks
        side.put(1, 1)  # count1table_select: table B
        main.extend(data)
    head = HEADER + side.to_bytes(_SIDE_INFO_BYTES) + main.to_bytes(_ANCILLARY_AT - 4 - _SIDE_INFO_BYTES)
    return head + ancillary.ljust(FRAME_BYTES - _ANCILLARY_AT, b"\x00")


def _notes(text: str, voice: str) -> list[int | None]:
    """The line each granule sounds (None: a rest)."""
    granules: list[int | None] = []
    for match in _WORD.finditer(text):
        if len(granules) >= 2 * MAX_FRAMES:
            break  # a long text is cut at five minutes: no need to read the rest of it
        word = match.group()
        line = _LOW_LINE + zlib.crc32(f"{voice}\0{word.lower()}".encode()) % _PITCHES
        granules += [line] * min(4 * len(word), 48) + [None] * 2
        if word[-1] in ".!?":
            granules += [None] * 12
    return granules


def speak(text: str, voice: str) -> bytes:
    """The MP3 of `text` in `voice` (Dify strips the text first); empty text is no audio at all."""
    granules = _notes(text, voice)
    if not granules:
        return b""
    granules += [None] * (len(granules) % 2)
    count = min(len(granules) // 2, MAX_FRAMES)
    payload = _MAGIC + len(text.encode()).to_bytes(4, "big") + text.encode()
    size = FRAME_BYTES - _ANCILLARY_AT
    frames = []
    for i in range(count):
        pair = granules[2 * i : 2 * i + 2]
        gains = [_GAIN if _held(granules, 2 * i + j) else _SOFT for j in range(2)]
        frames.append(_frame(((pair[0], gains[0]), (pair[1], gains[1])), payload[i * size : (i + 1) * size]))
    return b"".join(frames)


def _held(granules: list[int | None], at: int) -> bool:
    """Whether the note at `at` sounds on both sides (its first and last granule are softer)."""
    line = granules[at]
    return 0 < at < len(granules) - 1 and granules[at - 1] == line and granules[at + 1] == line


def spoken_text(data: bytes) -> str | None:
    """The text an MP3 of `speak()` carries, or None for any other audio."""
    payload = bytearray()
    for at in range(0, len(data) - FRAME_BYTES + 1, FRAME_BYTES):
        if data[at : at + 4] != HEADER:
            break
        payload += data[at + _ANCILLARY_AT : at + FRAME_BYTES]
    if not payload.startswith(_MAGIC):
        return None
    start = len(_MAGIC) + 4
    size = int.from_bytes(payload[len(_MAGIC) : start], "big")
    return bytes(payload[start : start + size]).decode(errors="replace")
