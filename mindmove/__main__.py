import sys

from mindmove.cli import main

sys.exit(main())
