"""The worker side: jobs that fan events out and deliver them, and the worker process."""
