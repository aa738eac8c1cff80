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


LESSONS = (
    "mlp_gan_keras.py", "dcgan_fashion.py", "wgan_gp.py", "dcgan_color.py", "cgan_fashion.py")


def parsed(path):
    import ast

    with open(os.path.join(ROOT, path), encoding="utf-8") as file:
        text = file.read()
    return text, ast.parse(text)


def test_each_lessons_train_shows_the_articles_program_with_tensorflows_own_objects():
    """The TensorFlow tutorial's skeleton in sight: the tf.data pipeline, the checkpoint and its
    manager, the restore, each epoch's grid and save, the GIF and the generator, in train()'s
    own lines; at most 40 of them and 10 names from common/; no object of ours around the run."""
    import ast

    for lesson in LESSONS:
        text, tree = parsed(lesson)
        for name in ("tf.data.Dataset", "tf.train.Checkpoint(", "tf.train.CheckpointManager("):
            assert name in text, f"{lesson} does not name {name}"
        common = {alias.asname or alias.name for node in tree.body
                  if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("common")
                  for alias in node.names}
        train = next(node for node in tree.body
                     if isinstance(node, ast.FunctionDef) and node.name == "train")
        used = {f"{node.value.id}.{node.attr}" for node in ast.walk(train)
                if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in common}
        body = ast.get_source_segment(text, train)
        assert train.end_lineno - train.lineno + 1 <= 40, f"{lesson}: train() is too long"
        assert len(used) <= 10, f"{lesson}: train() uses {sorted(used)}"
        for line in ("tf.train.Checkpoint(", "tf.train.CheckpointManager(", "training.resume(",
                     "manager.save(", "images.write_gif(", "precision.save_float32("):
            assert line in body, f"{lesson}: train() does not call {line}"
        # The grid: images.save_grid in train(), or a function of the lesson's own that calls it
        # (the tutorial's generate_and_save_images; dcgan_color.py's save_epoch_grid).
        grid_writers = ["images.save_grid("] + [
            f"{node.name}(" for node in tree.body if isinstance(node, ast.FunctionDef)
            and "images.save_grid(" in ast.get_source_segment(text, node)]
        assert any(writer in body for writer in grid_writers), f"{lesson}: no grid in train()"
        ours = [name for name in used if name.split(".")[1][0].isupper()]
        assert ours == ["progress.RunningMeans"], f"{lesson}: objects of ours in train(): {ours}"


def test_common_has_no_import_circle():
    """Each module of common/ can be read, and changed, after the ones it imports."""
    import ast

    graph = {}
    for name in sorted(os.listdir(os.path.join(ROOT, "common"))):
        if name.endswith(".py"):
            _, tree = parsed(os.path.join("common", name))
            graph[name[:-3]] = {
                target for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                for target in ([alias.name for alias in node.names] if node.module == "common"
                               else [node.module.split(".")[1]]
                               if (node.module or "").startswith("common.") else [])
            }

    def visit(module, path):
        assert module not in path, "an import circle: " + " -> ".join(path + [module])
        for imported in graph.get(module, ()):
            visit(imported, path + [module])

    for module in graph:
        visit(module, [])
