"""The exceptions that reach the user as a message rather than a traceback."""


class UserError(Exception):
    """Something the user can fix: a missing dataset, a bad flag, a foreign checkpoint.

    The message is shown as one paragraph that says what was wrong and what to do;
    `common.cli.run` prints it and exits with status 2.
    """


class Interrupted(Exception):
    """Ctrl-C during training: the message says from which epoch `train` resumes (exit 130)."""
