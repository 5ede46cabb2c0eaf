"""`python main.py` with the access logger (app.access) silenced, for the benchmark's
`app-nolog` target: the same server otherwise, to show what one INFO line per request costs."""

import logging
import runpy
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.argv[0] = str(PROJECT_ROOT / "main.py")
logging.getLogger("app.access").setLevel(logging.WARNING)
runpy.run_path(str(PROJECT_ROOT / "main.py"), run_name="__main__")
