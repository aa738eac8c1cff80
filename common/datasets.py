"""MNIST and Fashion-MNIST from their four IDX files (gzipped or not), and your own pictures.

`load()` takes the first of these places that holds the files:

1. `--data-dir DIR` (only there: an explicit folder that lacks the files is an error),
2. the folder named by `$GAN_DATA_DIR`,
3. Debian's `/usr/share/datasets/` (`apt-get install dataset-fashion-mnist` puts
   `fashion-mnist/` there),
4. Keras, unless `$GAN_OFFLINE` is set (the tests set it): `keras.datasets.<name>.load_data()`
   downloads the dataset once into Keras's cache, `~/.keras/datasets/`, and finds it there later.

`load("folder", data_dir=DIR)` reads a folder of your own pictures instead, made 28x28 grey;
`load_folder(DIR, size=64, colour=True, cache_dir=...)` keeps their colour at 64 or 128 pixels,
for dcgan_color.py, and keeps the decoded pictures in a cache while the folder is unchanged;
`load_folder_classes` reads its sub-folders as classes (--classes). `load` also returns where
the images came from, for the banner. `worker_share` gives each machine its share of the
images on several machines, and `untuned` turns off tf.data's tuning, for the lessons' pipelines.

Images come back as the files hold them, uint8 0..255, (N, 28, 28) for the datasets: each
script scales them to the range of its generator's output itself, where a learner sees it.
"""

import gzip
import hashlib
import json
import os
import struct
import warnings

import numpy as np

from common.errors import UserError
from common.files import replacing, write_text

NAMES = ("fashion_mnist", "mnist")  # the labelled datasets, which the scores need
# Each class's name, by its label: what `cgan_fashion.py sample --label` understands.
CLASS_NAMES = {"fashion_mnist": ("t-shirt", "trouser", "pullover", "dress", "coat", "sandal",
                                 "shirt", "sneaker", "bag", "ankle-boot"),
               "mnist": tuple("0123456789")}
FOLDER = "folder"  # --dataset folder --data-dir DIR: your own pictures, no labels
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
IMAGE_SIZE = 28
# A picture of more pixels than this is skipped (and counted), not decoded: 40 million grey
# pixels would take 40 MB, in colour 160 MB. JPEGs are decoded at a reduced size first.
MAX_PIXELS = 40_000_000
CACHE_VERSION = 1  # of a folder's picture cache: raise when read_picture changes what it makes

# The file names of the IDX release, identical for both datasets.
IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
# Sub-folders a data folder may hold the files in: Keras's and Debian's names.
SUBFOLDERS = {"fashion_mnist": ("fashion-mnist", "fashion_mnist"), "mnist": ("mnist",)}


def read_idx(path, rank):
    """Read one IDX file of unsigned bytes, checking its magic number and its size."""
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as file:
            data = file.read()
    except (OSError, EOFError) as error:
        raise UserError(
            f"Could not read {path}: {error}. The file looks truncated or is not a gzip "
            "file; delete it and copy it again (or reinstall dataset-fashion-mnist)."
        ) from None
    header_size = 4 + 4 * rank
    magic = 0x0800 + rank  # two zero bytes, the type code 0x08 (unsigned byte), the rank
    if len(data) < header_size or struct.unpack(">I", data[:4])[0] != magic:
        raise UserError(
            f"{path} is not an IDX file of rank {rank} (wrong magic number). Check that "
            "the file is the right one of the four dataset files, or copy it again."
        )
    shape = struct.unpack(">" + "I" * rank, data[4:header_size])
    expected = header_size + int(np.prod(shape))
    if len(data) != expected:
        raise UserError(
            f"{path} holds {len(data)} bytes but its header promises {expected} "
            f"(shape {shape}): the file is truncated or corrupt. Copy it again."
        )
    return np.frombuffer(data, np.uint8, offset=header_size).reshape(shape)


def find_in(folder, name, split):
    """The split's two IDX files in `folder` or a sub-folder of Keras's or Debian's name:
    (the images file, a loader of images and labels), or None."""
    for sub in ("",) + SUBFOLDERS[name]:
        paths = [_gzipped_or_not(os.path.join(folder, sub, stem)) for stem in IDX_FILES[split]]
        if all(paths):
            return paths[0], lambda paths=paths: (read_idx(paths[0], 3), read_idx(paths[1], 1))
    return None


def _gzipped_or_not(stem):
    """stem.gz or else stem, whichever is a file; None if neither is."""
    for path in (stem + ".gz", stem):
        if os.path.isfile(path):
            return path
    return None


def search_folders(data_dir=None):
    """The folders `load` looks in, in order (an explicit data_dir is the only one)."""
    if data_dir:
        return [data_dir]
    return [folder for folder in (os.environ.get("GAN_DATA_DIR"), "/usr/share/datasets") if folder]


