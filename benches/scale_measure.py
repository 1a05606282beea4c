#!/usr/bin/env python3
# Runs one command and measures it for benches/scale.sh (not a test): wall time, peak
# RSS (the kernel's maxrss of the child, exact), and the peak thread count and open
# descriptor count of the process, sampled from /proc/PID/status and /proc/PID/fd every
# few milliseconds while it runs (short-lived threads between two samples are missed:
# the peaks are lower bounds). Prints one line: "wall_s rss_kb threads fds exit".
# Usage: scale_measure.py [--stdin FILE] [--stdout FILE] [--interval MS] -- CMD ARGS...
import os
import subprocess
import sys
import time


def main():
    args = sys.argv[1:]
    stdin_path, stdout_path, interval = None, os.devnull, 0.003
    while args and args[0] != "--":
        flag, value = args[0], args[1]
        args = args[2:]
        if flag == "--stdin":
            stdin_path = value
        elif flag == "--stdout":
            stdout_path = value
        elif flag == "--interval":
            interval = float(value) / 1000
        else:
            sys.exit("unknown option " + flag)
    command = args[1:]
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
    stdout = open(stdout_path, "wb")
    start = time.perf_counter()
    child = subprocess.Popen(command, stdin=stdin, stdout=stdout, stderr=subprocess.STDOUT)
    threads = fds = 0
    status_path = "/proc/%d/status" % child.pid
    fd_path = "/proc/%d/fd" % child.pid
    rusage = None
    while True:
        pid, code, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            rusage = usage
            break
        try:
            with open(status_path) as status:
                for line in status:
                    if line.startswith("Threads:"):
                        threads = max(threads, int(line.split()[1]))
                        break
            fds = max(fds, len(os.listdir(fd_path)))
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            pass
        time.sleep(interval)
    wall = time.perf_counter() - start
    exit_code = os.waitstatus_to_exitcode(code)
    print("%.4f %d %d %d %d" % (wall, rusage.ru_maxrss, threads, fds, exit_code))


main()
