"""The package's version: the one place it is written. pyproject.toml reads it (`[tool.setuptools.dynamic]`),
`pulumi_pcimage.__version__` and the Pulumi package schema (`package/schema.py`, hence `schema.json` and the
generated SDKs) repeat it."""

__version__ = "0.1.0"
