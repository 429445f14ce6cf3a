from bkm_guard.cli import main

raise SystemExit(main())
