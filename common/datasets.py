"""MNIST and Fashion-MNIST, read offline from the standard files.

Both datasets come as four IDX files (gzipped or not); Keras also keeps MNIST as one
`mnist.npz`. `load()` looks for them in this order and takes the first it finds:

1. `--data-dir DIR` (only there: an explicit folder that lacks the files is an error),
2. the folder named by `$GAN_DATA_DIR`,
3. Keras's cache, `~/.keras/datasets/` (or `$KERAS_HOME/datasets/`),
4. Debian's `/usr/share/datasets/<name>/` (`apt-get install dataset-fashion-mnist`),
5. Keras's own download, unless `$GAN_OFFLINE` is set (the tests set it).

`load("folder", data_dir=DIR)` reads a folder of your own pictures instead (see
`load_folder`): any size and colour, made 28x28 grey. `load_folder(DIR, size=64,
colour=True, cache_dir=...)` keeps their colour at 64 or 128 pixels, for dcgan_color.py, and
keeps the decoded pictures in a cache file that is read instead while the folder is unchanged.

Images come back as the files hold them: uint8 grey levels 0..255, shaped (N, 28, 28).
Each script scales them to the range of its generator's output itself, where a learner
sees it.
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
FOLDER = "folder"  # --dataset folder --data-dir DIR: your own pictures, no labels
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
IMAGE_SIZE = 28
# A picture of more pixels than this is skipped (and counted), not decoded: 40 million grey
# pixels would take 40 MB, in colour 160 MB. JPEGs are decoded at a reduced size first.
MAX_PIXELS = 40_000_000
SPLITS = ("train", "test")

# The file names of the IDX release, identical for both datasets.
IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
# Sub-folders a data folder may hold the files in: Keras's and Debian's names.
SUBFOLDERS = {"fashion_mnist": ("fashion-mnist", "fashion_mnist"), "mnist": ("mnist",)}
# IDX magic numbers: two zero bytes, the type code 0x08 (unsigned byte), the rank.
IDX_MAGIC = {3: 0x00000803, 1: 0x00000801}


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
    if len(data) < header_size or struct.unpack(">I", data[:4])[0] != IDX_MAGIC[rank]:
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


def _idx_pair(folder, split):
    """The (images, labels) paths of one split in `folder`, or None if absent."""
    paths = []
    for stem in IDX_FILES[split]:
        found = [os.path.join(folder, stem + ext) for ext in (".gz", "")]
        found = [path for path in found if os.path.isfile(path)]
        if not found:
            return None
        paths.append(found[0])
    return tuple(paths)


def find_in(folder, name, split):
    """Look for the dataset in one folder; return a loader or None."""
    for sub in ("",) + SUBFOLDERS[name]:
        candidate = os.path.join(folder, sub)
        pair = _idx_pair(candidate, split)
        if pair:
            return pair[0], lambda pair=pair: (read_idx(pair[0], 3), read_idx(pair[1], 1))
    if name == "mnist":
        npz = os.path.join(folder, "mnist.npz")
        if os.path.isfile(npz):
            return npz, lambda: _read_npz(npz, split)
    return None


def _read_npz(path, split):
    try:
        with np.load(path) as arrays:
            return arrays[f"x_{split}"], arrays[f"y_{split}"]
    except (OSError, KeyError, ValueError) as error:
        raise UserError(
            f"Could not read {path} as Keras's mnist.npz ({error}). It should hold "
            "x_train, y_train, x_test and y_test; delete it and let Keras download it again."
        ) from None


def search_folders(data_dir=None):
    """The folders `load` looks in, in order (an explicit data_dir is the only one)."""
    if data_dir:
        return [data_dir]
    folders = []
    if os.environ.get("GAN_DATA_DIR"):
        folders.append(os.environ["GAN_DATA_DIR"])
    keras_home = os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras"))
    folders.append(os.path.join(keras_home, "datasets"))
    folders.append("/usr/share/datasets")
    return folders


def _download(name):
    """Keras's own download, the last resort (needs the internet)."""
    import keras

    print(f"{name} not found on disk; asking Keras to download it ...")
    try:
        loaded = getattr(keras.datasets, name).load_data()
    except Exception as error:  # Keras raises whatever urllib raised.
        return None, error
    return loaded, None


def load(name="fashion_mnist", split="train", data_dir=None, labels=False):
    """Images of one split as uint8, shape (N, 28, 28); labels too if asked.

    Also returns where the data came from, for the start-up banner.
    """
    if name == FOLDER:
        if labels or split != "train":
            raise UserError(needs_labels_message())
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
    else:
        loaded, error = _download(name)
        if loaded is None:
            raise _not_found(name, folders, error)
        (train_x, train_y), (test_x, test_y) = loaded
        images, targets = (train_x, train_y) if split == "train" else (test_x, test_y)
        source = f"Keras download ({name})"
    if images.ndim != 3 or images.shape[1:] != (28, 28) or len(images) != len(targets):
        raise UserError(
            f"{source} holds images of shape {images.shape} and {len(targets)} labels; "
            "expected (N, 28, 28) images with one label each. Copy the dataset files again."
        )
    images = np.asarray(images, np.uint8)
    result = (images, targets.astype(np.int64)) if labels else images
    return result, source


