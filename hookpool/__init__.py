"""hookpool: webhook delivery for multi-tenant platforms, on Redis and RQ workers."""

__version__ = "0.1.0"
