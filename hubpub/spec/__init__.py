"""Module specs: authoring (module_fn -> SavedModel proto), reading from disk, exporting."""
