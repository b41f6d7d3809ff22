"""The three RQ queues hookpool uses. Workers take from them in this order.

    hookpool-maintenance   the periodic prune-and-disable pass
    hookpool-events        one fan-out job per published event
    hookpool-deliveries    one job per (event, hook)
"""

from rq import Queue

MAINTENANCE = "hookpool-maintenance"
EVENTS = "hookpool-events"
DELIVERIES = "hookpool-deliveries"
ALL_QUEUES = (MAINTENANCE, EVENTS, DELIVERIES)


def queue(redis, name):
    return Queue(name, connection=redis)
