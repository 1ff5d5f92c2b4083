"""Running code hubpub did not write: publisher code under time limits (``publisher``), the
confined child (``sandbox``), the smoke test and its TF2 half (``smoke``, ``smoke_tf2``), and
how hubpub's processes end (``process_exit``). Nothing here is imported by ``hubpub --help``."""
