"""presales-allocator: which presales people work on which opportunities, for how many hours, at what cost."""

__version__ = "0.1.0"
