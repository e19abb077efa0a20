"""Helpers for files staff open in Excel."""

# A cell beginning with one of these is read by Excel as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value):
    """Text that Excel will show as text: a leading ' before anything that looks like a formula.

    Numbers are left as they are (a negative number is data, not a formula)."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


class Echo:
    """A pseudo-buffer for csv.writer: each write hands the formatted line back (for streaming)."""

    def write(self, value: str) -> str:
        return value
