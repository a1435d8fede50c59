"""HTTP routes, one module per resource; each reads like its docstring."""
