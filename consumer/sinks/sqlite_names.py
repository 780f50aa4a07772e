"""Interned service and host names (schema 4): `events.service` and `events.host` hold ids into the small dictionary
tables `services` and `hosts` (id, name UNIQUE), as `events.source_topic` does into `topics`.

A name is written once however many events carry it: on the bench corpus ("svc-0", "bench-host") the `events` row and
its `events_by_source` entry are ~13 bytes smaller each, and real names (fqdns, "billing-api") save more. The writer
interns a chunk's distinct names before its rows (INSERT OR IGNORE, bound parameters, so any text is exact: quotes,
unicode, a NUL) and the rows look their ids up in the same statement; a reader turns a name it filters on into
`(SELECT id FROM services WHERE name = ?)`, which is NULL for a name never seen, so the filter matches nothing, and
which SQLite evaluates once (an index equality on `events_by_source`), and joins the few groups it counts back to
their names. Ids are never reused and names never deleted (retention leaves the dictionary alone: it holds one row
per distinct name ever seen).
"""

import sqlite3
from collections.abc import Iterable

SERVICES = "services"
HOSTS = "hosts"
INSERT_SERVICES = "INSERT OR IGNORE INTO services (name) VALUES (?)"
INSERT_HOSTS = "INSERT OR IGNORE INTO hosts (name) VALUES (?)"
# A row's ids from its names: ?-bound (INSERT_EVENT) or from the chunk's JSON (INSERT_EVENTS passes its expressions).
SERVICE_ID_OF = "(SELECT id FROM services WHERE name = {})"
HOST_ID_OF = "(SELECT id FROM hosts WHERE name = {})"
# Reader filters: a name to the id the events carry (NULL, matching nothing, for a name never seen).
SERVICE_FILTER = "service = (SELECT id FROM services WHERE name = ?)"
HOST_FILTER = "host = (SELECT id FROM hosts WHERE name = ?)"
# The same for a walk of all of events_by_source (no service filter): `+host` keeps SQLite from taking the equality
# for an index constraint, which made it sort the groups (USE TEMP B-TREE FOR GROUP BY) instead of reading them in
# the index's order.
HOST_FILTER_IN_WALK = "+host = (SELECT id FROM hosts WHERE name = ?)"
# Reader columns: the names of an `events` row's ids (NULL for none).
SERVICE_NAME = "(SELECT name FROM services WHERE services.id = events.service)"
HOST_NAME = "(SELECT name FROM hosts WHERE hosts.id = events.host)"


def insert_names(connection: sqlite3.Connection, services: Iterable[str], hosts: Iterable[str]) -> None:
    """Intern `services` and `hosts` (distinct, None left out) inside the caller's transaction."""
    connection.executemany(INSERT_SERVICES, [(name,) for name in services])
    connection.executemany(INSERT_HOSTS, [(name,) for name in hosts])


def named_groups(grouped: str) -> str:
    """A statement reading `grouped` (a SELECT of severity, service id, host id, count, grouped) as (severity, service
    name, host name, count): the join runs on the groups, after the count, so the count stays a walk of the index."""
    return (f"SELECT g.severity, s.name, h.name, g.n FROM ({grouped}) AS g "
            "LEFT JOIN services AS s ON s.id = g.service LEFT JOIN hosts AS h ON h.id = g.host")
