"""``python -m hubpub``."""

from hubpub.cli import console_main

console_main()
