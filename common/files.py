"""Writing a file so that a crash or a kill at any instant leaves the old file or the new one.

A program killed half-way through writing `log.csv` leaves half a file. Writing to a
temporary name in the same folder and renaming it over the old one avoids that: on POSIX
and Windows a rename within one folder replaces the file in one step.
"""

import contextlib
import os
import re

# The temporary names `replacing` uses, for finding those a killed run left behind.
PARTIAL_NAME = re.compile(r"\..+\.partial(\.\w+)?")


@contextlib.contextmanager
def replacing(path):
    """Yield a temporary path beside `path`; when the block ends without error, rename it to `path`.

    The temporary name keeps the extension (`.name.1234.partial.png`), so writers that choose
    the format from the extension still work; starts with a dot, so `epoch_*.png` never
    matches it; and holds the process id, so two processes writing one file never mix theirs.
    """
    folder, name = os.path.split(path)
    stem, extension = os.path.splitext(name)
    temporary = os.path.join(folder, f".{stem}.{os.getpid()}.partial{extension}")
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def write_text(path, text):
    """Write a text file whole, through `replacing`: a kill leaves the old text or the new."""
    with replacing(path) as temporary:
        with open(temporary, "w", newline="") as file:
            file.write(text)
