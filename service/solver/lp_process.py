"""The LP relaxation's own process: reads one LP (pickled NumPy arrays) on stdin, solves it with HiGHS's
interior point method and crossover, and writes the column values (or None) on stdout.

It runs as a separate program, started by service/solver/relaxation.py with this file's path, for two
reasons. A cancel must stop the LP at once, and HiGHS as OR-Tools bundles it ignores an interrupt: a
process can always be killed. And highspy cannot share a process with OR-Tools (both load their own
libhighs, and whichever comes second fails to import), so this file imports nothing of the project.
"""

from __future__ import annotations

import os
import pickle
import sys
import threading
import time
from typing import Any


def _leave_with_parent(parent_pid: int) -> None:
    # A solver process killed mid-solve cannot stop its LP; the LP notices and leaves on its own.
    while True:
        if os.getppid() != parent_pid:
            os._exit(0)
        time.sleep(0.5)


def solve(lp: dict[str, Any], time_limit_s: float) -> tuple[list[float], float] | None:
    """Column values and objective of the LP's optimum, or None if it is not proven in time."""
    import highspy
    import numpy as np

    model = highspy.HighsLp()
    model.num_col_ = len(lp["objective"])
    model.num_row_ = len(lp["row_lower"])
    model.col_cost_ = lp["objective"]
    model.col_lower_ = lp["col_lower"]
    model.col_upper_ = np.ones(model.num_col_)
    model.row_lower_ = lp["row_lower"]
    model.row_upper_ = lp["row_upper"]
    model.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    model.a_matrix_.start_ = lp["start"]
    model.a_matrix_.index_ = lp["index"]
    model.a_matrix_.value_ = lp["value"]
    model.sense_ = highspy.ObjSense.kMaximize
    highs = highspy.Highs()  # type: ignore[no-untyped-call]
    highs.setOptionValue("output_flag", False)
    # Interior point with crossover: on the seeded L instances faster than dual simplex on these degenerate
    # assignment rows; crossover gives a vertex, whose status is a checked optimum.
    highs.setOptionValue("solver", "ipx")
    highs.setOptionValue("time_limit", max(time_limit_s, 0.05))
    highs.passModel(model)
    highs.run()
    if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    values: list[float] = list(highs.getSolution().col_value)
    return values, float(highs.getInfo().objective_function_value)


def main() -> None:
    threading.Thread(target=_leave_with_parent, args=(os.getppid(),), daemon=True).start()
    lp, time_limit_s = pickle.load(sys.stdin.buffer)
    answer = solve(lp, time_limit_s)
    pickle.dump(answer, sys.stdout.buffer, protocol=pickle.HIGHEST_PROTOCOL)
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
