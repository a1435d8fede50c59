"""Write tests/golden/golden.json from the code as it is now (run once, before a refactor):
``.venv/bin/python tests/golden/record_golden.py``."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path[:0] = [str(Path(__file__).parent), str(Path(__file__).parents[1])]

from golden_cases import compute, write  # noqa: E402
from model_factory import train_session_model  # noqa: E402

if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        write(compute(train_session_model(Path(tmp)), Path(tmp)))
