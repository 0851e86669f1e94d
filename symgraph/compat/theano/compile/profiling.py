"""``theano.compile.profiling``: :class:`ProfileStats` (symgraph's profile of a compiled
function, which Theano's name and constructor arguments also make)."""
from symgraph.compile.profile import ProfileStats as _ProfileStats


class ProfileStats(_ProfileStats):
    """``ProfileStats(atexit_print=True, flag_time_thunks=None, ...)``: pass it as
    ``function(..., profile=stats)`` to collect that function's times."""

    def __init__(self, atexit_print=True, flag_time_thunks=None, gpu_checks=True,
                 message=None, **kwargs):
        super().__init__(name=message)


ScanProfileStats = ProfileStats
