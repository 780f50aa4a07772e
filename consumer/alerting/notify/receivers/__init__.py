"""The receivers notifications go to, one module each (`email`, `webhook`, `alertmanager`) with its settings in its
own `*_settings` module; `registry` maps a `type` to them. `base` is their one interface."""
