"""TFX-specific pieces of the TFX pipeline: schema, example gen, gate, transform, reports."""
