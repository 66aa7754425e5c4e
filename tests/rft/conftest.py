"""Make tests/mocks importable (the toy token policy)."""

import sys
from pathlib import Path

MOCKS = Path(__file__).resolve().parents[1] / "mocks"
if str(MOCKS) not in sys.path:
    sys.path.insert(0, str(MOCKS))
