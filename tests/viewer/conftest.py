"""Fixtures of the viewer tests."""

from __future__ import annotations

import pytest

from tests.support.viewer_cases import editable_case


@pytest.fixture
def case(small_phantom):
    """An editable copy of the small phantom (labels copied, so edits stay in the test)."""
    return editable_case(small_phantom)
