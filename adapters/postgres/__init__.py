"""Every place regledger goes past the eventsourcing library on PostgreSQL.

Each shortcut keeps the library's guarantees (one transaction per save, the table lock from
before the insert until commit so commit order equals id order, the NOTIFY, duplicate versions
refused as `IntegrityError`) and is selected through the library's own ``*_TOPIC`` settings
(``Settings.eventsourcing_env``). Figures: docs/benchmarks.md, same-run baselines.

1. Small saves in one round trip (`small_saves.OneTripInsert`). The library's pipelined
   transaction waits for the server four times; the same statements sent as one simple-protocol
   query wait once. A 2-event save: 1.1 ms -> 0.5 ms; sequential enroll 561 -> 923 commands/s
   (0.35x -> 0.58x the raw locked transaction).
2. Large saves as one binary COPY (`recorders.LargeSavePostgresApplicationRecorder`). psycopg
   3.3.9's pipeline deadlocks once a save's message outgrows the socket buffers (~8 MB); a
   Splash-scale lottery commit hung every time. COPY streams, so no size hangs, and it costs half
   the library's chunked ``unnest`` insert: 34,414 events saved in 0.68 s (50k events/s, 0.58x raw
   ``executemany``).
3. Table creation behind an advisory lock (`recorders`). Two processes starting at once made
   the library's ``CREATE ... IF NOT EXISTS`` fail with "tuple concurrently updated". Correctness
   only, no speed figure.
4. Saves retried once, not ten times (`recorders`), and reads retried once after the pool drops
   its dead connections (`db_faults`), with a 1.5 s pool wait and a 2 s reconnect backoff instead
   of the library's 10 s and 5 minutes (`event_reader`). During an outage a request fails fast
   and is answered 503; `db_faults` also tells whether a failed request may have written.
   Behaviour, no speed figure.
5. One read for every aggregate a command needs (`event_reader.PostgresEventReader`): an
   ``unnest`` of (id, version) pairs, each a walk of the primary key. Round trips per enroll 8 ->
   3 (enroll 36-46 -> 125 commands/s then, on a loaded machine); the lottery commit's read of
   ~4,300 aggregates on a 200k-event log 0.18 s -> 0.02 s (the planner had sorted the whole table).
6. Log pages read in binary into named tuples (`notification_reader.PostgresNotificationPages`),
   the next page requested in pipeline mode while the current one is folded (`PipelinedPages`).
   676k against the library's 248k events/s read; rebuild ~68k -> ~73k events/s from the
   read-ahead alone. Ids come from the one shared id cache (`regledger.domain.ids.uuid_from_hex`).
7. The projector waits on LISTEN, with its own reconnecting connections and backoff through an
   outage (`wakeup`): live lag median 1.0 ms, p99 2.9 ms.

`library_version` refuses to import the save shortcuts (1-3) against any eventsourcing but the
one their SQL was copied from.
"""
