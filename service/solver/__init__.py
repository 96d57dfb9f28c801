"""The allocation engine: compile, model, solve, explain. Pure: no web, no database, no settings."""
