"""The one refusal: every rule of the portal that says no raises :class:`Refused`."""

from django.utils.translation import gettext


class Refused(Exception):
    """A request the rules refuse: a machine code and one or more messages in the user's language.

    ``messages`` (list of str) are shown to the user as they are; ``message`` is the first;
    ``code`` is for programs and tests ("transition", "closed", "incomplete", …).
    """

    def __init__(self, *messages: str, code: str = "refused") -> None:
        texts = [str(message) for message in messages] or [gettext("This request cannot be carried out.")]
        super().__init__(" ".join(texts))
        self.messages: list[str] = texts
        self.message: str = texts[0]
        self.code: str = code

    def __repr__(self) -> str:
        return f"Refused({', '.join(map(repr, self.messages))}, code={self.code!r})"
