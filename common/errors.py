"""The exceptions that reach the user as a message rather than a traceback, and how a message
is laid out."""

import textwrap


class UserError(Exception):
    """Something the user can fix: a missing dataset, a bad flag, a foreign checkpoint.

    The message is shown as one paragraph that says what was wrong and what to do;
    `common.cli.run` prints it and exits with status 2.
    """


class Interrupted(Exception):
    """Ctrl-C during training: the message says from which epoch `train` resumes (exit 130)."""


def paragraph(text, first="error: "):
    """`text` as one paragraph of lines of at most 88 characters after `first`, the next lines
    indented under it. A word or a path longer than a line stays whole on a line of its own,
    so that the user can copy it; a line never breaks at a hyphen (not --out-\\ndir)."""
    return textwrap.fill(text, width=88, initial_indent=first, subsequent_indent=" " * len(first),
                         break_long_words=False, break_on_hyphens=False)
