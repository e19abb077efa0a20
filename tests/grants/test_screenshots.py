"""`make screenshots` (issue 12, item 12): its page list is valid without running the browser job.

The job itself (a server, Chromium, a login per demo account) is not run in the suite; what it
depends on is: every page of the list opens for its demo account on the demo data, every image
it writes is committed and shown in README.md, and the Makefile target calls the command.
"""

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from grants.demo.loader import seed_demo
from grants.management.commands import screenshots
from grants.management.commands.screenshots import DESKTOP, PAGES, PHONE, demo_paths

ROOT = Path(__file__).resolve().parents[2]


def expected_files() -> list[str]:
    return [shot.filename(width) for shot in PAGES for width in shot.widths]


def test_the_list_covers_every_role_at_both_widths_in_a_few_images():
    files = expected_files()
    assert len(files) == len(set(files))
    assert 15 <= len(files) <= 25
    for role in ("public", "applicant", "reviewer", "staff"):
        widths = {width for shot in PAGES if shot.role == role for width in shot.widths}
        assert widths == {DESKTOP, PHONE}, role
    assert all(shot.path.startswith("/") for shot in PAGES)


@pytest.mark.django_db
def test_every_page_of_the_list_opens_for_its_demo_account(client):
    seed_demo()
    paths = demo_paths()
    assert demo_paths() == paths  # the draft it adds is added once
    users = {user.email: user for user in get_user_model().objects.all()}
    for shot in PAGES:
        client.logout()
        if shot.email:
            client.force_login(users[shot.email])
        response = client.get(shot.path.format(**paths))
        assert response.status_code == 200, (shot, response.status_code)


def test_every_image_is_committed_and_shown_in_the_readme():
    folder = ROOT / "docs" / "screenshots"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert sorted(p.name for p in folder.glob("*.png")) == sorted(expected_files())
    for name in expected_files():
        assert f"docs/screenshots/{name}" in readme, name


def test_the_makefile_target_runs_the_command_on_a_throwaway_database():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    target = makefile.split("\nscreenshots:", 1)[1].split("\n\n", 1)[0]
    assert "manage.py seed_demo" in target and "manage.py screenshots" in target
    assert "SHOTS_ENV" in target and "sqlite:///" in makefile
    assert screenshots.Command.help
