"""Write the Noto colour emoji as a folder of pictures: a real colour set for dcgan_color.py.

    sudo apt-get install fonts-noto-color-emoji     # Debian's package (as root, without sudo)
    python benchmarks/emoji_folder.py runs/emoji                # all 3,926 emoji
    python benchmarks/emoji_folder.py runs/emoji500 --count 500 # 500 of them, drawn at random
    python benchmarks/emoji_folder.py runs/emoji4 --groups      # 581 in 4 sub-folders (below)
    python dcgan_color.py train --data-dir runs/emoji --out-dir runs/dcgan_emoji

The font NotoColorEmoji.ttf keeps each emoji as a PNG of 136x128 pixels in its CBDT table,
which fonttools reads. Each is painted on white (the emoji's own background is transparent,
and a folder of pictures has no transparency) and written as emoji_NNNN.png. Nothing written
here is committed: each user makes the folder from the package. Takes under a minute.

With --groups, four kinds of emoji, each in a sub-folder named for it, for `dcgan_color.py
--classes`: faces/ (the emoticon faces: U+1F600-1F644, U+1F910-1F92F but U+1F916, the robot,
U+1F970-1F976, U+1F978, U+1FAE0-1FAE8), animals/ (U+1F400-1F43F, U+1F980-1F9AE), food/
(U+1F345-1F37F, U+1F950-1F96F, U+1FAD0-1FADB) and flags/ (the font's ligatures of two or more
regional-indicator letters). Grouped by Unicode block, not by eye: a few members look like
another group (a dodo among the animals is also a bird; a hot pepper, food, is red as flags).

The folder behind the README's "Your own pictures in an hour" and docs/colour.md's emoji
figures ("A score for a folder", "Few pictures", "An hour on a laptop"): 500 emoji drawn with
the default --seed 0, or all 3,926. It measures nothing, so it prints no machine.
"""

import argparse
import io
import os
import sys

import numpy as np
from PIL import Image

FONT = "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"


def emoji_pngs(font_path=FONT):
    """{glyph name: PNG bytes} of every colour bitmap in the font, in the font's order."""
    from fontTools.ttLib import TTFont  # fonttools, in requirements.txt

    strike = TTFont(font_path, lazy=True)["CBDT"].strikeData[0]  # Noto's font has one size
    return {name: glyph.imageData for name, glyph in strike.items()}


def on_white(png_bytes):
    """The emoji as an RGB picture, its transparent parts white."""
    picture = Image.open(io.BytesIO(png_bytes)).convert("RGBA")
    return Image.alpha_composite(Image.new("RGBA", picture.size, "white"), picture).convert("RGB")


GROUPS = {  # name: the code point ranges of its emoji (single code points)
    "faces": [(0x1F600, 0x1F644), (0x1F910, 0x1F915), (0x1F917, 0x1F92F), (0x1F970, 0x1F976),
              (0x1F978, 0x1F978), (0x1FAE0, 0x1FAE8)],
    "animals": [(0x1F400, 0x1F43F), (0x1F980, 0x1F9AE)],
    "food": [(0x1F345, 0x1F37F), (0x1F950, 0x1F96F), (0x1FAD0, 0x1FADB)],
}
REGIONAL_INDICATORS = (0x1F1E6, 0x1F1FF)  # the letters A-Z of which flags are made


def group_of_glyphs(font_path=FONT):
    """{glyph name: group} for the emoji of GROUPS (by the font's cmap) and the flags (by its
    GSUB ligatures whose parts are all regional-indicator letters)."""
    from fontTools.ttLib import TTFont

    font = TTFont(font_path, lazy=True)
    code_point = {}
    for point, glyph in font.getBestCmap().items():
        code_point.setdefault(glyph, point)
    groups = {glyph: name for glyph, point in code_point.items() for name, ranges in
              GROUPS.items() if any(low <= point <= high for low, high in ranges)}
    low, high = REGIONAL_INDICATORS

    def letter(glyph):
        return low <= code_point.get(glyph, 0) <= high

    for lookup in font["GSUB"].table.LookupList.Lookup:
        for table in lookup.SubTable:
            table = getattr(table, "ExtSubTable", table)  # an extension lookup holds the table
            for first, ligatures in getattr(table, "ligatures", {}).items():
                for ligature in ligatures:
                    if letter(first) and all(map(letter, ligature.Component)):
                        groups[ligature.LigGlyph] = "flags"
    return groups


def write_groups(out, font_path=FONT):
    """Write the emoji of each group into out/<group>/; returns {group: how many}."""
    groups, counts = group_of_glyphs(font_path), {}
    for glyph, png in emoji_pngs(font_path).items():
        if glyph in groups:
            folder = os.path.join(out, groups[glyph])
            os.makedirs(folder, exist_ok=True)
            counts[groups[glyph]] = counts.get(groups[glyph], 0) + 1
            on_white(png).save(os.path.join(folder, f"{glyph}.png"))
    return counts


def write_folder(out, count=None, seed=0, font_path=FONT):
    """Write `count` emoji (all when None; a seeded random choice otherwise); returns how many."""
    pngs = list(emoji_pngs(font_path).values())
    chosen = range(len(pngs))
    if count is not None and count < len(pngs):
        chosen = sorted(np.random.default_rng(seed).choice(len(pngs), count, replace=False))
    os.makedirs(out, exist_ok=True)
    for number, index in enumerate(chosen):
        on_white(pngs[index]).save(os.path.join(out, f"emoji_{number:04d}.png"))
    return len(chosen)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", help="the folder to write the pictures into")
    parser.add_argument("--count", type=int, help="how many emoji (default: all of them)")
    parser.add_argument("--seed", type=int, default=0, help="which ones, with --count")
    parser.add_argument("--groups", action="store_true",
                        help="faces, animals, food and flags, a sub-folder each (for --classes)")
    args = parser.parse_args(argv)
    if not os.path.exists(FONT):
        sys.exit(f"No {FONT}: install Debian's package fonts-noto-color-emoji (sudo apt-get "
                 "install fonts-noto-color-emoji; as root, without sudo), then run this again.")
    if args.groups:
        counts = write_groups(args.out)
        print(f"Wrote {sum(counts.values()):,} emoji pictures (136x128, on white) to {args.out}: "
              + ", ".join(f"{name}/ {count}" for name, count in counts.items()))
        return
    written = write_folder(args.out, args.count, args.seed)
    print(f"Wrote {written:,} emoji pictures (136x128, on white) to {args.out}")


if __name__ == "__main__":
    main()
