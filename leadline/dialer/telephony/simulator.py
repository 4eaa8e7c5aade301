"""The default provider: simulated calls with configurable odds and durations, real WAV audio.

Stateless and deterministic: everything about a call (answered, busy or unanswered, how long
it rings and talks) is drawn from a random generator seeded with the call id, and its state at
any moment follows from the time it was placed. So any process (web or worker) can answer
"what is this call doing now" without shared memory, and tests can replay a call exactly.
`LEADLINE_SIMULATOR["speed"]` compresses time (1 = real time; tests use large values).
"""

import functools
import hashlib
import io
import math
import random
import secrets
import struct
import wave
from collections.abc import Mapping
from datetime import datetime, timedelta

from django.conf import settings

from . import CallbackEvent, CallbackRejected, CallRequest, CallState, Line, Recording

DEFAULTS = {
    "answer": 0.6,  # the rest split between busy and no answer
    "busy": 0.2,
    "ring_seconds": (3, 12),
    "talk_seconds": (20, 240),
    "speed": 1.0,
    "audio_seconds": 4,  # length of the generated recording, whatever the talk time
}
SAMPLE_RATE = 8000


def _simulator_settings() -> dict:
    return {**DEFAULTS, **getattr(settings, "LEADLINE_SIMULATOR", {})}


def _call_plan(call_id: str) -> tuple[str, float, float]:
    """How the call goes, derived from its id alone: (result, ring seconds, talk seconds)."""
    config = _simulator_settings()
    rng = random.Random(hashlib.sha256(call_id.encode()).digest())
    draw = rng.random()
    if draw < config["answer"]:
        result = "answered"
    elif draw < config["answer"] + config["busy"]:
        result = "busy"
    else:
        result = "no_answer"
    ring = rng.uniform(*config["ring_seconds"])
    talk = rng.uniform(*config["talk_seconds"]) if result == "answered" else 0.0
    return result, ring, talk


class SimulatorProvider:
    name = "simulator"
    pushes_status = False  # pages ask for the state, which costs no I/O here
    signed_callbacks = True
    recording_inline = True

    def __init__(self, line: Line | None = None) -> None:
        self.line = line

    def place_call(self, call: CallRequest) -> str:
        # Nothing is dialled; the numbers are not kept or logged.
        return f"sim-{call.reference}-{secrets.token_hex(4)}"

    def call_state(self, *, call_id: str, placed_at: datetime, now: datetime) -> CallState:
        result, ring, talk = _call_plan(call_id)
        speed = _simulator_settings()["speed"]
        elapsed = (now - placed_at).total_seconds() * speed

        def at(seconds: float) -> datetime:
            return placed_at + timedelta(seconds=seconds / speed)

        if elapsed < ring:
            return CallState("ringing")
        if result != "answered":
            return CallState(result, ended_at=at(ring), duration_seconds=0)
        if elapsed < ring + talk:
            return CallState("answered", answered_at=at(ring))
        return CallState(
            "completed",
            answered_at=at(ring),
            ended_at=at(ring + talk),
            duration_seconds=math.ceil(talk),
        )

    def parse_callback(
        self, *, url: str, params: Mapping[str, str], headers: Mapping[str, str], body: bytes
    ) -> CallbackEvent:
        raise CallbackRejected("The simulator sends no callbacks.", status=404)

    def fetch_recording(self, *, call_id: str, recording_ref: str = "") -> Recording | None:
        result, _, _ = _call_plan(call_id)
        if result != "answered":
            return None
        audio = synthetic_wav(call_id, seconds=_simulator_settings()["audio_seconds"])
        return Recording(audio=audio, content_type="audio/wav", extension="wav")

    def delete_recording(self, *, call_id: str, recording_ref: str) -> bool:
        return False  # the simulator keeps nothing

    def check(self) -> str:
        return "Simulator: no credentials, nothing is dialled."


@functools.cache
def _tone_second(frequency: float) -> bytes:
    # A burst is at most 0.7 s; one second of each tone covers every burst as a prefix.
    return struct.pack(
        f"<{SAMPLE_RATE}h",
        *(
            int(8000 * math.sin(2 * math.pi * frequency * i / SAMPLE_RATE))
            for i in range(SAMPLE_RATE)
        ),
    )


def synthetic_wav(seed: str, *, seconds: float) -> bytes:
    """A mono 16-bit WAV of alternating 'voices' (two tones with pauses), seeded."""
    rng = random.Random(seed)
    frames = bytearray()
    total = int(seconds * SAMPLE_RATE)
    position = 0
    while position < total:
        burst = int(rng.uniform(0.2, 0.7) * SAMPLE_RATE)
        tone = rng.choice((220.0, 330.0, 440.0))
        silent = rng.random() < 0.3
        samples = min(burst, total - position)
        # Every burst starts its tone at phase 0, so it is a prefix of the cached second
        # (slicing it is ~100x faster than packing samples one by one, simulations call this
        # for every answered call).
        frames += bytes(2 * samples) if silent else _tone_second(tone)[: 2 * samples]
        position += burst
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(bytes(frames))
    return buffer.getvalue()
