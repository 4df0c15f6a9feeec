"""[DS] Downsampling leads to image memorization in convolutional autoencoders."""
