from learnware_dock.cli import main

raise SystemExit(main())
