"""What every part of the simulated business shares: its seed and scale, its days, the clock
a fresh server starts at, and its random streams.

The World (sandbox/world.py) has one and hands it to the parts it is made of (email,
organic social, contacts' visits), which need nothing else of the World.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta


@dataclass(frozen=True)
class WorldFrame:
    seed: int
    scale: float
    start: date
    days: int

    @property
    def end(self) -> date:
        """The last simulated day (inclusive)."""
        return self.start + timedelta(days=self.days - 1)

    @property
    def default_now(self) -> datetime:
        """The clock a fresh server starts at: the midnight after the last day."""
        return datetime.combine(self.end + timedelta(days=1), datetime.min.time(), UTC)

    def rng(self, kind: str, day: date, key: str) -> random.Random:
        """One independent stream per (kind, day, key): string seeds hash with SHA-512, so no PYTHONHASHSEED dependence."""
        return random.Random(f"{self.seed}:{kind}:{day.isoformat()}:{key}")
