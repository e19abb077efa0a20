"""What the admin calls the apps and models the portal did not write (allauth, django-celery-beat,
Django's groups), in the active language.

Two means, both without touching the third-party code or its migrations:

- :func:`relabel_third_party` (called from ``PortalAdminConfig.ready``) gives an app section a name
  of its own (``AppConfig.verbose_name``: allauth's ``account`` is also called "Accounts", which
  made two アカウント sections) and names a model or field that has no translatable name (allauth
  MFA's ``Authenticator``). Only ``verbose_name`` attributes are set at run time; the migration
  state reads the declared ``Meta`` and field arguments, so ``makemigrations`` sees no change.
- :data:`THIRD_PARTY_MSGIDS` lists django-celery-beat's own gettext strings (it ships no Japanese):
  ``makemessages`` finds them here, their Japanese lives in our catalogue, and our catalogue
  (``LOCALE_PATHS``) is consulted before any app's.

A new third-party admin app: add its section name to ``APP_NAMES`` (and its strings below if it
has no Japanese); ``tests/kodoku_portal/test_admin_labels.py`` fails on any app or model whose
name is ASCII only in Japanese.
"""

from django.apps import apps
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop, ngettext_lazy

# The admin's sections, by app label (apps of ours name themselves in their AppConfig).
APP_NAMES = {
    "account": _("Sign-in e-mail addresses"),
    "mfa": _("Two-factor authentication"),
    "django_celery_beat": _("Scheduled tasks"),
    "auth": _("Groups and permissions"),
}

# Models without a translatable name: (app label, model name) → (singular, plural).
MODEL_NAMES = {
    ("mfa", "authenticator"): (_("two-factor authenticator"), _("two-factor authenticators")),
}

# Fields named only by their attribute (no verbose_name): (app label, model name, field) → label.
FIELD_NAMES = {
    ("mfa", "authenticator", "user"): _("user"),
    ("mfa", "authenticator", "type"): _("type"),
    ("mfa", "authenticator", "data"): _("data"),
    ("mfa", "authenticator", "created_at"): _("created at"),
    ("mfa", "authenticator", "last_used_at"): _("last used at"),
}


def relabel_third_party() -> None:
    for label, name in APP_NAMES.items():
        if label in apps.app_configs:
            apps.get_app_config(label).verbose_name = name
    for (label, model_name), (singular, plural) in MODEL_NAMES.items():
        if label in apps.app_configs:
            meta = apps.get_model(label, model_name)._meta
            meta.verbose_name, meta.verbose_name_plural = singular, plural
    for (label, model_name, field_name), name in FIELD_NAMES.items():
        if label in apps.app_configs:
            apps.get_model(label, model_name)._meta.get_field(field_name).verbose_name = name


