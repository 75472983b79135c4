"""Peer benchmark: run django-helpdesk 2.6.1 through the same work as our bench.

The peer needs its own Django and dependencies, so it lives in a separate
virtualenv (bench/.peer) and runs as a subprocess (bench/peer_worker.py). This
module is stdlib only and never imports Django, so it is safe to import from
our own bench.

    python bench/peer.py --tickets 100000 --create 2000 --requests 200
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV = HERE / ".peer"
WORKER = HERE / "peer_worker.py"
REQUIREMENT = "django-helpdesk==2.6.1"
# The stamp records what was installed; a matching stamp means pip is skipped.
STAMP = VENV / ".installed"
STAMP_TEXT = f"{REQUIREMENT} python{sys.version_info[0]}.{sys.version_info[1]}\n"
INSTALL_TIMEOUT = 900
RUN_TIMEOUT = 1800


def _venv_python():
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _reason(output, lines=3):
    """pip's ERROR lines (else its last lines), short enough for a table."""
    all_lines = output.strip().splitlines()
    errors = [ln for ln in all_lines if ln.startswith("ERROR")]
    return " | ".join((errors or all_lines)[-lines:])[:600]


def ensure_venv():
    """Create/refresh bench/.peer; return None when ready, else an error string."""
    py = _venv_python()
    if py.exists() and STAMP.exists() and STAMP.read_text() == STAMP_TEXT:
        return None
    print(f"[peer] installing {REQUIREMENT} into {VENV}", file=sys.stderr, flush=True)
    steps = []
    if not py.exists():
        steps.append([sys.executable, "-m", "venv", "--clear", str(VENV)])
    steps.append([str(py), "-m", "pip", "install", "--quiet", REQUIREMENT])
    for cmd in steps:
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"peer install step {cmd[1:4]} failed: {exc}"
        if proc.returncode != 0:
            return (
                f"peer install step {' '.join(cmd[1:4])} exited {proc.returncode}: "
                f"{_reason(proc.stderr or proc.stdout)}"
            )
    STAMP.write_text(STAMP_TEXT)
    return None


def run_peer(
    tickets: int = 100_000,
    create: int = 2000,
    requests: int = 200,
    mail_dir: str | None = None,
    only: str | None = None,
) -> dict:
    """Measure the peer; returns its result dict, or {"error": reason}."""
    try:
        error = ensure_venv()
        if error:
            return {"error": error}
        # Our own Django settings must not leak into the peer's interpreter.
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("DJANGO_SETTINGS_MODULE", "PYTHONPATH", "PYTHONHOME")
        }
        cmd = [
            str(_venv_python()),
            str(WORKER),
            f"--tickets={tickets}",
            f"--create={create}",
            f"--requests={requests}",
        ]
        if mail_dir:
            cmd.append(f"--mail-corpus={mail_dir}")
        if only:
            cmd.append(f"--only={only}")
        # stderr is inherited so the worker's progress shows up live.
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, env=env, timeout=RUN_TIMEOUT)
        lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
        if proc.returncode != 0:
            return {"error": f"peer worker exited {proc.returncode} (see stderr above)"}
        if not lines:
            return {"error": "peer worker printed no result"}
        result = json.loads(lines[-1])
        if not isinstance(result, dict):
            return {"error": f"peer worker printed non-object JSON: {lines[-1][:200]}"}
        return result
    except subprocess.TimeoutExpired:
        return {"error": f"peer worker timed out after {RUN_TIMEOUT}s"}
    except json.JSONDecodeError as exc:
        return {"error": f"peer worker output is not JSON: {exc}"}
    except Exception as exc:  # never break our own bench over the peer
        return {"error": f"peer benchmark failed: {type(exc).__name__}: {exc}"}


def main():
    ap = argparse.ArgumentParser(description="Benchmark django-helpdesk 2.6.1.")
    ap.add_argument("--tickets", type=int, default=100_000)
    ap.add_argument("--create", type=int, default=2000)
    ap.add_argument("--requests", type=int, default=200)
    args = ap.parse_args()
    result = run_peer(args.tickets, args.create, args.requests)
    print(json.dumps(result))
    return 1 if "error" in result else 0


if __name__ == "__main__":
    sys.exit(main())
