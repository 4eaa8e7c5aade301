"""Simulated reps for demos, tests and benchmarks, working leads through the console's services.

Nothing here writes a lead's state: every claim, call and outcome goes through
`dialer.services` exactly as the rep console does (`lead_claim`, `call_place`, `call_refresh`,
`disposition_submit`), so a simulation exercises and measures the real path: its locks,
leases, retries, callbacks and `lead.processed` events.

Time: every service call gets `now` from one clock shared by all reps: real time, optionally
shifted to start at a chosen moment. Leases, retry delays and calling windows therefore mean
what they mean in production. The simulated calls are compressed instead (the simulator's
`speed`), so a four-minute call ends within a millisecond and timestamps stay in causal order
(placed <= answered <= ended <= disposed). Advancing `now` per rep past the call's end would
make reps' clocks drift apart, and a rep whose clock ran more than a lease ahead would take
leads other reps still hold.

Reproducibility: answers and outcome choices come from a generator seeded with
(seed, lead_id, attempt number), so they do not depend on which rep got the lead. The
simulator's call ids embed the attempt's random UUID, so whether a call is answered, busy or
unanswered differs between runs: the same seed gives the same answers for the same telephony
result, not the same run.

Modules: `choices` (what a rep says and picks), `reps` (the simulated reps and their work),
`state` (the clock and the tallies the rep threads share), `run` (a run and its summary);
the `simulate` command prints that summary.
"""

from .choices import answers_generate, callback_time, outcome_choose
from .reps import sim_reps_ensure
from .run import DEFAULT_SPEED, MAX_REPS, SimulationReport, simulate
from .state import Clock, SimulationError

__all__ = [
    "DEFAULT_SPEED",
    "MAX_REPS",
    "Clock",
    "SimulationError",
    "SimulationReport",
    "answers_generate",
    "callback_time",
    "outcome_choose",
    "sim_reps_ensure",
    "simulate",
]
