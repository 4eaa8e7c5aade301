"""Benchmarks of the Leads API v4 against real processes: `python -m bench` (or `make bench`).

Every figure is printed beside a raw baseline measured in the same run on the same database
(raw COPY/INSERT for ingest, the same SQL over the driver for reads), with the ratio, so a
regression shows as a ratio moving rather than as a number that depends on the machine.
"""
