"""Values and rules: names, the spec, model versions, datasets, runs, events. No I/O."""
