"""Snapshots of TensorFlow's op registry, one JSON file per ``X.Y`` version (data only).

Written by ``tools/snapshot_op_registry.py``; read by ``hubpub.spec.op_registry``."""
