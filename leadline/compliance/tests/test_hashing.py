import hashlib
import hmac

from leadline.compliance.hashing import _key, number_hash, number_hashes


def test_batch_hashes_are_the_single_number_hmac(settings):
    numbers = ["+919876543210", "+911123456789", "", "+91" + "9" * 30, "+९१"]
    assert number_hashes(numbers) == [number_hash(n) for n in numbers]
    key = _key(settings.LEADLINE_NUMBER_HASH_KEY or settings.SECRET_KEY)
    assert number_hashes(numbers[:1]) == [
        hmac.new(key, numbers[0].encode(), hashlib.sha256).hexdigest()
    ]
    assert number_hashes([]) == []


def test_batch_hashes_follow_the_configured_key(settings):
    settings.LEADLINE_NUMBER_HASH_KEY = "k" * 100  # a key material of any length
    first = number_hashes(["+919876543210"])
    assert first == [number_hash("+919876543210")]
    settings.LEADLINE_NUMBER_HASH_KEY = "another"
    assert number_hashes(["+919876543210"]) == [number_hash("+919876543210")] != first
