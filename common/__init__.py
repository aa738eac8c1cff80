"""Plumbing shared by the four GAN scripts: nothing here teaches GANs, and nothing runs an epoch.

- datasets:    reads MNIST and Fashion-MNIST offline, as the files hold them (uint8), and
               folders of your own pictures (grey 28x28, or colour at 64 or 128 px, cached).
- images:      image grids, the loss plot, the training GIF, sample files.
- runs:        the run folder: where each file goes, the per-epoch log, resuming.
- progress:    the start-up banner, the progress bar with running means, the NaN guard.
- checkpoints: saving and restoring a run's state, with the settings that wrote it.
- files:       writing a file so that a kill never leaves half of it.
- cli:         the command line every script shares and its clear error messages.
- precision:   float32 or mixed precision, where the hardware pays.
- devices:     --devices N: tf.distribute.MirroredStrategy over GPUs, or the CPU split in N.
- metrics:     a small classifier of the dataset and the scores built on it.
- board:       TensorBoard summaries of each epoch's log row and grid.
- latent:      walks through the noise space (slerp).
- errors:      the exceptions that reach the user as a message.
"""
