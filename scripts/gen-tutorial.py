#!/usr/bin/env python3
"""Regenerates docs/tutorial.md: the Redis Cluster tutorial's hands-on part, done with
`rcli sandbox`, with transcripts captured from a real session of the current build.

It starts `target/release/rcli sandbox` in a pseudo-terminal (TERM=dumb, so the
transcript has no cursor movements; no colour), types each command, waits for the
prompt, and writes what the terminal showed. Ports differ between runs.
Run from the repository root:  cargo build --release && python3 scripts/gen-tutorial.py
"""
import os, pty, re, select, subprocess, sys, time

SECTIONS = [
    ("Hash slots and redirects",
     "Every key lives in one of 16384 hash slots, and every slot belongs to one primary. "
     "rcli computes the slot itself (CRC16 of the key, mod 16384), looks up the owner in the "
     "slot map it loaded at start, and sends the command straight there. When that is not the "
     "node in the prompt it prints redis-cli's redirect line and the prompt moves, as in "
     "redis-cli, but without the wasted MOVED round trip.",
     ["set foo bar", "set hello world", "get foo", ":slot foo hello"], 0),
    ("Hash tags",
     "Only the part between the first `{` and the next `}` is hashed, when it is not empty. "
     "Keys that share a tag share a slot, so multi-key commands and transactions can use them "
     "together. `:slot` shows the hashed part in brackets and the rule that applied.",
     [":slot user:{1000}.following user:{1000}.followers {}x a{}{b}",
      "set user:{1000}.following 10", "set user:{1000}.followers 20",
      "mget user:{1000}.following user:{1000}.followers"], 0),
    ("A CROSSSLOT and its fix",
     "A command whose keys span slots cannot run in a cluster. rcli splits MGET, MSET, DEL, "
     "UNLINK, EXISTS and TOUCH per slot and merges the replies (saying so); any other such "
     "command is not sent: rcli shows each key's slot and suggests a shared hash tag. "
     "`:explain` shows the plan without running anything. While you type, the hint warns "
     "before Enter.",
     ["mget foo hello nosuchkey", "sadd users:a alice", "sadd users:b bob",
      "sunionstore users:all users:a users:b", ":explain sunionstore users:all users:a users:b",
      "sadd {users}:a alice", "sadd {users}:b bob", "sunionstore {users}:all {users}:a {users}:b",
      ":explain mset a 1 b 2"], 0),
    ("Nodes, the slot map, and choosing targets",
     "`:nodes` lists every node with its role, slots and keys; `:map` draws slot ownership. "
     "Keyless commands go to the node in the prompt, as in redis-cli, unless `:use` picks "
     "other targets: with `:use primaries` DBSIZE runs on every primary and the replies are "
     "summed by the command's response policy.",
     [":nodes", ":map", "dbsize", ":use primaries", "dbsize", ":use current"], 0),
    ("A failover seen from the shell",
     "Here the replica of `foo`'s primary takes over (CLUSTER FAILOVER, sent to that replica "
     "with `:use`). rcli's slot map is now stale: the next command for those slots gets a "
     "MOVED from the old primary; rcli says so, reloads the map and resends. The command "
     "after that goes straight to the new primary.",
     [":use {foo_replica}", "cluster failover", ":use current"], 6),
    ("After the failover",
     "",
     ["get foo", "get foo", ":nodes"], 0),
]

PROMPT = re.compile(rb"(\n|^)(not connected|\S+:\d+(\[\d+\])?(\(TX\))?)> $")


def read_until_prompt(fd, timeout=60):
    out = b""
    deadline = time.time() + timeout
    while time.time() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
            if PROMPT.search(out):
                return out
    raise RuntimeError("no prompt; got: %r" % out[-500:])


def main():
    binary = os.path.join("target", "release", "rcli")
    if not os.path.exists(binary):
        sys.exit("build first: cargo build --release")
    env = dict(os.environ, TERM="dumb", NO_COLOR="1", RCLI_RCFILE="/dev/null", REDISCLI_HISTFILE="/dev/null")
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(binary, [binary, "sandbox", "--primaries", "3", "--replicas", "1"], env)
    banner = read_until_prompt(fd, timeout=120).decode(errors="replace")
    transcripts = []
    last_prompt = banner.splitlines()[-1]
    for title, prose, commands, pause in SECTIONS:
        text = last_prompt
        for command in commands:
            if "{foo_replica}" in command:
                found = re.search(r'"foo" \S+ slot 12182 \S+ \S+ \(primary\), replicas (\S+)', "".join(t[2] for t in transcripts))
                command = command.replace("{foo_replica}", found.group(1) if found else "replicas")
            os.write(fd, command.encode() + b"\r")
            out = read_until_prompt(fd).decode(errors="replace").replace("\r\n", "\n").replace("\r", "")
            text += out
        last_prompt = text.splitlines()[-1]
        transcripts.append((title, prose, "\n".join(text.splitlines()[:-1])))
        time.sleep(pause)
    os.write(fd, b"quit\r")
    try:
        while os.read(fd, 65536):
            pass
    except OSError:
        pass
    os.waitpid(pid, 0)
    startup = "\n".join(l for l in banner.replace("\r", "").splitlines() if l.strip())
    with open(os.path.join("docs", "tutorial.md"), "w") as f:
        f.write("# Redis Cluster, hands on, with rcli\n\n")
        f.write("The hands-on part of the Redis Cluster tutorial, redone with `rcli sandbox`.\n"
                "Every transcript below was captured from a real session of the current build by\n"
                "`scripts/gen-tutorial.py` (ports change from run to run; regenerate after changing\n"
                "rcli). Start your own with `scripts/sandbox`.\n\n")
        f.write("## Starting a sandbox\n\n`rcli sandbox` starts 3 primaries and 3 replicas on free local ports, forms the\n"
                "cluster itself, and opens the shell on it. Leaving the shell stops and removes everything.\n\n")
        f.write("```text\n$ rcli sandbox\n" + startup + "\n```\n\n")
        for title, prose, text in transcripts:
            f.write("## " + title + "\n\n")
            if prose:
                f.write(prose + "\n\n")
            f.write("```text\n" + text.strip("\n") + "\n```\n\n")
    print("wrote docs/tutorial.md")


if __name__ == "__main__":
    main()
