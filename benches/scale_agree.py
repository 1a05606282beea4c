#!/usr/bin/env python3
# Whether a local cluster has settled, for benches/scale.sh (not a test): asks every
# node (127.0.0.1:PORT) CLUSTER INFO and CLUSTER NODES and checks that each says
# cluster_state:ok, knows every node, flags none as failing or in handshake, and that
# all views agree on every node's role, primary and slots. Prints "agree" or what
# differs; exit 0 when they agree. --wait S: ask again every 0.2 s for up to S seconds.
# Usage: scale_agree.py [--wait S] PORT...
import socket
import sys
import time


def ask(port, *words):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        command = b"*%d\r\n" % len(words) + b"".join(b"$%d\r\n%s\r\n" % (len(w), w.encode()) for w in words)
        sock.sendall(command)
        data = b""
        while b"\r\n" not in data:
            data += sock.recv(65536)
        header, _, rest = data.partition(b"\r\n")
        if not header.startswith(b"$"):
            raise OSError("unexpected reply " + header.decode(errors="replace"))
        size = int(header[1:])
        while len(rest) < size + 2:
            chunk = sock.recv(1 << 20)
            if not chunk:
                raise OSError("connection closed")
            rest += chunk
        return rest[:size].decode()


def view(port):
    entries = {}
    for line in ask(port, "CLUSTER", "NODES").splitlines():
        fields = line.split()
        if len(fields) < 8:
            continue
        flags = fields[2].split(",")
        if any(f in flags for f in ("fail", "fail?", "handshake", "noaddr")):
            return None, "node %s flags %s as %s" % (port, fields[1], fields[2])
        role = "replica" if "slave" in flags else "primary"
        slots = tuple(sorted(s for s in fields[8:] if not s.startswith("[")))
        entries[fields[0]] = (role, fields[3], slots)
    return entries, None


def check(ports):
    views = []
    for port in ports:
        info = ask(port, "CLUSTER", "INFO")
        if "cluster_state:ok" not in info:
            return "node %d: cluster_state is not ok" % port
        entries, problem = view(port)
        if problem:
            return problem
        if len(entries) != len(ports):
            return "node %d knows %d nodes of %d" % (port, len(entries), len(ports))
        views.append((port, entries))
    first_port, first = views[0]
    for port, entries in views[1:]:
        if entries != first:
            differ = sum(1 for k in first if entries.get(k) != first[k])
            return "node %d and node %d differ on %d nodes" % (first_port, port, differ)
    return None


def main():
    args = sys.argv[1:]
    wait = 0.0
    if args[:1] == ["--wait"]:
        wait, args = float(args[1]), args[2:]
    ports = [int(p) for p in args]
    deadline = time.monotonic() + wait
    while True:
        try:
            problem = check(ports)
        except OSError as e:
            problem = "error: %s" % e
        if problem is None:
            print("agree")
            return 0
        if time.monotonic() >= deadline:
            print(problem)
            return 1
        time.sleep(0.2)


sys.exit(main())
