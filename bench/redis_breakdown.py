#!/usr/bin/python3
"""Where Redis's CPU goes, per action, for scripts/bench.

  redis_breakdown.py snapshot FILE PORT...   writes INFO cpu and INFO commandstats of each master
  redis_breakdown.py report A B N            prints "<figure> <value>" for the window A..B and N
                                             actions, summed over the masters

Figures: the main thread's user and system CPU (system is the socket reads and writes and the
AOF's write and fdatasync, done on the main thread with appendfsync always), EVALSHA calls and
commands run per action (those inside scripts included: Redis counts both), the commands' own
time, and the scripts' time around their commands (Lua, argument and reply conversion) - so the
note can say which part of Redis's time a change could still take away. Redis's stats do not say
which commands ran inside a script: the few a client sends by itself (the reconciler's bucket
reads, a ledger append) count as commands too, so the time around them is a slight undercount.
"""
import subprocess
import sys

# Commands that are the scripts themselves or the bench's own probes, not the work they do.
SCRIPT_CMDS = {"evalsha", "eval", "evalsha_ro", "eval_ro"}
PROBE_CMDS = {"info", "ping", "config|set", "config|get", "script|load", "bgrewriteaof",
              "dbsize", "zcard", "client|setname", "hello"}


def info(port, section):
    out = subprocess.run(["redis-cli", "-p", str(port), "INFO", section], capture_output=True,
                         text=True, check=True).stdout
    return [line.strip() for line in out.splitlines() if line.strip() and ":" in line]


def snapshot(path, ports):
    with open(path, "w") as f:
        for port in ports:
            # On a cluster the replicas run every write again: counting them would double the
            # commands per action. The breakdown is the masters' (the CPU rows count everyone).
            if "role:slave" in info(port, "replication"):
                continue
            for line in info(port, "cpu") + info(port, "commandstats"):
                f.write(f"{port} {line}\n")


def load(path):
    """{(port, name): value}: cpu figures as seconds, commandstats as (calls, usec)."""
    vals = {}
    with open(path) as f:
        for line in f:
            port, kv = line.rstrip("\n").split(" ", 1)
            name, value = kv.split(":", 1)
            if name.startswith("cmdstat_"):
                fields = dict(p.split("=", 1) for p in value.split(","))
                vals[(port, name[len("cmdstat_"):])] = (int(fields["calls"]), int(fields["usec"]))
            else:
                try:
                    vals[(port, name)] = float(value)
                except ValueError:
                    pass
    return vals


def report(path_a, path_b, actions):
    a, b = load(path_a), load(path_b)
    n = max(actions, 1)
    cpu = {"used_cpu_user_main_thread": 0.0, "used_cpu_sys_main_thread": 0.0}
    scripts_calls = scripts_usec = cmd_calls = cmd_usec = 0
    for key, vb in b.items():
        port, name = key
        va = a.get(key)
        if name in cpu:
            cpu[name] += vb - (va or 0.0)
            continue
        if not isinstance(vb, tuple):
            continue
        calls = vb[0] - (va[0] if va else 0)
        usec = vb[1] - (va[1] if va else 0)
        if name in SCRIPT_CMDS:
            scripts_calls += calls
            scripts_usec += usec
        elif name not in PROBE_CMDS:
            cmd_calls += calls
            cmd_usec += usec
    print(f"redis_user_us {cpu['used_cpu_user_main_thread'] * 1e6 / n:.1f}")
    print(f"redis_sys_us {cpu['used_cpu_sys_main_thread'] * 1e6 / n:.1f}")
    print(f"redis_evalsha_per_action {scripts_calls / n:.2f}")
    print(f"redis_commands_per_action {cmd_calls / n:.1f}")
    print(f"redis_commands_us {cmd_usec / n:.1f}")
    # A script's time includes its commands'; what is left is the script around them.
    print(f"redis_scripts_around_us {max(0, scripts_usec - cmd_usec) / n:.1f}")


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "snapshot":
        snapshot(sys.argv[2], sys.argv[3:])
    elif len(sys.argv) == 5 and sys.argv[1] == "report":
        report(sys.argv[2], sys.argv[3], int(float(sys.argv[4])))
    else:
        sys.exit(__doc__)
