"""The Windows service: `python -m shipper service install|uninstall|start|stop|status --config FILE`.

- `spec`: names, timeouts and the service's command line (plain logic, tested on Linux);
- `supervise`: runs the shipper under a stop controller and reports stop progress while it flushes;
- `host`: the process the service control manager starts (pywin32's ServiceFramework);
- `cli`: the `service` subcommand;
- `scm`: the service control manager's calls (install, recovery options, remove, start, stop, state).

The state directory's private ACL is set by shipper.platform.windows.acl.
"""
