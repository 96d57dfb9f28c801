"""Plan fingerprints in deterministic mode: proof that a change to the engine's code kept its plans.

Each instance is solved with `options.deterministic` (CP-SAT's deterministic time, so machine load does not
change the result) and reduced to a fingerprint: the objective and a hash of the sorted assignments and
leads. `record` writes them to benchmarks/results/fingerprints.json; `check` solves again and lists every
instance whose plan changed.

    uv run python -m benchmarks.fingerprints record
    uv run python -m benchmarks.fingerprints check
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from benchmarks.generator import generate
from service.contract import AllocationRequest, Plan
from service.planning import make_plan

RESULTS = Path(__file__).resolve().parent / "results" / "fingerprints.json"
ROOT = Path(__file__).resolve().parents[1]
# (instance, deterministic time limit): seeded sizes and the market scenarios.
INSTANCES = [
    *[(f"S-{seed}", 2.0) for seed in range(5)],
    *[(f"M-{seed}", 5.0) for seed in range(3)],
    ("L-0", 10.0),
    ("L-1", 10.0),
    ("scenarios/new-market.json", 5.0),
    ("scenarios/fast-growth.json", 5.0),
    ("scenarios/mature-market.json", 5.0),
]


def request_of(name: str, time_limit_s: float) -> AllocationRequest:
    if name.endswith(".json"):
        document: dict[str, Any] = json.loads((ROOT / name).read_text())
    else:
        size, seed = name.split("-")
        document = generate(size, int(seed))  # type: ignore[arg-type]
    document["options"] = {**document.get("options", {}), "time_limit_s": time_limit_s, "deterministic": True}
    return AllocationRequest.model_validate(document)


def fingerprint(plan: Plan) -> dict[str, Any]:
    assignments = sorted((a.opportunity_id, a.demand_id, a.staff_id) for a in plan.assignments)
    leads = sorted((lead.opportunity_id, lead.staff_id) for lead in plan.leads)
    digest = hashlib.sha256(json.dumps([assignments, leads]).encode()).hexdigest()[:16]
    return {
        "status": plan.status,
        "covered_value": plan.objective.covered_value,
        "total_cost": plan.objective.total_cost,
        "plan": digest,
    }


def solve_all() -> dict[str, dict[str, Any]]:
    found = {}
    for name, limit in INSTANCES:
        found[name] = fingerprint(make_plan(request_of(name, limit)))
        print(f"{name}: {found[name]}", flush=True)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["record", "check"])
    command = parser.parse_args().command
    found = solve_all()
    if command == "record":
        RESULTS.write_text(json.dumps(found, indent=2) + "\n")
        print(f"wrote {RESULTS}")
        return
    recorded = json.loads(RESULTS.read_text())
    changed = [name for name in recorded if recorded[name] != found.get(name)]
    for name in changed:
        print(f"CHANGED {name}: {recorded[name]} -> {found.get(name)}")
    print("same plans" if not changed else f"{len(changed)} of {len(recorded)} plans changed")
    sys.exit(1 if changed else 0)


if __name__ == "__main__":
    main()
