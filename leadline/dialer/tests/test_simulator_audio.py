import io
import math
import random
import struct
import wave

from leadline.dialer.telephony.simulator import SAMPLE_RATE, synthetic_wav


def reference_wav(seed: str, *, seconds: float) -> bytes:
    """The recording as first written: packed sample by sample."""
    rng = random.Random(seed)
    frames = bytearray()
    total = int(seconds * SAMPLE_RATE)
    position = 0
    while position < total:
        burst = int(rng.uniform(0.2, 0.7) * SAMPLE_RATE)
        tone = rng.choice((220.0, 330.0, 440.0))
        silent = rng.random() < 0.3
        for i in range(min(burst, total - position)):
            sample = 0 if silent else int(8000 * math.sin(2 * math.pi * tone * i / SAMPLE_RATE))
            frames += struct.pack("<h", sample)
        position += burst
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(bytes(frames))
    return buffer.getvalue()


def test_fast_synthetic_wav_is_byte_for_byte_the_reference():
    for seed in ("sim-a", "sim-b", "x" * 40, *(f"call-{i}" for i in range(20))):
        for seconds in (0.1, 1, 4, 7.5):
            assert synthetic_wav(seed, seconds=seconds) == reference_wav(seed, seconds=seconds)
