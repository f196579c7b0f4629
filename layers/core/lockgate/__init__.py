"""Lockgate's domain core, shipped to Lambda as the core layer.

Importing this package imports nothing heavy: serving code must stay free of pandas and
scikit-learn, so each heavy dependency is imported only by the module that needs it.
"""

from __future__ import annotations

__version__ = "0.1.0"
