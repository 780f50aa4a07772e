"""The web console: `consumer serve` answers a read-only JSON API over the sink's reader and one page (static/) that
searches, counts, draws the histogram, follows the index live, lists the scheduled jobs' runs and shows the
pipeline's health and the alert evaluator's alerts.

Modules: `listen` (the address and who may connect), `params` (request parameters to searches), `readers` (a small
pool of readers shared by the request threads), `api` (the endpoints), `jobs` (the jobs view on the readers'
search), `settings` (the config's `[console]` table), `app` (the Starlette application and its security
middleware), `serve` (the command)."""
