"""Benchmarks of Leadline against real processes: `python -m bench` (or `make bench`): the Leads
API v4 (ingest, GET latency), the dialer (next-lead claims, `leadline simulate`) and webhook
delivery.

Every figure is printed beside a raw baseline measured in the same run on the same database
(raw COPY/INSERT for ingest, the same SQL over the driver for reads and claims, the minimum
statements per attempt for simulate, a bare aiohttp client for webhooks), with the ratio, so a
regression shows as a ratio moving rather than as a number that depends on the machine.
"""
