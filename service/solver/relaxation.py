"""The LP relaxation of level 1 (covered value): the rows of service/solver/linear.py with integrality
dropped, solved by HiGHS (highspy) in a process of its own (service/solver/lp_process.py), so that it
runs on the second core beside the steps of the large-neighbourhood search and a cancel can end it at once.

Its solution guides the search (service/solver/lns.py): a relaxation-induced neighbourhood frees every
decision on which the LP optimum and the current plan disagree and keeps the rest, a large move no
neighbourhood of a region, a cluster or a few people makes. Its optimum also bounds covered value from
above. No I/O beyond the pipe to that process.
"""

from __future__ import annotations

import math
import pickle
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from service.solver.linear import build_rows
from service.solver.problem import Problem

# HiGHS proves the LP optimum to a relative tolerance of about 1e-7; the reported bound adds a margin well
# above it, so that it stays a bound in exact arithmetic.
BOUND_MARGIN = 1e-6
LP_PROCESS = Path(__file__).with_name("lp_process.py")


@dataclass(frozen=True)
class Relaxation:
    """An optimal solution of the LP relaxation."""

    assign: list[float]  # per problem pair
    lead: list[float]  # per problem lead option
    bound: int  # its objective, rounded up with a margin: no plan covers more (scaled like CP-SAT's)
    build_s: float
    solve_s: float


class LpRelaxation:
    """Builds the LP once; `solve` may run in another thread and `stop` cuts it short from any thread, at
    once: the LP is solved in its own process (service/solver/lp_process.py), which `stop` kills."""

    def __init__(self, problem: Problem) -> None:
        started = time.perf_counter()
        linear = build_rows(problem, lean=True)
        self.columns = linear.columns
        count = linear.columns.count
        lower = np.zeros(count)
        lower[linear.fixed_one] = 1.0  # H8 pins
        rows = linear.rows
        self._lp = {
            "objective": np.asarray(linear.objective, dtype=np.float64),
            "col_lower": lower,
            "row_lower": np.asarray(rows.lower, dtype=np.float64),
            "row_upper": np.asarray(rows.upper, dtype=np.float64),
            "start": np.asarray(rows.start, dtype=np.int32),
            "index": np.asarray(rows.index, dtype=np.int32),
            "value": np.asarray(rows.value, dtype=np.float64),
        }
        self.build_s = time.perf_counter() - started
        self._lock = threading.Lock()
        self._stopped = False
        self._process: subprocess.Popen[bytes] | None = None

    def solve(self, time_limit_s: float) -> Relaxation | None:
        """The LP optimum, or None if it is not proven within `time_limit_s` (or `stop` came first)."""
        started = time.perf_counter()
        with self._lock:
            if self._stopped:
                return None
            process = subprocess.Popen([sys.executable, str(LP_PROCESS)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            self._process = process
        assert process.stdin is not None
        assert process.stdout is not None
        try:
            with process.stdin:
                pickle.dump((self._lp, time_limit_s), process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            answer: tuple[list[float], float] | None = pickle.load(process.stdout)
        except (OSError, EOFError, pickle.UnpicklingError):
            answer = None  # killed by `stop`, or died
        finally:
            process.stdout.close()
            process.wait()
        if answer is None:
            return None
        values, objective = answer
        return Relaxation(
            assign=[values[column] for column in self.columns.assign],
            lead=[values[column] for column in self.columns.lead],
            bound=math.ceil(objective + abs(objective) * BOUND_MARGIN) + 1,
            build_s=self.build_s,
            solve_s=time.perf_counter() - started,
        )

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            if self._process is not None and self._process.poll() is None:
                self._process.kill()
