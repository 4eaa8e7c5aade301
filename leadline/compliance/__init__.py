"""Compliance: may this number be dialled now, and if not, why.

One question answered in one place (`decisions.dial_decision`): asked by lead creation and
the dry-run check (leads), by the claim and by call placing (dialer), and shown by the
dashboard. Numbers are never stored here in clear: suppression entries, DND answers and call
counts are keyed by `hashing.number_hash`, an HMAC of the E.164 number under a server-side
key, so the tables survive a lead's erasure and leak nothing if dumped.

Layers: compliance sits between leads and campaigns; it knows businesses, campaigns and
numbers, never Lead rows (the leads and dialer services act on its answers).
"""
