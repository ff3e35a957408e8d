"""nas: search, train and check tiny bias-free, FC-free CNNs for MNIST under hard rules."""

__version__ = "0.1.0"
