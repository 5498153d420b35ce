from grutui.cli import main

raise SystemExit(main())
