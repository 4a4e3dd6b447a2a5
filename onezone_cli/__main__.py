"""`python -m onezone_cli`: the same command without the installed console script."""

from onezone_cli.cli import main

raise SystemExit(main())
