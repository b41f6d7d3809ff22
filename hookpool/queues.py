"""The three RQ queues hookpool uses. Workers take from them in this order.

    hookpool-maintenance   the periodic prune-and-disable pass
    hookpool-events        one fan-out job per published event
    hookpool-deliveries    one job per (event, hook)
"""

from rq import Queue

from . import defaults

MAINTENANCE = "hookpool-maintenance"
EVENTS = "hookpool-events"
DELIVERIES = "hookpool-deliveries"
ALL_QUEUES = (MAINTENANCE, EVENTS, DELIVERIES)


class HookpoolQueue(Queue):
    """An RQ queue whose registry-cleaning lock outlives a killed holder by a minute, not RQ's fifteen.

    Workers find abandoned jobs while holding this lock; a worker killed in the
    middle of that pass would otherwise stop everyone from finding them for 899 s.
    """

    def acquire_maintenance_lock(self):
        return bool(self.connection.set(self.registry_cleaning_key, 1, nx=True,
                                        ex=defaults.MAINTENANCE_LOCK_S))


def queue(redis, name):
    return HookpoolQueue(name, connection=redis)
