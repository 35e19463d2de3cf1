import sys

from credsync.cli import main

sys.exit(main())
