"""The LP relaxation of level 1 (covered value): the rows of service/solver/linear.py with integrality
dropped, solved in-process by the HiGHS that OR-Tools bundles (through its model builder; the solve
releases the GIL, so it runs on the second core beside the steps of the large-neighbourhood search).

Its solution guides the search (service/solver/lns.py): a relaxation-induced neighbourhood frees every
decision on which the LP optimum and the current plan disagree and keeps the rest, a large move no
neighbourhood of a region, a cluster or a few people makes (L-0: from the plan of 6 s, 458.9M, to 486.2M
in one step of 3 s, where the steps alone reach that at about 20 s). Its optimum also bounds covered
value from above. Pure: no I/O.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

from ortools.linear_solver.python import model_builder

from service.solver.linear import build_rows
from service.solver.problem import Problem

# HiGHS proves the LP optimum to a relative tolerance of about 1e-7; the reported bound adds a margin well
# above it, so that it stays a bound in exact arithmetic.
BOUND_MARGIN = 1e-6


@dataclass(frozen=True)
class Relaxation:
    """An optimal solution of the LP relaxation."""

    assign: list[float]  # per problem pair
    lead: list[float]  # per problem lead option
    bound: int  # its objective, rounded up with a margin: no plan covers more (scaled like CP-SAT's)
    build_s: float
    solve_s: float


class LpRelaxation:
    """Builds the LP once; `solve` may run in another thread and `stop` cuts it short from any thread."""

    def __init__(self, problem: Problem) -> None:
        started = time.perf_counter()
        linear = build_rows(problem, lean=True)
        self.columns = linear.columns
        model = model_builder.Model()  # type: ignore[no-untyped-call]
        helper = model.helper
        count = linear.columns.count
        lower = [0.0] * count
        for column in linear.fixed_one:  # H8 pins
            lower[column] = 1.0
        for column in range(count):
            helper.add_var()
            helper.set_var_lower_bound(column, lower[column])
            helper.set_var_upper_bound(column, 1.0)
            if linear.objective[column]:
                helper.set_var_objective_coefficient(column, linear.objective[column])
        helper.set_maximize(True)
        rows = linear.rows
        for row in range(len(rows)):
            constraint = helper.add_linear_constraint()
            helper.set_constraint_lower_bound(constraint, rows.lower[row])
            helper.set_constraint_upper_bound(constraint, rows.upper[row])
            for k in range(rows.start[row], rows.start[row + 1]):
                helper.set_constraint_coefficient(constraint, rows.index[k], rows.value[k])
        self.model = model
        self.build_s = time.perf_counter() - started
        self._solver = model_builder.Solver("highs")
        self._solver.enable_output(False)
        # Interior point with crossover: on the seeded L instances 6.8-9.0 s where the default dual simplex
        # takes 5.2-19.2 s (degenerate assignment rows); crossover gives a vertex, whose status is a
        # checked optimum (without it the model builder reports no solution at all).
        self._solver.set_solver_specific_parameters("output_flag = false\nlog_to_console = false\nsolver = ipm")
        self._lock = threading.Lock()
        self._stopped = False

    def solve(self, time_limit_s: float) -> Relaxation | None:
        """The LP optimum, or None if it is not proven within `time_limit_s` (or `stop` came first)."""
        with self._lock:
            if self._stopped:
                return None
        self._solver.set_time_limit_in_seconds(max(time_limit_s, 0.05))
        started = time.perf_counter()
        status = self._solver.solve(self.model)
        solve_s = time.perf_counter() - started
        if status != model_builder.SolveStatus.OPTIMAL:
            return None
        helper = self.model.helper
        variables = (model_builder.Variable(helper, column) for column in range(helper.num_variables()))
        values = [self._solver.value(variable) for variable in variables]
        objective = self._solver.objective_value
        return Relaxation(
            assign=[values[column] for column in self.columns.assign],
            lead=[values[column] for column in self.columns.lead],
            bound=math.ceil(objective + abs(objective) * BOUND_MARGIN) + 1,
            build_s=self.build_s,
            solve_s=solve_s,
        )

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
        self._solver.stop_search()  # type: ignore[no-untyped-call]
