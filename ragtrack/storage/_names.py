"""Human-readable run names and random run ids."""

from __future__ import annotations

import random
import secrets

_ADJECTIVES = (
    "amber", "bold", "brisk", "calm", "clever", "crisp", "dapper", "eager", "fancy", "gentle",
    "glad", "golden", "hardy", "jolly", "keen", "lively", "lucky", "merry", "nimble", "noble",
    "proud", "quick", "quiet", "rapid", "ruby", "shiny", "silent", "snowy", "solar", "steady",
    "sunny", "swift", "tidy", "vivid", "warm", "wise", "witty", "young", "zesty", "azure",
)  # fmt: skip
_NOUNS = (
    "anchor", "aurora", "badger", "breeze", "canyon", "cedar", "comet", "coral", "delta", "dune",
    "ember", "falcon", "fern", "fjord", "galaxy", "grove", "harbor", "heron", "island", "lagoon",
    "lantern", "maple", "meadow", "nebula", "ocean", "orbit", "otter", "pebble", "pine", "prairie",
    "quartz", "raven", "river", "sequoia", "sparrow", "summit", "thunder", "tundra", "valley",
    "willow",
)  # fmt: skip


def new_run_id() -> str:
    """16 lowercase hex characters (64 random bits)."""
    return secrets.token_hex(8)


def new_run_name(number: int) -> str:
    """A memorable name such as ``swift-river-12``; ``number`` keeps names unique-ish."""
    rng = random.Random()
    return f"{rng.choice(_ADJECTIVES)}-{rng.choice(_NOUNS)}-{number}"
