"""One module per CLI command. Each has ``register(subparsers)``; none imports TF at import time."""
