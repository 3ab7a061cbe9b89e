"""`python -m hub` runs the CLI, for environments without the console script on PATH."""

from hub.cli import main

main()
