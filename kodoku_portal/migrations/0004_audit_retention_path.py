"""Retention (公文書管理法) may rewrite the audit's personal columns, and nothing else: the triggers
let an UPDATE through only inside ``append_only.retention()`` (PostgreSQL: ``SET LOCAL
kodoku.retention = 'on'``; SQLite: the registered function ``kodoku_audit_retention()``) and only
when every other column is unchanged. DELETE stays refused. See kodoku_portal/append_only.py."""

from django.db import migrations

from kodoku_portal import append_only


class Migration(migrations.Migration):

    dependencies = [
        ('kodoku_portal', '0003_audit_append_only'),
    ]

    operations = [
        migrations.RunPython(append_only.install, append_only.install_without_retention, elidable=False),
    ]
