"""``python -m ragtrack``: the same as the ``ragtrack`` console script."""

from __future__ import annotations

from ragtrack.cli import main

if __name__ == "__main__":
    main()
