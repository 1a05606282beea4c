#!/usr/bin/env python3
"""Regenerates src/builtin/command_{info,docs}.resp from a real redis-server.

rcli learns key positions, flags and tips from COMMAND (COMMAND INFO) and argument
syntax and summaries from COMMAND DOCS. When the connected server cannot answer, rcli
falls back to these files: the raw RESP2 replies of a stock Redis 7.0, parsed by the same
code as a live reply. Run from the repository root:  python3 scripts/gen-builtin-commands.py
"""
import os, socket, subprocess, tempfile, time

def read_reply(sock):
    """Reads exactly one RESP2 reply and returns its raw bytes."""
    buf = b""
    def need(n):
        nonlocal buf
        while len(buf) < n:
            chunk = sock.recv(1 << 16)
            if not chunk:
                raise RuntimeError("server closed the connection")
            buf += chunk
    def parse(pos):
        while b"\r\n" not in buf[pos:]:
            need(len(buf) + 1)
        end = buf.index(b"\r\n", pos)
        kind, line = buf[pos:pos + 1], buf[pos + 1:end]
        pos = end + 2
        if kind in b"+-:":
            return pos
        if kind == b"$":
            n = int(line)
            if n < 0:
                return pos
            need(pos + n + 2)
            return pos + n + 2
        if kind == b"*":
            for _ in range(max(int(line), 0)):
                pos = parse(pos)
            return pos
        raise RuntimeError("unexpected type %r" % kind)
    end = parse(0)
    return buf[:end]

def main():
    port = 28999
    with tempfile.TemporaryDirectory() as tmp:
        server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                                   "--save", "", "--dir", tmp], stdout=subprocess.DEVNULL)
        try:
            for _ in range(100):
                try:
                    sock = socket.create_connection(("127.0.0.1", port))
                    break
                except OSError:
                    time.sleep(0.05)
            else:
                raise RuntimeError("redis-server did not start")
            for name, cmd in [("command_info", b"*1\r\n$7\r\nCOMMAND\r\n"),
                              ("command_docs", b"*2\r\n$7\r\nCOMMAND\r\n$4\r\nDOCS\r\n")]:
                sock.sendall(cmd)
                data = read_reply(sock)
                with open(os.path.join("src", "builtin", name + ".resp"), "wb") as f:
                    f.write(data)
                print("%s: %d bytes" % (name, len(data)))
            sock.sendall(b"*2\r\n$4\r\nINFO\r\n$6\r\nSERVER\r\n")
            info = read_reply(sock).decode()
            version = [l for l in info.split("\r\n") if l.startswith("redis_version:")][0].split(":")[1]
            with open(os.path.join("src", "builtin", "VERSION"), "w") as f:
                f.write(version + "\n")
            print("redis_version", version)
        finally:
            server.kill()
            server.wait()

if __name__ == "__main__":
    main()
