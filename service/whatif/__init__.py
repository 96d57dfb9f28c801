"""What-if scenarios: a base request, named variants of change ops, each solved and compared with the base.

changes.py   the scenario request and its ten change ops; apply_changes(base, changes) -> request
compare.py   compare(base, base_plan, variant, variant_plan) -> Comparison: KPI deltas and who moved where
run.py       run_scenario(scenario) -> ScenarioResult (variants warm-started from the base plan)
report.py    the comparison as text (the CLI's `scenario` command)

The director's what-if files scenarios/whatif-*.json are written by benchmarks/generator/presets.py.
"""

from service.whatif.changes import (
    MAX_CHANGES_PER_VARIANT,
    MAX_VARIANTS,
    AddOpportunity,
    AddStaff,
    Change,
    PolicyPatch,
    RemoveOpportunity,
    RemoveStaff,
    ScaleRates,
    ScenarioRequest,
    SetBudget,
    SetCapacity,
    SetGrade,
    SetPolicy,
    SetWinProbability,
    Variant,
    apply_changes,
    parse_scenario,
    variant_requests,
)
from service.whatif.compare import (
    Comparison,
    KpiDeltas,
    LeadChange,
    Move,
    ScenarioKpis,
    SlotChange,
    SlotRef,
    StaffChange,
    StaffMove,
    compare,
    kpis_of,
)
from service.whatif.run import (
    ScenarioResult,
    VariantOutcome,
    assemble,
    run_scenario,
    warm_start_of,
    warm_started,
)

__all__ = [
    "MAX_CHANGES_PER_VARIANT",
    "MAX_VARIANTS",
    "AddOpportunity",
    "AddStaff",
    "Change",
    "Comparison",
    "KpiDeltas",
    "LeadChange",
    "Move",
    "PolicyPatch",
    "RemoveOpportunity",
    "RemoveStaff",
    "ScaleRates",
    "ScenarioKpis",
    "ScenarioRequest",
    "ScenarioResult",
    "SetBudget",
    "SetCapacity",
    "SetGrade",
    "SetPolicy",
    "SetWinProbability",
    "SlotChange",
    "SlotRef",
    "StaffChange",
    "StaffMove",
    "Variant",
    "VariantOutcome",
    "apply_changes",
    "assemble",
    "compare",
    "kpis_of",
    "parse_scenario",
    "run_scenario",
    "variant_requests",
    "warm_start_of",
    "warm_started",
]
