"""`python -m web.cli` runs the `sanchika` command."""

from web.cli.main import main

raise SystemExit(main())
