"""``fleetsync daemon``: the scheduler and leader election."""
