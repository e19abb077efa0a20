"""The database refuses UPDATE and DELETE on the audit table (see kodoku_portal/append_only.py).

RunSQL cannot branch on the vendor, so a RunPython step executes the vendor's SQL. It comes after
0002 because SQLite remakes the table for 0002's AddField (which would drop the triggers).
"""

from django.db import migrations

from kodoku_portal import append_only


class Migration(migrations.Migration):

    dependencies = [
        ('kodoku_portal', '0002_audit_context_and_outbox'),
    ]

    operations = [
        migrations.RunPython(append_only.install, append_only.uninstall, elidable=False),
    ]
