"""[INV] Towards understanding the invertibility of convolutional neural networks."""
