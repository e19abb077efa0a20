"""One racer of test_reminders_services: load Django, connect, say "ready", wait for the start
signal (a file appearing), then run a management command through execute_from_command_line.

    python -m tests.grants._reminder_racer READY_FILE GO_FILE TRACE_FILE COMMAND [ARGS…]

Every statement on the outbox table is traced (time, kind, outcome) into TRACE_FILE as JSON
lines, so the test can show that the two processes really competed for the same rows. The trace
only observes: statements run unchanged and errors are re-raised.
"""

import json
import os
import sys
import time


def main() -> None:
    ready, go, trace_path, *command = sys.argv[1:]
    import django

    django.setup()
    from django.core.checks import run_checks
    from django.core.management import execute_from_command_line, get_commands, load_command_class
    from django.db import IntegrityError, connection

    # Everything that can be done before the start is done: imports, the command, the system
    # checks every command runs first (the URLconf, templates: half a second when cold), the
    # connection. Both racers then reach the reminders within milliseconds of each other.
    load_command_class(get_commands()[command[0]], command[0])
    run_checks()
    connection.ensure_connection()
    trace = open(trace_path, "w")  # noqa: SIM115 - open for the life of the process

    def observe(execute, sql, params, many, context):
        if '"kodoku_portal_outboxmessage"' not in sql:
            return execute(sql, params, many, context)
        kind = sql.split(None, 1)[0].lower()
        started = time.time()
        outcome = "ok"
        try:
            return execute(sql, params, many, context)
        except IntegrityError:
            outcome = "conflict"
            raise
        finally:
            trace.write(json.dumps({"t": started, "op": kind, "outcome": outcome}) + "\n")
            trace.flush()

    open(ready, "w").close()
    give_up = time.monotonic() + 30
    while not os.path.exists(go):
        if time.monotonic() > give_up:
            sys.exit("the start signal never came")
        time.sleep(0.0002)
    with connection.execute_wrapper(observe):
        execute_from_command_line(["manage.py", *command])
    trace.close()


if __name__ == "__main__":
    main()