# django-celery-beat 2.9's strings (models, admin, forms), translated in locale/ja.
THIRD_PARTY_MSGIDS = (
    gettext_noop("Periodic Tasks Using This Schedule"),
    gettext_noop("Task (registered)"),
    gettext_noop("Task (custom)"),
    gettext_noop("Arguments"),
    gettext_noop("Execution Options"),
    gettext_noop("Enable selected tasks"),
    gettext_noop("Disable selected tasks"),
    gettext_noop("Toggle activity of selected tasks"),
    gettext_noop("Run selected tasks"),
    gettext_noop("Need name of task"),
    gettext_noop("Only one can be set, in expires and expire_seconds"),
    gettext_noop("Unable to parse JSON: %s"),
    gettext_noop("Periodic Tasks"),
    gettext_noop("Days"),
    gettext_noop("Hours"),
    gettext_noop("Minutes"),
    gettext_noop("Seconds"),
    gettext_noop("Microseconds"),
    gettext_noop("Day"),
    gettext_noop("Hour"),
    gettext_noop("Minute"),
    gettext_noop("Second"),
    gettext_noop("Microsecond"),
    gettext_noop("Astronomical dawn"),
    gettext_noop("Civil dawn"),
    gettext_noop("Nautical dawn"),
    gettext_noop("Astronomical dusk"),
    gettext_noop("Civil dusk"),
    gettext_noop("Nautical dusk"),
    gettext_noop("Solar noon"),
    gettext_noop("Sunrise"),
    gettext_noop("Sunset"),
    gettext_noop("solar event"),
    gettext_noop("solar events"),
    gettext_noop("interval"),
    gettext_noop("intervals"),
    gettext_noop("clocked"),
    gettext_noop("crontab"),
    gettext_noop("crontabs"),
    gettext_noop("periodic task track"),
    gettext_noop("periodic task tracks"),
    gettext_noop("periodic task"),
    gettext_noop("periodic tasks"),
    gettext_noop("Solar Event"),
    gettext_noop("The type of solar event when the job should run"),
    gettext_noop("Latitude"),
    gettext_noop("Run the task when the event happens at this latitude"),
    gettext_noop("Longitude"),
    gettext_noop("Run the task when the event happens at this longitude"),
    gettext_noop("Number of Periods"),
    gettext_noop("Number of interval periods to wait before running the task again"),
    gettext_noop("Interval Period"),
    gettext_noop("The type of period between task runs (Example: days)"),
    gettext_noop("Clock Time"),
    gettext_noop("Run the task at clocked time"),
    gettext_noop("Minute(s)"),
    gettext_noop('Cron Minutes to Run. Use "*" for "all". (Example: "0,30")'),
    gettext_noop("Hour(s)"),
    gettext_noop('Cron Hours to Run. Use "*" for "all". (Example: "8,20")'),
    gettext_noop("Day(s) Of The Month"),
    gettext_noop('Cron Days Of The Month to Run. Use "*" for "all". (Example: "1,15")'),
    gettext_noop("Month(s) Of The Year"),
    gettext_noop('Cron Months (1-12) Of The Year to Run. Use "*" for "all". (Example: "1,12")'),
    gettext_noop("Day(s) Of The Week"),
    gettext_noop('Cron Days Of The Week to Run. Use "*" for "all", Sunday is 0 or 7, Monday is 1. (Example: "0,5")'),
    gettext_noop("Cron Timezone"),
    gettext_noop("Timezone to Run the Cron Schedule on. Default is UTC."),
    gettext_noop("Name"),
    gettext_noop("Short Description For This Task"),
    gettext_noop('The Name of the Celery Task that Should be Run.  (Example: "proj.tasks.import_contacts")'),
    gettext_noop("Interval Schedule"),
    gettext_noop("Interval Schedule to run the task on.  Set only one schedule type, leave the others null."),
    gettext_noop("Crontab Schedule"),
    gettext_noop("Crontab Schedule to run the task on.  Set only one schedule type, leave the others null."),
    gettext_noop("Solar Schedule"),
    gettext_noop("Solar Schedule to run the task on.  Set only one schedule type, leave the others null."),
    gettext_noop("Clocked Schedule"),
    gettext_noop("Clocked Schedule to run the task on.  Set only one schedule type, leave the others null."),
    gettext_noop("Positional Arguments"),
    gettext_noop('JSON encoded positional arguments (Example: ["arg1", "arg2"])'),
    gettext_noop("Keyword Arguments"),
    gettext_noop('JSON encoded keyword arguments (Example: {"argument": "value"})'),
    gettext_noop("Queue Override"),
    gettext_noop("Queue defined in CELERY_TASK_QUEUES. Leave None for default queuing."),
    gettext_noop("Exchange"),
    gettext_noop("Override Exchange for low-level AMQP routing"),
    gettext_noop("Routing Key"),
    gettext_noop("Override Routing Key for low-level AMQP routing"),
    gettext_noop("AMQP Message Headers"),
    gettext_noop("JSON encoded message headers for the AMQP message."),
    gettext_noop("Priority"),
    gettext_noop("Priority Number between 0 and 255. Supported by: RabbitMQ, Redis (priority reversed, 0 is highest)."),
    gettext_noop("Expires Datetime"),
    gettext_noop("Datetime after which the schedule will no longer trigger the task to run"),
    gettext_noop("Expires timedelta with seconds"),
    gettext_noop("Timedelta with seconds which the schedule will no longer trigger the task to run"),
    gettext_noop("One-off Task"),
    gettext_noop("If True, the schedule will only run the task a single time"),
    gettext_noop("Start Datetime"),
    gettext_noop("Datetime when the schedule should begin triggering the task to run"),
    gettext_noop("Set to False to disable the schedule"),
    gettext_noop("Last Run Datetime"),
    gettext_noop(
        "Datetime that the schedule last triggered the task to run. Reset to None if enabled is set to False."
    ),
    gettext_noop("Total Run Count"),
    gettext_noop("Running count of how many times the schedule has triggered the task"),
    gettext_noop("Last Modified"),
    gettext_noop("Datetime that this PeriodicTask was last modified"),
    gettext_noop("Detailed description about the details of this Periodic Task"),
    gettext_noop("every {} {}"),
    gettext_noop("every {}"),
    gettext_noop("{0} task{1} {2} successfully run"),
    ngettext_lazy("{0} task was successfully enabled", "{0} tasks were successfully enabled", "count"),
    ngettext_lazy("{0} task was successfully disabled", "{0} tasks were successfully disabled", "count"),
    ngettext_lazy("{0} task was successfully toggled", "{0} tasks were successfully toggled", "count"),
)
