"""`python -m shipper.service install|uninstall|start|stop|status [--config FILE] [--name NAME]`."""

import sys

from shipper.service.cli import main

sys.exit(main())
