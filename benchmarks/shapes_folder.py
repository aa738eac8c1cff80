"""Write a folder of drawn pictures to try `--dataset folder` and dcgan_color.py on.

Reproduces the pictures trained on in docs/lessons.md, "Train on your own pictures"
(shapes_real.png; the grids beside it come from the `train` command below) and in
docs/colour.md, "A real run on colour shapes" (color_real.png: the folder that section's
figures were measured on). Takes seconds.

    python benchmarks/shapes_folder.py runs/shapes            # 4,000 pictures
    python dcgan_fashion.py train --dataset folder --data-dir runs/shapes --recipe fast \
        --epochs 30 --out-dir runs/dcgan_shapes
    python benchmarks/shapes_folder.py runs/shapes_color --colour   # 5,000 colour pictures
    python dcgan_color.py train --data-dir runs/shapes_color --epochs 10

Each picture is one shape (a ring, a filled square, a triangle or a cross) of random size,
position and colour on a random background, at a random size between 40 and 160 pixels,
saved as PNG, JPEG, BMP or GIF: what a folder collected by hand looks like, roughly.
One broken file is added on purpose, to show that they are skipped and counted.

With --colour, for dcgan_color.py: each picture is one of five shapes (a disc, a ring, a
square, a triangle, a cross) in a saturated colour of any hue, with a darker outline, on a
background that fades from one muted colour to another, at 64 to 256 pixels a side: the
colour, the shape and the background all vary, and each must be learned. The pictures depend
only on --seed, so this prints no machine: it measures nothing.
"""

import colorsys
import os

import numpy as np
from PIL import Image, ImageDraw

from _shared import parser


def draw(rng):
    width, height = (int(v) for v in rng.integers(40, 161, size=2))
    background = tuple(int(v) for v in rng.integers(0, 90, size=3))
    colour = tuple(int(v) for v in rng.integers(150, 256, size=3))
    picture = Image.new("RGB", (width, height), background)
    pen = ImageDraw.Draw(picture)
    side = min(width, height)
    size = side * rng.uniform(0.35, 0.7)
    cx = width / 2 + rng.uniform(-0.12, 0.12) * side
    cy = height / 2 + rng.uniform(-0.12, 0.12) * side
    box = [cx - size / 2, cy - size / 2, cx + size / 2, cy + size / 2]
    kind = rng.integers(4)
    if kind == 0:
        pen.ellipse(box, outline=colour, width=max(2, int(size / 7)))
    elif kind == 1:
        pen.rectangle(box, fill=colour)
    elif kind == 2:
        pen.polygon([(cx, box[1]), (box[2], box[3]), (box[0], box[3])], fill=colour)
    else:
        bar = max(2, int(size / 5))
        pen.line([(box[0], cy), (box[2], cy)], fill=colour, width=bar)
        pen.line([(cx, box[1]), (cx, box[3])], fill=colour, width=bar)
    return picture


def draw_colour(rng):
    side = int(rng.integers(64, 257))
    width, height = side, int(side * rng.uniform(1.0, 1.3))  # not square: the centre is kept
    top, bottom = (rng.uniform(0.1, 0.7, size=3) * 255 for _ in range(2))  # muted colours
    fade = np.linspace(0, 1, height)[:, np.newaxis, np.newaxis]
    background = (top * (1 - fade) + bottom * fade) * np.ones((1, width, 1))
    picture = Image.fromarray(background.astype(np.uint8), "RGB")
    pen = ImageDraw.Draw(picture)
    hue, saturation, value = rng.uniform(), rng.uniform(0.7, 1.0), rng.uniform(0.8, 1.0)
    colour = tuple(int(255 * v) for v in colorsys.hsv_to_rgb(hue, saturation, value))
    outline = tuple(v // 3 for v in colour)
    size = side * rng.uniform(0.4, 0.75)
    cx = width / 2 + rng.uniform(-0.1, 0.1) * side
    cy = height / 2 + rng.uniform(-0.1, 0.1) * side
    box = [cx - size / 2, cy - size / 2, cx + size / 2, cy + size / 2]
    line = max(2, int(size / 20))
    kind = rng.integers(5)
    if kind == 0:
        pen.ellipse(box, fill=colour, outline=outline, width=line)
    elif kind == 1:
        pen.ellipse(box, outline=colour, width=max(3, int(size / 6)))
    elif kind == 2:
        pen.rectangle(box, fill=colour, outline=outline, width=line)
    elif kind == 3:
        corners = [(cx, box[1]), (box[2], box[3]), (box[0], box[3])]
        pen.polygon(corners, fill=colour, outline=outline)
    else:
        bar = max(3, int(size / 4))
        pen.line([(box[0], cy), (box[2], cy)], fill=colour, width=bar)
        pen.line([(cx, box[1]), (cx, box[3])], fill=colour, width=bar)
    return picture


def main():
    options = parser(__doc__)
    options.add_argument("folder")
    options.add_argument("--count", type=int, help="pictures (default: 4,000; --colour 5,000)")
    options.add_argument("--colour", action="store_true", help="the colour shapes, for dcgan_color")
    options.add_argument("--seed", type=int, default=0)
    args = options.parse_args()
    args.count = args.count or (5000 if args.colour else 4000)
    rng = np.random.default_rng(args.seed)
    formats = [("png", "PNG"), ("jpg", "JPEG"), ("bmp", "BMP"), ("gif", "GIF")]
    for index in range(args.count):
        extension, kind = formats[index % len(formats)]
        folder = os.path.join(args.folder, f"batch_{index // 1000}")
        os.makedirs(folder, exist_ok=True)
        picture = (draw_colour if args.colour else draw)(rng)
        picture.save(os.path.join(folder, f"shape_{index:05d}.{extension}"), kind)
    with open(os.path.join(args.folder, "broken.jpg"), "wb") as file:
        file.write(b"\xff\xd8\xff not a whole JPEG")
    with open(os.path.join(args.folder, "README.txt"), "w") as file:
        file.write("Pictures drawn by benchmarks/shapes_folder.py; not a picture, so ignored.\n")
    print(f"Wrote {args.count} pictures and 1 broken file under {args.folder}/")


if __name__ == "__main__":
    main()
