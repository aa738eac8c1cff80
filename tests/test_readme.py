"""The README's promises that code can check: its links to the lessons' sections point at them."""

import os
import re

from conftest import ROOT

# The README's table of the four scripts links these sections, in this order, by line numbers.
LINKED = ("Settings", "Losses", "Train step", "Training loop")
RULE = "# " + "-" * 94  # a section's header: a rule, "# Title ...", a rule


def sections(script):
    """{title: (first line, last line)}: from a section's opening rule to its last line of code
    before the next section's header."""
    with open(os.path.join(ROOT, script), encoding="utf-8") as file:
        lines = file.read().splitlines()
    starts = [number for number, line in enumerate(lines[:-1]) if line == RULE
              and lines[number + 1].startswith("# ") and lines[number + 1] != RULE]
    found = {}
    for start, end in zip(starts, starts[1:] + [len(lines)]):
        last = end - 1
        while not lines[last].strip():
            last -= 1
        found[lines[start + 1][2:]] = (start + 1, last + 1)  # 1-based, as GitHub's #L
    return found


def test_the_readme_links_each_lessons_sections_by_their_lines():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as file:
        readme = file.read()
    for script in ("mlp_gan_keras.py", "dcgan_fashion.py", "wgan_gp.py", "dcgan_color.py",
                   "cgan_fashion.py"):
        row = next(line for line in readme.splitlines() if line.startswith("| ")
                   and f"`{script}`" in line and "#L" in line)
        links = re.findall(rf"\[(\d+)-(\d+)\]\({re.escape(script)}#L(\d+)-L(\d+)\)", row)
        found = sections(script)
        expected = [next(span for title, span in found.items() if title.startswith(name))
                    for name in LINKED]
        shown = [(int(first), int(last)) for first, last, *_ in links]
        assert all(a == c and b == d for a, b, c, d in links), f"{script}: text and link differ"
        assert shown == expected, f"{script}: the README shows {shown}, the sections are {expected}"


def test_the_readme_reads_in_one_sitting():
    """A learner's path, not a manual: measurements and details live on docs/ pages."""
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as file:
        assert len(file.read()) <= 16_000