def load(name="fashion_mnist", split="train", data_dir=None, labels=False):
    """Images of one split as uint8, shape (N, 28, 28), and labels too if asked; and where the
    data came from, for the start-up banner."""
    if name == FOLDER:
        if labels or split != "train":
            raise UserError(NEEDS_LABELS)
        return load_folder(data_dir)
    if name not in NAMES:
        raise UserError(f"Unknown dataset {name!r}; choose one of {', '.join(NAMES + (FOLDER,))}.")
    found = None
    folders = search_folders(data_dir)
    for folder in folders:
        found = find_in(folder, name, split)
        if found:
            break
    if found:
        source, read = found
        images, targets = read()
    elif data_dir or os.environ.get("GAN_OFFLINE"):
        raise _not_found(name, folders)
    else:  # Keras's copy: downloaded once (this needs the internet), then found in its cache
        import keras

        print(f"{name} is not in {'; '.join(folders)}; asking Keras for it (from its cache in "
              "~/.keras/datasets, or a download) ...")
        try:
            train, test = getattr(keras.datasets, name).load_data()
        except Exception as error:  # Keras raises whatever urllib raised.
            raise _not_found(name, folders, error) from None
        images, targets = train if split == "train" else test
        source = f"Keras's {name} (~/.keras/datasets)"
    if images.ndim != 3 or images.shape[1:] != (28, 28) or len(images) != len(targets):
        raise UserError(
            f"{source} holds images of shape {images.shape} and {len(targets)} labels; "
            "expected (N, 28, 28) images with one label each. Copy the dataset files again."
        )
    images = np.asarray(images, np.uint8)
    result = (images, targets.astype(np.int64)) if labels else images
    return result, source


def _not_found(name, folders, keras_error=None):
    apt = "sudo apt-get install dataset-fashion-mnist"
    how = f"{apt} (Debian/Ubuntu), or " if name == "fashion_mnist" else ""
    tail = f" Keras could not get it either: {keras_error}." if keras_error else ""
    if name == "mnist":  # no Debian package; Fashion-MNIST has one, and the same 28x28 shape
        tail += f" Or train on Fashion-MNIST offline ({apt}): --dataset fashion_mnist."
    return UserError(
        f"Could not find the {name} dataset. Looked in: {'; '.join(folders)}. Each place may "
        "hold the four IDX files (train-images-idx3-ubyte.gz and friends), directly or in a "
        f"sub-folder named {' or '.join(SUBFOLDERS[name])}. To get it: {how}run once with "
        "internet access, without --data-dir and $GAN_OFFLINE: Keras then downloads it into "
        "~/.keras/datasets/ and finds it there on every later run. Or pass --data-dir to a "
        "folder that holds the files." + tail
    )


def worker_share(images, batch_size):
    """This machine's images and batch: all of them on one machine; on several (TF_CONFIG),
    every Nth image and 1/N of the batch (common/devices.py). A batch larger than the images
    is refused with a message: an epoch would have no full batch."""
    if batch_size > len(images):
        raise UserError(
            f"One train step takes {batch_size} images, more than the {len(images)} "
            "training images; choose a smaller --batch-size."
        )
    from common import devices

    return devices.worker_share(images, batch_size)


def untuned():
    """tf.data.Options with tf.data's tuning off: its thread sleeps up to a minute between
    rounds, and the end of an epoch (its iterator's end) waited for that thread to wake, 20 s
    or more some epochs (docs/performance.md, sixth session)."""
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    return options


# ----- a folder of your own pictures ------------------------------------------------------
NEEDS_LABELS = (
    "The scores need a labelled dataset, and this run trained on a folder of pictures, "
    "which has no labels. FCD, KID and class coverage compare samples with a dataset's test "
    "split in the feature space of a classifier trained on its labels (common/metrics.py); "
    "for your own pictures there is neither a classifier nor a test split. A folder run "
    "is scored without labels instead: `evaluate` and --eval-every give its sliced "
    "Wasserstein distance and a KID on a random network's features, beside their floor "
    "band, and a check for copies (common/folder_scores.py)."
)


def find_pictures(folder):
    """Every PNG, JPEG, BMP or GIF file under folder, sub-folders included, in a stable order;
    a link to a file already found is left out (an icon theme links one picture under several
    names: read twice, it would weigh twice in training and match itself in the scores)."""
    found, seen = [], set()
    for parent, subfolders, names in os.walk(folder):
        # Sorted, and hidden ones (.git, .thumbnails) left out.
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        pictures = [name for name in sorted(names) if name.lower().endswith(IMAGE_EXTENSIONS)]
        for path in (os.path.join(parent, name) for name in pictures if not name.startswith(".")):
            target = os.path.realpath(path)  # the file itself, through any links
            if target not in seen:
                seen.add(target)
                found.append(path)
    return found


