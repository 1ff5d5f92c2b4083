"""Bytes on disk and over the wire: safe unpacking (``archive``), reproducible packing
(``package``), handles and the cache (``resolver``), TensorFlow filesystem paths (``fspath``),
atomic writes (``atomic``), the output folder (``outdir``) and bounded reads (``inputs``).
No TensorFlow at import time; nothing here knows the module format."""
