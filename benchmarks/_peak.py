"""Run `-m module args...` or `-c code args...` and, at exit, write this process's own peak RSS.

Linux carries a process's peak RSS across fork and exec, so the ru_maxrss that wait4 reports for a
child is at least what its parent held when it started it; VmHWM in /proc/self/status is per
address space and starts again at exec. The benchmarks run every measured Python command through
this wrapper; the number (bytes) goes to the file named by IISGUARD_BENCH_PEAK.
"""

import atexit
import os
import runpy
import sys


def _write_peak() -> None:
    with open("/proc/self/status") as status:
        kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    with open(os.environ["IISGUARD_BENCH_PEAK"], "w") as out:
        out.write(str(kb * 1024))


atexit.register(_write_peak)
flag, target, *rest = sys.argv[1:]
if flag == "-m":
    sys.argv = [target, *rest]
    runpy.run_module(target, run_name="__main__", alter_sys=True)
else:
    sys.argv = ["-c", *rest]
    exec(compile(target, "<string>", "exec"), {"__name__": "__main__"})