class TooLarge(Exception):
    """A picture of more than MAX_PIXELS pixels: skipped and counted, not decoded."""


def read_picture(path, size=IMAGE_SIZE, colour=False):
    """One picture file -> the centre square, resized: uint8 (size, size) grey, or with
    colour=True (size, size, 3) RGB."""
    from PIL import Image, ImageOps

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow warns of very large images; we skip those
        try:
            picture = Image.open(path)  # reads the header only
        except Image.DecompressionBombError as error:  # Pillow refuses beyond ~179 million pixels
            raise TooLarge(str(error).split(" pixels")[0].split("(")[-1] + " pixels") from None
        with picture:
            picture.draft("RGB", (size * 4, size * 4))  # a large JPEG decodes at 1/2 to 1/8 size
            if picture.width * picture.height > MAX_PIXELS:
                raise TooLarge(f"{picture.width}x{picture.height}")
            picture = ImageOps.exif_transpose(picture)  # a phone photo upright, as it is shown
            if picture.mode in ("RGBA", "LA", "PA") or "transparency" in picture.info:
                # Transparent parts onto black, the background of the built-in datasets.
                black = Image.new("RGBA", picture.size, "black")
                picture = Image.alpha_composite(black, picture.convert("RGBA"))
            picture = picture.convert("RGB" if colour else "L")  # decodes; GIF: its first frame
    side = min(picture.size)
    left, top = (picture.width - side) // 2, (picture.height - side) // 2
    square = picture.crop((left, top, left + side, top + side))  # the centre square
    return np.asarray(square.resize((size, size), Image.Resampling.LANCZOS), np.uint8)


def picture_files(folder):
    """find_pictures, with a message where there is no folder or no picture in it."""
    if not folder:
        raise UserError(
            "No folder of pictures was given: name the folder that holds them with "
            "--data-dir DIR (e.g. --data-dir ~/Pictures/flowers)."
        )
    if not os.path.isdir(folder):
        raise UserError(
            f"--data-dir {folder}: no such folder. Point it at a folder of PNG, JPEG, BMP or GIF "
            "pictures."
        )
    paths = find_pictures(folder)
    if not paths:
        raise UserError(
            f"No pictures in {folder}: looked for .png, .jpg, .jpeg, .bmp and .gif files in it "
            "and in its sub-folders and found none. Put your pictures there, or point "
            "--data-dir at the folder that holds them."
        )
    return paths


def load_folder(folder, size=IMAGE_SIZE, colour=False, cache_dir=None):
    """All pictures under folder as uint8 (N, size, size), or (N, size, size, 3) with colour,
    and a description for the banner. Files that do not read as pictures (truncated, not really
    images) and pictures too large to decode are skipped and counted; other files are ignored.
    With cache_dir, the decoded pictures are kept there (pictures_64px_rgb.npy and .json) and
    read back while no picture was added, removed or changed: decoding thousands of JPEGs takes
    minutes, reading the cache a second."""
    paths = picture_files(folder)
    if cache_dir:
        stem = os.path.join(cache_dir, f"pictures_{size}px_{'rgb' if colour else 'grey'}")
        pictures, notes = _decode_cached(stem, folder, paths, size, colour)
    else:
        pictures, notes = _decode_all(folder, paths, size, colour)  # notes: what was skipped
    source = folder + (f" ({', '.join(notes)})" if notes else "")
    return pictures, source


def folder_classes(folder):
    """The classes of a folder of pictures (--classes): its sub-folders that hold pictures,
    sorted by name (hidden ones left out), and how many pictures lie in no sub-folder; from one
    listing of the folder. Refused with a message where there are fewer than 2 classes."""
    places = [os.path.relpath(path, folder).split(os.sep) for path in picture_files(folder)]
    names = sorted({place[0] for place in places if len(place) > 1})
    if len(names) < 2:
        raise UserError(
            f"--classes: {folder} has {len(names)} sub-folder{'s' if len(names) != 1 else ''} of "
            f"pictures{': ' + names[0] if names else ''}, and the classes are its sub-folders "
            "(cats/ and dogs/: two classes). Put each class's pictures in a sub-folder of its "
            "own, or train without --classes.")
    return names, sum(len(place) == 1 for place in places)


