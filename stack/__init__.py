"""Development and single-machine process supervisor: `python -m stack` (what `make run` calls).

Not part of the hotline core: it starts the action server, the dialog engine and the gateway with their
per-run secrets, shows start-up progress, and restarts a component that dies (see `supervisor`).
"""
