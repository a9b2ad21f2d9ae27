"""Run one command as its own process and measure it: wall, CPU (user+sys) and peak memory.

Peak memory comes from two sources because neither alone is the whole truth:
``wait4`` gives the exact ru_maxrss of the child and of every descendant it waited
for (Linux reports the largest single process, so the dbt subprocess of the Dagster
process is covered), but processes alive at the same time add up; a sampler over
/proc sums the RSS of the whole process tree every 100 ms to catch that.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

_PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


@dataclass
class Measurement:
    name: str
    wall_s: float
    cpu_s: float
    user_s: float
    sys_s: float
    peak_rss_mib: float  # exact, largest single process (wait4 ru_maxrss)
    peak_tree_rss_mib: float  # sampled, the whole tree at once
    returncode: int
    log: str = ""
    stopped_at_memory_cap: bool = False  # killed because the process tree outgrew ``memory_cap_mib``

    def as_dict(self) -> dict:
        return asdict(self)


def _children_map() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: fields start after the last ')'.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def tree_rss_kib(root: int) -> int:
    tree, total, todo = _children_map(), 0, [root]
    while todo:
        pid = todo.pop()
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE_KIB
        except (OSError, IndexError, ValueError):
            pass
        todo.extend(tree.get(pid, []))
    return total


def run_measured(name: str, argv: list[str], env: dict | None = None, cwd: Path | None = None,
                 log_path: Path | None = None, interval: float = 0.1,
                 memory_cap_mib: float | None = None) -> Measurement:
    """``memory_cap_mib``: stop the process tree once it holds more than this much memory.

    For an alternative that may need more memory than the machine has (the pandas way at L/XL):
    the kernel's OOM killer would otherwise pick a process of its own choosing, possibly not this one.
    """
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL
    started = time.perf_counter()
    # Its own process group when capped, so the whole tree can be stopped at once.
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=memory_cap_mib is not None)
    peak = [0]
    capped = [False]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], tree_rss_kib(proc.pid))
            if memory_cap_mib is not None and peak[0] > memory_cap_mib * 1024 and not capped[0]:
                capped[0] = True
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            done.wait(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    # os.wait4 instead of proc.wait: it hands back this child's rusage alone, not every child's so far.
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if log_path:
        log.close()
    return Measurement(
        name=name, wall_s=round(wall, 3), cpu_s=round(usage.ru_utime + usage.ru_stime, 3),
        user_s=round(usage.ru_utime, 3), sys_s=round(usage.ru_stime, 3),
        peak_rss_mib=round(usage.ru_maxrss / 1024, 1),
        peak_tree_rss_mib=round(max(peak[0], usage.ru_maxrss) / 1024, 1),
        returncode=proc.returncode, log=str(log_path or ""), stopped_at_memory_cap=capped[0],
    )
