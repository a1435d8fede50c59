"""Write tests/golden/golden.json from the code as it is now (run once, before a refactor):
``.venv/bin/python tests/golden/record_golden.py``."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from golden_cases import compute, write  # noqa: E402

if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        write(compute(Path(tmp)))
