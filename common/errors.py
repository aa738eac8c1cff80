"""The one exception type that reaches the user as a message rather than a traceback."""


class UserError(Exception):
    """Something the user can fix: a missing dataset, a bad flag, a foreign checkpoint.

    The message is shown as one paragraph that says what was wrong and what to do;
    `common.cli.run` prints it and exits with status 2.
    """
