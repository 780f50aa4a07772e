"""The Windows services of every logferry role, one implementation: `python -m shipper service ...` and
`python -m consumer service ... [--role alert]` both end here.

- `roles`: what tells the roles apart, as data: one `ServiceRole` record per role (names, the command it runs, its
  default config, where its settings are read);
- `spec`: where the services' files live, timeouts, recovery, the command line the SCM runs (plain logic);
- `cli`: the `service install|uninstall|start|stop|status` subcommand, for any role;
- `host`: the process the service control manager starts (pywin32's ServiceFramework), for any role;
- `body`: what the host runs: the role's own command in-process, its output into a rotating log file;
- `stopping`: how a role's command learns that the service was asked to stop (instead of a signal);
- `supervise`: runs the body in a worker thread and reports stop progress while it finishes;
- `scm`: the service control manager's calls (install, recovery options, remove, start, stop, state);
- `rotating`: the size-bounded log file a service writes instead of stderr.

Nothing here imports pywin32 at module level: every module imports on every platform.
"""
