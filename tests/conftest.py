# SPDX-License-Identifier: GPL-2.0-only
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("KPORT_ROOT", str(ROOT))
