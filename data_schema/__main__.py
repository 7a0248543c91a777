from data_schema.cli import main

raise SystemExit(main())
