"""The seeded instance generator: realistic allocation requests for benchmarks, tests and scenarios/.

world.py       the world it draws from: regions, skills, names, deal shapes, size and market profiles
build.py       generate(size, seed) and market(stage, seed): the same arguments give the same request
impossible.py  plants work no plan can fill, one plant per unfilled reason, judged by the contract's rules
jsonfile.py    to_json(request): the stable, readable form of scenarios/*.json
csvpair.py     csv_pair(request): the workspace CSV pair of scenarios/*.json (the service's own export)
cli.py         python -m benchmarks.generator M --seed 1 -o m1.json (--csv: the CSV pair too)
presets.py     python -m benchmarks.generator.presets -o scenarios/: the what-if files

The service never imports this package (tests/test_layout.py checks it).
"""

from benchmarks.generator.build import contention, generate, market
from benchmarks.generator.jsonfile import to_json
from benchmarks.generator.world import SIZE_PROFILES, SIZES, STAGE_PROFILES, STAGES, Json, Size, Stage

__all__ = [
    "SIZES",
    "SIZE_PROFILES",
    "STAGES",
    "STAGE_PROFILES",
    "Json",
    "Size",
    "Stage",
    "contention",
    "generate",
    "market",
    "to_json",
]
