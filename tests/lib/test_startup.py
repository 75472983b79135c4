"""soporte.lib.startup.settle(): what a web or job worker does once started."""

from __future__ import annotations

import os
import subprocess
import sys

SCRIPT = """
import gc, sys
import django
django.setup()
from soporte.lib.startup import settle
before = len(gc.get_objects())
settle()
print(gc.get_freeze_count(), before, len(gc.get_objects()), "soporte.urls" in sys.modules,
      "soporte.mail.tasks" in sys.modules)
"""


def test_settle_loads_the_pages_and_jobs_then_freezes_what_the_process_made(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "soporte.settings",
        "SOPORTE_SECRET_KEY": "test-only",
        "SOPORTE_VAR_DIR": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    frozen, before, after, urls, tasks = done.stdout.split()
    # Every area's views and jobs were imported, then set aside from collections.
    assert (urls, tasks) == ("True", "True")
    assert int(frozen) > int(before) > int(after)
