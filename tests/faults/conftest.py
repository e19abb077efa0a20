"""Fault tests: what a user sees and what happens to their work when a part of the system fails
(the database connection lost, Redis stopped, a worker killed, a request replayed).

Every test in this folder is marked ``fault`` (``pytest -m fault`` runs them alone); they run in
CI's ``make test`` with the rest. Those that need PostgreSQL or a real Redis say so in their skip
reason; .ci/run provides both. Tests elsewhere that kill workers carry the marker as well
(tests/kodoku_portal/test_outbox_worker.py, tests/grants/test_notices_services.py).

==============================================  ==============================================
failure                                         test
==============================================  ==============================================
PostgreSQL connection terminated mid-request    test_database_lost.py
Redis stopped during a submission / autosave    test_redis_stopped.py
a submission replayed                           test_replayed_submission.py
a worker SIGKILLed mid-batch                    tests/kodoku_portal/test_outbox_worker.py,
                                                tests/grants/test_notices_services.py
hostile or oversized input in any form          test_hostile_input.py
the mail server down                            tests/applications/test_submission.py
                                                (a failed receipt mail is sent by the sweep)
==============================================  ==============================================
"""

from pathlib import Path

import pytest

# The applicant's fixtures (an open call, an organisation, a member, a complete draft).
from tests.applications.conftest import (  # noqa: F401 - fixtures
    _private_files,
    complete_draft,
    draft,
    member,
    npo_type,
    open_call,
    organisation,
)

_HERE = Path(__file__).parent


def pytest_collection_modifyitems(config, items):
    for item in items:
        if _HERE in Path(item.fspath).parents:
            item.add_marker(pytest.mark.fault)