def load_folder_classes(folder, size=IMAGE_SIZE, colour=False, cache_dir=None):
    """load_folder for each class (folder_classes), joined: the pictures, their labels (int32,
    the class's place in the names), the names, and a description for the banner. Pictures
    directly in `folder`, in no sub-folder, are left out, and the banner says how many."""
    (names, loose), parts, labels = folder_classes(folder), [], []
    for label, name in enumerate(names):
        pictures, _ = load_folder(os.path.join(folder, name), size, colour,
                                  cache_dir and os.path.join(cache_dir, "classes", name))
        parts.append(pictures)
        labels.append(np.full(len(pictures), label, np.int32))
    counts = ", ".join(f"{name} {len(part):,}" for name, part in zip(names, parts))
    source = f"{sum(map(len, parts)):,} pictures, {folder}, {len(names)} classes ({counts})" + (
        f"; {loose:,} pictures in no sub-folder left out" if loose else "") + (
        f"; decoded, they are kept in {os.path.join(cache_dir, 'classes')}" if cache_dir else "")
    return np.concatenate(parts), np.concatenate(labels), names, source


def _decode_all(folder, paths, size, colour):
    """Decode every picture into one uint8 array, made once at full length (no list of copies:
    50,000 colour pictures at 64 px are 0.6 GB, and a list stacked at the end would be twice
    that). Returns the pictures and what was skipped, for the banner."""
    pictures = np.empty((len(paths), size, size) + ((3,) if colour else ()), np.uint8)
    count, unreadable, too_large = 0, [], []
    for path in paths:
        try:
            pictures[count] = read_picture(path, size, colour)
            count += 1
        except TooLarge as error:
            too_large.append(f"{os.path.relpath(path, folder)} ({error})")
        except Exception as error:  # Pillow raises OSError, ValueError, SyntaxError, ...
            unreadable.append(f"{os.path.relpath(path, folder)} ({type(error).__name__})")
    skipped = []
    plural = "s" if len(unreadable) > 1 else ""
    for names, what, why in [
        (unreadable, f"{len(unreadable):,} unreadable file{plural}", "not readable as pictures"),
        (too_large, f"{len(too_large):,} too large to decode", f"more than {MAX_PIXELS:,} pixels"),
    ]:
        if names:
            skipped.append(f"{what} skipped")
            more = f" and {len(names) - 5} more" if len(names) > 5 else ""
            print(f"Skipped, {why}: {', '.join(names[:5])}{more}")
    if count == 0:
        raise UserError(
            f"None of the {len(paths)} picture files in {folder} could be read "
            f"({'; '.join(skipped)}). Check that they are whole PNG, JPEG, BMP or GIF files."
        )
    return pictures[:count], skipped


def _decode_cached(stem, folder, paths, size, colour):
    """_decode_all, kept in stem.npy with its key in stem.json. The key holds a hash of every
    picture file's relative name, size and modification time: the cache is read only while
    none of them changed, and a changed or damaged one is decoded again with a note."""
    listing = hashlib.sha256()
    for path in paths:
        status = os.stat(path)
        name = os.path.relpath(path, folder)
        listing.update(f"{name}\0{status.st_size}\0{status.st_mtime_ns}\n".encode())
    shape = [size, size] + ([3] if colour else [])
    key = dict(version=CACHE_VERSION, folder=os.path.abspath(folder), files=len(paths),
               shape=shape, listing=listing.hexdigest())
    cached = _read_cache(stem, key)
    if cached is not None:
        return cached
    pictures, skipped = _decode_all(folder, paths, size, colour)
    os.makedirs(os.path.dirname(stem) or ".", exist_ok=True)
    with replacing(stem + ".npy") as temporary:
        np.save(temporary, pictures)
    # The .json last: a kill in between leaves a .json that does not match, never a wrong cache.
    info = dict(key=key, count=len(pictures), skipped=skipped)
    write_text(stem + ".json", json.dumps(info, indent=2))
    return pictures, skipped


def _read_cache(stem, key):
    """(pictures, notes for the banner: what was skipped, and that the cache was read) from the
    cache if its .json holds `key`, else None."""
    try:
        with open(stem + ".json") as file:
            info = json.load(file)
        if info.get("key") != key:
            print(f"The pictures in the folder changed since the cache {stem}.npy was written: "
                  "decoding them again.")
            return None
        pictures = np.load(stem + ".npy")
        if pictures.dtype != np.uint8 or list(pictures.shape) != [info["count"]] + key["shape"]:
            raise ValueError(f"holds {pictures.dtype} {pictures.shape}")
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as error:  # a cache cut short or edited
        print(f"The picture cache {stem}.npy is damaged ({error}); decoding the pictures again.")
        return None
    # Said in the banner's description of the pictures (load_folder), not in a line of its own:
    # `--eval-every` reads the folder again at every scoring, and --classes once per class.
    return pictures, info["skipped"] + [f"read from the cache {stem}.npy"]
