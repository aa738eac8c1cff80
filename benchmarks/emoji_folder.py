"""Write the Noto colour emoji as a folder of pictures: a real colour set for dcgan_color.py.

    sudo apt-get install fonts-noto-color-emoji     # Debian's package (as root, without sudo)
    python benchmarks/emoji_folder.py runs/emoji                # all 3,926 emoji
    python benchmarks/emoji_folder.py runs/emoji500 --count 500 # 500 of them, drawn at random
    python dcgan_color.py train --data-dir runs/emoji --out-dir runs/dcgan_emoji

The font NotoColorEmoji.ttf keeps each emoji as a PNG of 136x128 pixels in its CBDT table,
which fonttools reads. Each is painted on white (the emoji's own background is transparent,
and a folder of pictures has no transparency) and written as emoji_NNNN.png. Nothing written
here is committed: each user makes the folder from the package. Takes under a minute.

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
    args = parser.parse_args(argv)
    if not os.path.exists(FONT):
        sys.exit(f"No {FONT}: install Debian's package fonts-noto-color-emoji (sudo apt-get "
                 "install fonts-noto-color-emoji; as root, without sudo), then run this again.")
    written = write_folder(args.out, args.count, args.seed)
    print(f"Wrote {written:,} emoji pictures (136x128, on white) to {args.out}")


if __name__ == "__main__":
    main()
