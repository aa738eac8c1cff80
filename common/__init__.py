"""Plumbing shared by the three GAN scripts: nothing here teaches GANs.

- datasets:    reads MNIST and Fashion-MNIST offline and feeds batches.
- images:      image grids, the loss plot and the training GIF.
- checkpoints: saving, resuming and exporting a training run.
- cli:         the command line every script shares and its clear error messages.
- metrics:     a small classifier of the dataset and the scores built on it.
"""
