"""``python -m runs.cli COMMAND ...``: the ``multipolar`` program without its console script."""

from runs.cli import main

main()
