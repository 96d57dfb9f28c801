"""`python -m benchmarks.generator`: see benchmarks/generator/cli.py."""

from benchmarks.generator.cli import main

raise SystemExit(main())
