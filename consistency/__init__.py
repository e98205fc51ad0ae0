"""consistency: label-consistency analytics for data labeled by several people."""

__version__ = "0.1.0"
