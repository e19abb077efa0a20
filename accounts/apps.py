from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from kodoku_portal import outbox
        from kodoku_portal.audit import register_action

        from .adapter import ACCOUNT_MAIL
        from .mails import build_account_mail

        outbox.register(ACCOUNT_MAIL, build_account_mail, label=_("Account (confirmation, password)"))

        register_action(
            "role_changed",
            _("%(actor)s changed the role of %(object)s from %(before)s to %(after)s"),
            _("Role changed"),
        )
        register_action("user_created", _("%(actor)s created the account %(name)s (%(after)s)"), _("Account created"))
