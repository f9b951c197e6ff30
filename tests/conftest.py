"""Shared fixtures. The contract suite lives in the package, so ask pytest to
rewrite its asserts too (for readable failure messages)."""

from __future__ import annotations

import pytest

pytest.register_assert_rewrite("ragtrack.testing")
