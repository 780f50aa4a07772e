"""The shipper's Windows service: `python -m shipper service install|uninstall|start|stop|status --config FILE`
(also `python -m shipper.service ...`).

The service machinery is every role's, in logferry.service (the role record is logferry.service.roles.SHIPPER);
here are only the shipper's own parts:

- `cli`: the `service` subcommand bound to the shipper's role;
- `settings`: what the service needs from the shipper's config (the stop time, the private state directory);
- `host`: the host's old module name, which services installed by earlier versions still run.

The private directories' ACL is set by logferry.windows.acl.
"""
