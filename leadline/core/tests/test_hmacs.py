import hashlib
import hmac

from leadline.core.hmacs import keyed_sha256, sha256_pads


def test_the_primed_hmac_is_the_standard_one_for_any_key_length():
    for key in [b"", b"k", b"k" * 32, b"k" * 64, b"k" * 65, bytes(range(256))]:
        mac = keyed_sha256(key)
        for message in [b"", b"+919876543210", "ü:1700000000".encode(), b"x" * 1000]:
            assert mac.digest(message) == hmac.new(key, message, hashlib.sha256).digest()


def test_the_pads_are_one_block_each_of_the_padded_key():
    inner, outer = sha256_pads(b"\x01\x02")
    assert len(inner) == len(outer) == 64
    assert inner[:3] == bytes([0x01 ^ 0x36, 0x02 ^ 0x36, 0x36])
    assert outer[:3] == bytes([0x01 ^ 0x5C, 0x02 ^ 0x5C, 0x5C])
