"""greenlight's local AWS emulator: moto plus a CodeDeploy blue/green lifecycle
for ECS, injectable faults and a call log. Start it with
``python -m greenlight_emulator --port PORT``."""

__version__ = "0.1.0"
