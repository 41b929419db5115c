"""``fleetsync daemon``: the scheduler and leader election, next to the API."""

from fleetsync.daemon.leader import DaemonAlreadyRunning, Leadership
from fleetsync.daemon.runner import JOB_TABLE, Daemon, run_daemon

__all__ = ["JOB_TABLE", "Daemon", "DaemonAlreadyRunning", "Leadership", "run_daemon"]
