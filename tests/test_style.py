"""The code reads like a book: no line of Python longer than 100 characters, anywhere."""

import glob
import os

from conftest import ROOT

LONGEST = 100


def test_no_line_is_longer_than_100_characters():
    too_long = []
    for path in sorted(glob.glob(os.path.join(ROOT, "**", "*.py"), recursive=True)):
        if "/." in path.replace(ROOT, ""):  # .venv, .git and the like
            continue
        with open(path, encoding="utf-8") as file:
            for number, line in enumerate(file, 1):
                if len(line.rstrip("\n")) > LONGEST:
                    too_long.append(
                        f"{os.path.relpath(path, ROOT)}:{number} ({len(line.rstrip())})"
                    )
    assert not too_long, f"{len(too_long)} lines over {LONGEST} characters:\n" + "\n".join(too_long)
