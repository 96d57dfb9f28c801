"""What runs under a process: for tests that must act while a solve is in a given phase."""

from __future__ import annotations

from pathlib import Path


def solving_lp_under(parent_pid: int) -> bool:
    """Whether `parent_pid` has a child solving the LP relaxation (service/solver/lp_process.py)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if parent == parent_pid and b"lp_process.py" in command:
            return True
    return False
