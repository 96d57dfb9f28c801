"""The first step of the warm-start tie-break: the plan's disagreements with options.warm_start, searched alone.

After the cost level the plan can differ from the warm start by swaps that change no objective level:
two people of equal total cost trading deals. The tie-break level undoes them, but it searches the whole
model, where such a swap is several decisions that must change together under the fixed value and cost,
and a single-worker tree search can use up its time before it finds one. In the fast-growth what-if
scenario ("hire two architects in east") it stopped at 230 of 238 warm-start terms kept (bound 238) after
its 1.5 s of deterministic time, although a plan keeping 234 at the same value and cost existed (Zhang
Chunmei and Ye Xin back on their own grade-E deals, 1,110.00 either way): the whole-model search finds it
after 1.6 s of deterministic time and proves it at 1.74 s. Here only the decisions of the people on whom
the plan and the warm start disagree are free, and the leads of the deals they are on in either, every
other decision fixed: that search found the 234 in 0.03 s, and the whole-model level, started from it,
proved it optimal in 0.6 s.
"""

from __future__ import annotations

from ortools.sat.python import cp_model

from service.solver.greedy import Solution
from service.solver.lns import FixedModel
from service.solver.model import Variables, kept_warm_start_terms
from service.solver.problem import Problem


def disagreement(problem: Problem, solution: Solution) -> tuple[list[int], list[int]]:
    """The pairs and lead options to free: every pair of each person whose assignments or leads in
    `solution` differ from the warm start's, and every lead option of the deals those people are on (or
    lead) in either plan. Empty when the plan keeps the whole warm start that still fits the problem."""
    assigned, leads = set(solution.assigned), set(solution.leads)
    warm_pairs, warm_leads = set(problem.warm_pairs), set(problem.warm_leads)
    people: set[int] = set()
    for p in assigned ^ warm_pairs:
        people.add(problem.pairs[p].staff)
    for q in leads ^ warm_leads:
        people.add(problem.lead_options[q].staff)
    deals: set[int] = set()
    for staff in people:
        deals.update(
            problem.slots[problem.pairs[p].slot].opportunity
            for p in problem.pairs_by_staff[staff]
            if p in assigned or p in warm_pairs
        )
        deals.update(
            problem.lead_options[q].opportunity for q in problem.leads_by_staff[staff] if q in leads or q in warm_leads
        )
    pairs = sorted(p for staff in people for p in problem.pairs_by_staff[staff])
    options = sorted(q for o in deals for q in problem.leads_by_opportunity[o])
    return pairs, options


def closest_to_warm_start(
    problem: Problem, model: cp_model.CpModel, variables: Variables, solution: Solution, solver: cp_model.CpSolver
) -> Solution:
    """`solution` with as much of options.warm_start kept as the disagreement (above) allows. `model` holds
    every earlier level at its optimum, so the plan returned is exactly as good on each; it keeps at least
    as much of the warm start as `solution` (which is its hint), and is `solution` itself when there is
    nothing to free or no plan comes back in `solver`'s time."""
    pairs, options = disagreement(problem, solution)
    if not pairs and not options:
        return solution
    fixed = FixedModel(model, problem, variables)
    step = fixed.free(pairs, options, solution)
    step.maximize(cp_model.LinearExpr.weighted_sum(*kept_warm_start_terms(problem, variables)))
    status = solver.solve(step)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return solution
    return fixed.read(solver)
