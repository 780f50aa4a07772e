"""`python -m shipper.service.host --name NAME --config FILE`: the command line of shipper services installed by
earlier versions; the same host as every role's (logferry.service.host) with the shipper's role."""

import sys

from logferry.service.host import main
from logferry.service.roles import RoleKey

if __name__ == "__main__":
    sys.exit(main(default_role=RoleKey.SHIPPER))
