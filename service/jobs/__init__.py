"""Solving off the event loop: a pool of solver processes and the job lifecycle around it."""
