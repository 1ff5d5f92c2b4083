"""The pipelines: a manifest or a module in, files or a verdict out (build, verify, convert,
scaffold). ``hubpub.diff`` is their sibling. Each module imports TensorFlow only where it must."""
