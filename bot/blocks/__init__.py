"""Pure Block Kit builders: data in, `Message` out; no I/O."""
