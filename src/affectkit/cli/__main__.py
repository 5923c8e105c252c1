import sys

from affectkit.cli import main

sys.exit(main())
