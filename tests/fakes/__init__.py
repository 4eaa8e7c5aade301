"""Fake telephony providers for tests: real HTTP servers on 127.0.0.1, one per provider,
written from the provider's public documentation."""