def _not_found(name, folders, download_error=None):
    places = "; ".join(folders)
    how = (
        "sudo apt-get install dataset-fashion-mnist (Debian/Ubuntu), or "
        if name == "fashion_mnist"
        else ""
    )
    tail = f" Keras's download failed too: {download_error}." if download_error else ""
    if name == "mnist":
        # Fashion-MNIST has a Debian package and the same 28x28 shape: the quickest way on.
        tail += (
            " Or train on Fashion-MNIST instead, which installs offline: --dataset fashion_mnist "
            "(after sudo apt-get install dataset-fashion-mnist)."
        )
    return UserError(
        f"Could not find the {name} dataset. Looked in: {places}. Each place may hold the "
        "four IDX files (train-images-idx3-ubyte.gz and friends), directly or in a "
        f"sub-folder named {' or '.join(SUBFOLDERS[name])}"
        + (", or Keras's mnist.npz" if name == "mnist" else "")
        + f". To get it: {how}run once with internet access so that Keras downloads it "
        "into ~/.keras/datasets/, or pass --data-dir to a folder that holds the files." + tail
    )


def check_batch_size(image_count, images_per_step):
    """One train step's images must fit in the data, or an epoch would have no full batch."""
    if images_per_step > image_count:
        raise UserError(
            f"One train step takes {images_per_step} images, more than the {image_count} "
            "training images; choose a smaller --batch-size."
        )


def worker_share(images, batch_size):
    """This machine's images and batch: all of them on one machine; on several (TF_CONFIG),
    every Nth image and 1/N of the batch (common/devices.py). A batch larger than the images
    is refused with a message."""
    check_batch_size(len(images), batch_size)
    from common import devices

    return devices.worker_share(images, batch_size)


def untuned():
    """tf.data.Options with tf.data's tuning off (see `prefetched`)."""
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    return options


def prefetched(dataset):
    """`dataset` with one batch made ready while a step runs, and tf.data's tuning off: its
    thread sleeps up to a minute between rounds, and the end of an epoch (its iterator's end)
    waited for that thread to wake, 20 s or more some epochs (docs/performance.md, sixth
    session)."""
    return dataset.prefetch(1).with_options(untuned())


# ----- a folder of your own pictures ------------------------------------------------------
def needs_labels_message():
    return (
        "The scores need a labelled dataset, and this run trained on a folder of pictures, "
        "which has no labels. FCD, KID and class coverage compare samples with a dataset's test "
        "split in the feature space of a classifier trained on its labels (common/metrics.py); "
        "for your own pictures there is neither a classifier nor a test split. A folder run "
        "is scored without labels instead: `evaluate` and --eval-every give its sliced "
        "Wasserstein distance to the folder (common/folder_scores.py)."
    )


def find_pictures(folder):
    """Every PNG, JPEG, BMP or GIF file under folder, sub-folders included, in a stable order."""
    found = []
    for parent, subfolders, names in os.walk(folder):
        subfolders[:] = sorted(
            name for name in subfolders if not name.startswith(".")
        )  # not .git, .thumbnails
        found += [
            os.path.join(parent, name)
            for name in sorted(names)
            if name.lower().endswith(IMAGE_EXTENSIONS) and not name.startswith(".")
        ]
    return found


class TooLarge(Exception):
    pass


def read_picture(path, size=IMAGE_SIZE, colour=False):
    """One picture file -> the centre square, resized: uint8 (size, size) grey, or with
    colour=True (size, size, 3) RGB."""
    from PIL import Image, ImageOps

    with warnings.catch_warnings():
        warnings.simplefilter(
            "ignore"
        )  # Pillow warns of very large images; we skip those ourselves
        try:
            picture = Image.open(path)  # reads the header only
        except Image.DecompressionBombError as error:  # Pillow refuses beyond ~179 million pixels
            raise TooLarge(str(error).split(" pixels")[0].split("(")[-1] + " pixels") from None
        with picture:
            picture.draft(
                "RGB", (size * 4, size * 4)
            )  # a large JPEG decodes at 1/2 to 1/8 size, cheaply
            if picture.width * picture.height > MAX_PIXELS:
                raise TooLarge(f"{picture.width}x{picture.height}")
            picture = ImageOps.exif_transpose(picture)  # a phone photo upright, as it is shown
            if picture.mode in ("RGBA", "LA", "PA") or "transparency" in picture.info:
                # Transparent parts onto black, the background of the built-in datasets.
                picture = Image.alpha_composite(
                    Image.new("RGBA", picture.size, "black"), picture.convert("RGBA")
                )
            picture = picture.convert("RGB" if colour else "L")  # decodes; GIF: its first frame
    side = min(picture.size)
    left, top = (picture.width - side) // 2, (picture.height - side) // 2
    square = picture.crop((left, top, left + side, top + side))  # the centre square
    return np.asarray(square.resize((size, size), Image.Resampling.LANCZOS), np.uint8)


