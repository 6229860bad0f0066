import sys

from videoqa_cli.main import main

sys.exit(main())
