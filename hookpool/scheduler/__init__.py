"""The scheduler side: the periodic prune-and-disable pass, and its registration with rq-scheduler."""