def load_folder(folder, size=IMAGE_SIZE, colour=False, cache_dir=None):
    """All pictures under folder as uint8 (N, size, size), or (N, size, size, 3) with colour,
    and a description for the banner.

    Files that do not read as pictures (truncated, not really images) and pictures too large
    to decode are skipped and counted; other files in the folder are ignored. With cache_dir,
    the decoded pictures are kept there (pictures_64px_rgb.npy and .json) and read back on
    the next run, unless a picture was added, removed or changed since: decoding thousands
    of JPEGs takes minutes, reading the cache a second.
    """
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
            f"No pictures in {folder}: looked for .png, .jpg, .jpeg, .bmp and .gif files in it and "
            "in its sub-folders and found none. Put your pictures there, or point --data-dir "
            "at the folder that holds them."
        )
    cache = FolderCache(cache_dir, folder, paths, size, colour) if cache_dir else None
    cached = cache.read() if cache else None
    if cached is not None:
        pictures, skipped = cached
        print(
            f"Read {len(pictures):,} decoded pictures from the cache {cache.array_path} "
            f"(the folder is unchanged since it was written)."
        )
    else:
        pictures, skipped = _decode_all(folder, paths, size, colour)
        if cache:
            cache.write(pictures, skipped)
    source = folder + (f" ({', '.join(skipped)})" if skipped else "")
    return pictures, source


def _decode_all(folder, paths, size, colour):
    """Decode every picture into one uint8 array, made once at full length (no list of copies:
    50,000 colour pictures at 64 px are 0.6 GB, and a list stacked at the end would be twice that).
    """
    pictures = np.empty((len(paths), size, size) + ((3,) if colour else ()), np.uint8)
    count, unreadable, too_large = 0, [], []
    for path in paths:
        try:
            pictures[count] = read_picture(path, size, colour)
            count += 1
        except TooLarge as error:
            too_large.append(f"{os.path.relpath(path, folder)} ({error})")
        except (
            Exception
        ) as error:  # Pillow raises OSError, ValueError, SyntaxError, ... for broken files
            unreadable.append(f"{os.path.relpath(path, folder)} ({type(error).__name__})")
    skipped = []
    for names, count_text, why in [
        (
            unreadable,
            f"{len(unreadable):,} unreadable file{'s' if len(unreadable) > 1 else ''}",
            "not readable as pictures",
        ),
        (too_large, f"{len(too_large):,} too large to decode", f"more than {MAX_PIXELS:,} pixels"),
    ]:
        if names:
            skipped.append(f"{count_text} skipped")
            print(
                f"Skipped, {why}: {', '.join(names[:5])}"
                + (f" and {len(names) - 5} more" if len(names) > 5 else "")
            )
    if count == 0:
        raise UserError(
            f"None of the {len(paths)} picture files in {folder} could be read "
            f"({'; '.join(skipped)}). Check that they are whole PNG, JPEG, BMP or GIF files."
        )
    return pictures[:count], skipped


class FolderCache:
    """The decoded pictures of one folder at one size, kept as a .npy file beside a .json that
    says which files they came from. The cache is used only while every picture file has the
    same name, size and modification time as when it was written; anything else rebuilds it."""

    VERSION = 1  # raise when read_picture changes what it makes of a file

    def __init__(self, cache_dir, folder, paths, size, colour):
        stem = os.path.join(cache_dir, f"pictures_{size}px_{'rgb' if colour else 'grey'}")
        self.array_path, self.info_path = stem + ".npy", stem + ".json"
        self.shape = (size, size) + ((3,) if colour else ())
        listing = hashlib.sha256()
        for path in paths:
            status = os.stat(path)
            listing.update(
                f"{os.path.relpath(path, folder)}\0{status.st_size}\0"
                f"{status.st_mtime_ns}\n".encode()
            )
        self.key = dict(
            version=self.VERSION,
            folder=os.path.abspath(folder),
            files=len(paths),
            shape=list(self.shape),
            listing=listing.hexdigest(),
        )

    def read(self):
        """(pictures, skipped) from the cache, or None when it is missing, stale or damaged."""
        try:
            with open(self.info_path) as file:
                info = json.load(file)
            if info.get("key") != self.key:
                print(
                    f"The pictures in the folder changed since the cache {self.array_path} was "
                    "written: "
                    "decoding them again."
                )
                return None
            pictures = np.load(self.array_path)
            if pictures.dtype != np.uint8 or pictures.shape != (info["count"],) + self.shape:
                raise ValueError(f"holds {pictures.dtype} {pictures.shape}")
            return pictures, info["skipped"]
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as error:  # a cache cut short or edited
            print(
                f"The picture cache {self.array_path} is damaged ({error}); decoding the pictures "
                "again."
            )
            return None

    def write(self, pictures, skipped):
        os.makedirs(os.path.dirname(self.array_path) or ".", exist_ok=True)
        with replacing(self.array_path) as temporary:
            np.save(temporary, pictures)
        # The .json last: a kill in between leaves a .json that does not match, never a wrong cache.
        write_text(
            self.info_path,
            json.dumps(dict(key=self.key, count=len(pictures), skipped=skipped), indent=2),
        )
