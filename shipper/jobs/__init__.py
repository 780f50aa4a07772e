"""`shipper exec`: run a scheduled job and record every run (start, output, end) through the shipper's durable path.

A run's records are written first to a spool file under the state directory (`<state_dir>/jobs/*.jsonl`, one JSON
object per line); an implicit input of every shipper (format json) follows that directory, so the spool is shipped
by the normal tail -> Kafka -> checkpoint machinery: by `exec` itself in a once-pass before it exits, or by a running
shipper service that holds the state directory. The event id of each record is its spool stream + byte offset, so
a retried delivery keeps its id and the index keeps each record once.

Modules, one role each:
- `identity`: the run id and the job name (types, validated);
- `records`: the spool's record shapes (start, output line, end, refusal, ended-unknown) and the run's outcome;
- `spool`: where spools live, the append-only writer, the implicit input that follows them;
- `decoding`: a child's output bytes to lines (UTF-8, UTF-16 by its NULs, else the console code page);
- `output`: one output stream's lines through the parser registry (auto, multiline) into spool records;
- `child`: the child process behind one interface (`child_posix`: a process group; `child_windows`: a Job Object);
- `locks`: the run's liveness lock and the job's no-overlap lock;
- `recovery`: runs whose `exec` died are marked ended-unknown;
- `ship`: the once-pass over the spools;
- `run`: `exec` itself, the sequence of all of these; `cli`: its command line (`shipper exec`).
"""
