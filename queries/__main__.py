from queries.cli import main

raise SystemExit(main())
