"""shared.bulk.gc_paused: no collection while a large data set is built; what survives is promoted
to the collector's oldest generation unwalked — except in a process with frozen objects of its
own. Each case runs in a fresh interpreter: the test process's collector state is not theirs."""

import subprocess
import sys
import textwrap

_BUILD = """
import gc
from shared.bulk import gc_paused
{before}
gc.collect()
with gc_paused():
    assert not gc.isenabled()
    kept = [[n] for n in range(100_000)]  # tracked containers, all alive at the exit
    young = gc.get_count()[0]
generation = next(g for g in range(3) if any(o is kept[-1] for o in gc.get_objects(generation=g)))
print(gc.isenabled(), young >= 100_000, generation, gc.get_count()[0] < 1_000, gc.get_freeze_count() > 0)
"""


def _run(before: str = "") -> list[str]:
    code = textwrap.dedent(_BUILD.format(before=before))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()


def test_the_survivors_are_promoted_to_the_oldest_generation_without_a_collection():
    enabled, counted, generation, young_after, frozen = _run()
    assert enabled == "True" and counted == "True"  # the collector off while building, on again after
    assert generation == "2"  # the built objects skipped the young generations' walks
    assert young_after == "True"  # nothing left for the next young collection to walk
    assert frozen == "False"  # promoted, not frozen: a full collection still frees their cycles


def test_a_process_with_frozen_objects_keeps_them_frozen_and_promotes_nothing():
    enabled, _, generation, _, frozen = _run(before="gc.freeze()")
    assert enabled == "True"
    assert frozen == "True"  # what the process froze (a service's start-up) stays frozen
    assert generation in ("0", "1")  # the built objects take the collector's usual way


def test_the_collector_stays_off_if_it_was_off():
    code = "import gc\nfrom shared.bulk import gc_paused\ngc.disable()\nwith gc_paused():\n    pass\nprint(gc.isenabled())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False"]


def test_nested_holders_re_enable_once_the_last_leaves():
    code = textwrap.dedent("""
        import gc
        from shared.bulk import gc_paused
        with gc_paused():
            with gc_paused():
                pass
            print(gc.isenabled())
        print(gc.isenabled())
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "True"]
