"""What both pipelines share: the dataset contract, the split, the raw-data reader."""
