#!/usr/bin/python3
"""Whole-machine CPU accounting for scripts/bench.

  machine_cpu.py snapshot FILE        writes /proc/stat and every task's CPU time to FILE
  machine_cpu.py report A B N ROLES   prints "<group> <us per action>" for the window A..B and N
                                      actions; ROLES is "name=pid,pid name=pid ..."

Every task alive at either snapshot is counted (threads are folded into their process; a
process's descendants, e.g. RabbitMQ's erl_child_setup, join their root's role). Kernel threads
are grouped by their name's stem (kworker/1:1H-kblockd -> kworker-H, the block-completion
workers fsync wakes). Irq and softirq time from /proc/stat (loopback TCP, block completions)
is printed for information (this kernel charges it to the task it interrupted, so it is inside
the rows already), and `unattributed` is the machine's busy time minus every row: tasks that
started and ended inside the window unreaped, and accounting skew.
"""
import os
import re
import sys
import time

HZ = os.sysconf("SC_CLK_TCK")


def read_stat(path):
    with open(path, "rb") as f:
        raw = f.read().decode(errors="replace")
    # comm may hold spaces and parentheses: it ends at the last ')'.
    lp, rp = raw.index("("), raw.rindex(")")
    comm = raw[lp + 1:rp]
    rest = raw[rp + 2:].split()
    # rest[0] is field 3 (state); ppid is field 4, utime/stime 14/15, and 16/17 the reaped
    # children's (the short-lived redis-cli and awk a script runs show up in their parent).
    return comm, int(rest[1]), sum(int(x) for x in rest[11:15])


def snapshot(out):
    lines = []
    with open("/proc/stat") as f:
        # The wall clock rides along: busy time is elapsed x CPUs minus idle (see report).
        lines.append(f.readline().strip() + f" {time.monotonic():.6f}")
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            comm, ppid, ticks = read_stat(f"/proc/{pid}/stat")
            # Kernel threads have an empty cmdline; user processes never do.
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                kernel = 1 if not f.read(1) else 0
        except (OSError, ValueError, IndexError):
            continue  # ended while we looked
        lines.append(f"{pid}\t{ppid}\t{ticks}\t{kernel}\t{comm}")
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")


def load(path):
    with open(path) as f:
        head = f.readline().split()
        clock = float(head.pop())
        tasks = {}
        for line in f:
            pid, ppid, ticks, kernel, comm = line.rstrip("\n").split("\t", 4)
            tasks[int(pid)] = (int(ppid), int(ticks), kernel == "1", comm)
    return [int(x) for x in head[1:]], clock, tasks


def stem(comm):
    if comm.startswith("kworker"):
        return "kworker-H" if re.match(r"kworker/\d+:\d+H", comm) else "kworker"
    return re.sub(r"[/:]?\d+.*$", "", comm) or comm


def report(a_path, b_path, actions, roles_arg):
    cpu_a, clock_a, tasks_a = load(a_path)
    cpu_b, clock_b, tasks_b = load(b_path)
    roles = {}
    for spec in roles_arg:
        name, _, pids = spec.partition("=")
        for p in pids.split(","):
            if p.strip():
                roles[int(p)] = name
    tasks = dict(tasks_a)
    tasks.update(tasks_b)

    def role_of(pid):
        seen = set()
        while pid in tasks and pid not in seen:
            if pid in roles:
                return roles[pid]
            seen.add(pid)
            pid = tasks[pid][0]
        return None

    rows = {}
    for pid, (ppid, ticks_b, kernel, comm) in tasks.items():
        ticks_a = tasks_a.get(pid, (0, 0))[1] if pid in tasks_a else 0
        delta = ticks_b - ticks_a if pid in tasks_b else 0
        if delta <= 0:
            continue
        role = role_of(pid)
        if role is None:
            role = ("kernel:" if kernel else "other:") + stem(comm)
        rows[role] = rows.get(role, 0) + delta
    # /proc/stat: user nice system idle iowait irq softirq steal. Busy is the elapsed time on
    # every CPU minus idle, iowait and steal (the hypervisor's): the user/system columns are
    # sampled at ticks, idle is measured exactly on a tickless kernel, so their sum is not the
    # elapsed time and would undercount short bursts of work.
    d = [b - a for a, b in zip(cpu_a, cpu_b)]
    elapsed = (clock_b - clock_a) * HZ * os.cpu_count()
    busy = max(0, round(elapsed - d[3] - d[4] - d[7]))
    attributed = sum(rows.values())
    rows["unattributed"] = busy - attributed
    n = max(actions, 1)
    per = lambda ticks: ticks * 1e6 / HZ / n
    for name, ticks in sorted(rows.items(), key=lambda kv: -kv[1]):
        if name == "unattributed" or per(ticks) >= 0.5:
            print(f"{name} {per(ticks):.1f}")
    print(f"machine_busy {per(busy):.1f}")
    # Not a row of its own: without CONFIG_IRQ_TIME_ACCOUNTING (this kernel) the kernel charges
    # irq and softirq work (loopback TCP, block completions) to the task it interrupted, so it is
    # inside the rows above already; /proc/stat samples it separately as well.
    print(f"softirq_within_rows {per(d[5] + d[6]):.1f}")
    print(f"unattributed_pct {100.0 * rows['unattributed'] / busy if busy else 0:.1f}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "snapshot":
        snapshot(sys.argv[2])
    elif len(sys.argv) >= 5 and sys.argv[1] == "report":
        report(sys.argv[2], sys.argv[3], int(float(sys.argv[4])), sys.argv[5:])
    else:
        sys.exit(__doc__)
