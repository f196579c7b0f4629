from __future__ import annotations

import pytest

# The shared `platform` fixture (the real template.yaml on the local cloud) is in tests/conftest.py.
pytestmark = pytest.mark.integration
