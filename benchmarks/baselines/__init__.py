"""Stand-alone baseline scripts: what each framework costs with nothing on top."""
