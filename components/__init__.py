"""Pipeline steps. `shared` is the dataset contract both stacks read; `tfx` and
`lightning` hold each stack's own steps and never import each other."""
