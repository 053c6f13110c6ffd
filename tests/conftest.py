"""Suite-wide settings."""

import os

from hypothesis import settings

# In CI (CI=true) property tests explore a fixed sequence of examples and never fail on a slow machine's timing;
# locally they explore new examples on every run, which is how they find bugs.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
