"""Text to speech for broadcast warnings (语音合成), with espeak-ng when it is installed.

A speaker that plays audio gets the WAV made here; without espeak-ng (or when it fails) the broadcast goes
out as text only and the speakers that can speak text say it themselves. `synthesize` blocks for a few
tens of milliseconds: call it from a thread (``asyncio.to_thread``) in async code.
"""

from __future__ import annotations

import functools
import logging
import re
import shutil
import struct
import subprocess  # noqa: S404 (a fixed program, list arguments, no shell)

log = logging.getLogger("doorstep.video.tts")

PROGRAM = "espeak-ng"
MAX_TEXT_LENGTH = 200
TIMEOUT_SECONDS = 10.0
VOICE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_+-]{0,39}")  # "cmn", "yue", "cmn-latn-pinyin", "en+f3"


@functools.cache
def available() -> bool:
    """espeak-ng is on PATH (looked up once; ``available.cache_clear()`` to look again)."""
    return shutil.which(PROGRAM) is not None


def synthesize(text: str, *, voice: str = "cmn") -> bytes | None:
    """The WAV (RIFF, 16-bit mono PCM) of ``text``; None when espeak-ng is missing or fails.

    ValueError for an empty text or one longer than `MAX_TEXT_LENGTH` characters.
    """
    # Line breaks and other control characters mean nothing to a listener.
    text = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    if not text:
        raise ValueError("播报内容不能为空")
    if len(text) > MAX_TEXT_LENGTH:
        raise ValueError(f"播报内容不能超过 {MAX_TEXT_LENGTH} 个字")
    if not VOICE.fullmatch(voice):
        raise ValueError(f"not an espeak-ng voice name: {voice!r}")
    program = shutil.which(PROGRAM) if available() else None
    if program is None:
        log.warning("未安装 espeak-ng，广播只发送文字")
        return None
    try:
        # "--": a text starting with "-" is spoken, not taken for an option.
        result = subprocess.run(  # noqa: S603
            [program, "-v", voice, "--stdout", "--", text],
            capture_output=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning("语音合成失败（%s），广播只发送文字", exc)
        return None
    wav = result.stdout
    if result.returncode != 0 or not wav.startswith(b"RIFF") or wav[8:12] != b"WAVE":
        error = result.stderr.decode(errors="replace").strip()[:200]
        log.warning("语音合成失败（退出码 %s：%s），广播只发送文字", result.returncode, error)
        return None
    return _with_real_sizes(wav)


def _with_real_sizes(wav: bytes) -> bytes:
    """Writing to a pipe, espeak-ng cannot go back to fill in the sizes and leaves 0x7fff…: a strict
    player reads two gigabytes of samples, or refuses the file. Put the real sizes in."""
    if len(wav) < 44 or wav[12:16] != b"fmt " or wav[36:40] != b"data":
        return wav
    return b"".join(
        (wav[:4], struct.pack("<I", len(wav) - 8), wav[8:40], struct.pack("<I", len(wav) - 44), wav[44:])
    )
