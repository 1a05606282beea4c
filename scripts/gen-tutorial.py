#!/usr/bin/env python3
"""Regenerates docs/tutorial.md: the Redis Cluster tutorial's hands-on part, done with
`rcli sandbox`, with transcripts captured from a real session of the current build.

It starts `target/release/rcli sandbox` in a pseudo-terminal (TERM=dumb, so the
transcript has no cursor movements; no colour), types each command, waits for the
prompt, and writes what the terminal showed. Ports differ between runs.
The second half (creating, resharding, growing and shrinking a cluster with
`rcli --cluster`) starts `rcli sandbox --bare 9` and runs each command as its own
process, the interactive reshard in a pseudo-terminal; very long runs of identical
lines (one per slot) are shortened in the transcript.
Run from the repository root:  cargo build --release && python3 scripts/gen-tutorial.py
"""
import os, pty, re, select, shutil, subprocess, sys, tempfile, threading, time

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
    second = second_half(binary, env)
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
                "cluster itself, and opens the shell on it. Leaving the shell stops and removes everything.\n"
                "`rcli sandbox --lesson hash-tags` (or `--lesson failover`) adds a guided lesson that checks\n"
                "your own commands against the cluster; `:lesson` in the shell lists them.\n\n")
        f.write("```text\n$ rcli sandbox\n" + startup + "\n```\n\n")
        for title, prose, text in transcripts:
            f.write("## " + title + "\n\n")
            if prose:
                f.write(prose + "\n\n")
            f.write("```text\n" + text.strip("\n") + "\n```\n\n")
        f.write("# Part two: creating, resharding, growing and shrinking a cluster\n\n")
        f.write("The rest of the tutorial manages the cluster with `rcli --cluster`, which takes\n"
                "redis-cli's `--cluster` syntax and prints its lines (docs/cluster-manager.md).\n"
                "Runs of one line per slot are shortened to a few lines here.\n\n")
        for title, prose, text in second:
            f.write("## " + title + "\n\n")
            if prose:
                f.write(prose + "\n\n")
            f.write("```text\n" + text.strip("\n") + "\n```\n\n")
    print("wrote docs/tutorial.md")


MOVING = re.compile(r"^ *(Moving slot \d+ from|Migrating )")


def shorten(text, keep=3):
    """Collapses runs of per-slot lines (Moving slot …) to their first and last lines."""
    out, run = [], []
    def flush():
        if len(run) > 2 * keep + 1:
            out.extend(run[:keep])
            out.append("[… %d more lines like these …]" % (len(run) - 2 * keep))
            out.extend(run[-keep:])
        else:
            out.extend(run)
        run.clear()
    for line in text.splitlines():
        if MOVING.match(line):
            run.append(line)
        elif re.fullmatch(r"#{61,}", line):
            flush()
            out.append("#" * 60 + " [… %d # in all]" % len(line))
        else:
            flush()
            out.append(line)
    flush()
    return "\n".join(out)


def second_half(binary, env):
    """Creates, reshards, grows and shrinks a cluster from bare nodes; returns sections."""
    state = tempfile.mkdtemp(prefix="rcli-tutorial-")
    env = dict(env, XDG_STATE_HOME=state, XDG_DATA_HOME=state, XDG_CACHE_HOME=state)
    bare = subprocess.Popen([binary, "sandbox", "--bare", "9"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
    banner = [bare.stdout.readline() for _ in range(5)]
    addrs = banner[1].split()
    ports = [a.split(":")[1] for a in addrs]
    sections = []

    def run(argv, stdin=None):
        out = subprocess.run([binary] + argv, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, env=env, timeout=300)
        shown = "rcli " + " ".join(argv)
        return "$ " + shown + "\n" + shorten(out.stdout).rstrip("\n") + "\n"

    def node_id(i):
        out = subprocess.run([binary, "-p", ports[i], "cluster", "myid"], capture_output=True, text=True, env=env)
        return out.stdout.strip()

    def settle(seconds=1.5):
        time.sleep(seconds)

    banner_text = "$ rcli sandbox --bare 9\n" + "".join(banner).replace(os.path.expanduser("~"), "~")
    sections.append(("Nine empty nodes",
        "`rcli sandbox --bare 9` starts nine cluster-enabled servers that know nothing of each other, "
        "each from a config file of its own (so `CONFIG REWRITE` works), and keeps them until you press "
        "Enter. The commands below run in another terminal.", banner_text))
    ids = [node_id(i) for i in range(9)]
    text = run(["--cluster", "create"] + addrs[:6] + ["--cluster-replicas", "1", "--cluster-yes"])
    sections.append(("Creating the cluster",
        "`--cluster create` takes the nodes, makes the first three primaries with a third of the slots "
        "each and the next three their replicas, and joins them. All nodes run on one host, so rcli "
        "warns that replicas share a host with their primary; it keeps the pairing it printed "
        "(redis-cli shuffles it after printing).", text))
    settle(3)
    load = "".join("SET key:%d %d\n" % (i, i) for i in range(10000))
    subprocess.run([binary, "-c", "-p", ports[0]], input=load, capture_output=True, text=True, env=env)
    text = run(["--cluster", "check", addrs[0]]) + run(["--cluster", "info", addrs[0]])
    sections.append(("Checking it",
        "10,000 keys were written with `rcli -c` (piped, so pipelined). `check` shows every node, "
        "whether they agree on the slots, open slots and coverage; `info` the keys per primary.", text))
    # Interactive reshard in a pseudo-terminal.
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(binary, [binary, "--cluster", "reshard", addrs[0]], env)
    transcript = b""
    answers = [(b"How many slots", b"1000"), (b"receiving node ID", ids[1].encode()),
               (b"Source node #1", b"all"), (b"(yes/no)?", b"yes")]
    deadline = time.time() + 120
    while time.time() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            transcript += chunk
            for i, (question, answer) in enumerate(answers):
                if question in transcript.split(b"\n")[-1] and answer is not None:
                    os.write(fd, answer + b"\r")
                    answers[i] = (question, None)
    os.waitpid(pid, 0)
    text = "$ rcli --cluster reshard " + addrs[0] + "\n" + shorten(transcript.decode(errors="replace").replace("\r\n", "\n").replace("\r", ""))
    sections.append(("Resharding, interactively",
        "Without options `reshard` asks what redis-cli asks: how many slots, which node receives them, "
        "and from which nodes (`all`: every other primary, each giving its share). It shows the plan "
        "and asks before moving anything. rcli first sizes the keys it will move and refuses keys too "
        "big for MIGRATE.", text))
    settle()
    plan = run(["--cluster", "reshard", addrs[0], "--cluster-from", ids[1], "--cluster-to", ids[2],
                "--cluster-slots", "200", "--cluster-yes", "--cluster-dry-run"])
    done = run(["--cluster", "reshard", addrs[0], "--cluster-from", ids[1], "--cluster-to", ids[2],
                "--cluster-slots", "200", "--cluster-yes"])
    sections.append(("Resharding from a script",
        "With `--cluster-from`, `--cluster-to`, `--cluster-slots` and `--cluster-yes` nothing is asked. "
        "`--cluster-dry-run` prints the plan with keys, bytes and an estimated time, and changes nothing.",
        plan + "\n" + done))
    settle()
    writer_input = "".join("INCR counter:%d\n" % (i % 1000) for i in range(300000))
    writer = subprocess.Popen([binary, "-c", "-p", ports[0]], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env)
    result = {}
    def feed():
        out, err = writer.communicate(writer_input)
        result["out"], result["err"] = out, err
    thread = threading.Thread(target=feed)
    thread.start()
    time.sleep(0.3)
    text = run(["--cluster", "reshard", addrs[0], "--cluster-from", ids[2], "--cluster-to", ids[0],
                "--cluster-slots", "2000", "--cluster-yes"])
    thread.join()
    replies = result["out"].splitlines()
    numbers = [r for r in replies if r.isdigit()]
    summary = "$ # the writer: 300000 INCRs over 1000 counters, piped into rcli -c during the reshard\n"
    summary += "%d replies, %d of them numbers, %d errors on stderr\n" % (len(replies), len(numbers), len([l for l in result["err"].splitlines() if l.strip()]))
    total = subprocess.run([binary, "-c", "-p", ports[0], "--target", "primaries", "eval",
                            "local s=0 for _,k in ipairs(redis.call('keys','counter:*')) do s=s+redis.call('get',k) end return s", "0"],
                           capture_output=True, text=True, env=env)
    per_node = [int(x) for x in total.stdout.split()]
    summary += "$ rcli -c -p %s --target primaries eval \"<sum of every counter:*>\" 0\n%s" % (ports[0], total.stdout)
    summary += "# in all: %d\n" % sum(per_node)
    sections.append(("A reshard under load",
        "While 300,000 INCRs are piped into `rcli -c` (pipelined, following MOVED and ASK as slots "
        "move), 2,000 slots move. Every INCR gets its reply, and the counters (summed per primary, "
        "then in all) add up to 300,000: nothing was lost or counted twice.", text + "\n" + summary))
    settle()
    text = run(["--cluster", "add-node", addrs[6], addrs[0]])
    text += "\n" + run(["--cluster", "rebalance", addrs[0], "--cluster-use-empty-masters", "--cluster-yes"])
    sections.append(("Adding a primary, and rebalancing",
        "`add-node` joins an empty node as a primary; rcli waits until every node knows it, so the "
        "next command can use it at once. `rebalance --cluster-use-empty-masters` then moves slots "
        "to it until every primary has about the same number (`#` per slot moved).", text))
    settle()
    text = run(["--cluster", "add-node", addrs[7], addrs[0], "--cluster-slave", "--cluster-master-id", ids[6]])
    sections.append(("Adding a replica",
        "`--cluster-slave --cluster-master-id <id>` joins the node as a replica of that primary "
        "(without `--cluster-master-id`, of the primary with the fewest replicas). rcli also waits "
        "until the replica has finished its first sync (a primary's first replica waits "
        "`repl-diskless-sync-delay`, 5 s by default): before that it holds nothing, and a manual "
        "failover to it would promote an empty node.", text))
    settle(3)
    text = run(["-p", ports[7], "cluster", "failover"])
    time.sleep(3)
    text += run(["--cluster", "check", addrs[0]])
    sections.append(("A manual failover",
        "`CLUSTER FAILOVER` sent to a replica makes it take over its primary's slots, safely (the "
        "primary stops writes until the replica has caught up). The old primary becomes its replica.",
        text))
    text = run(["--cluster", "add-node", addrs[8], addrs[0], "--cluster-slave", "--cluster-master-id", ids[0]])
    text += run(["-p", ports[6], "shutdown", "nosave"])  # the reply never comes: the server is gone
    time.sleep(10)
    text += run(["--cluster", "check", addrs[0]])
    sections.append(("Replica migration",
        "The first primary gets a second replica. Then the only replica of the new primary is shut down, "
        "which leaves that primary without a replica; after a few seconds one of the first primary's "
        "replicas migrates to it by itself (`cluster-migration-barrier 1`). rcli reports the SHUTDOWN "
        "as a command whose reply never came (the server went away with it). `check` cannot reach the "
        "node that was shut down and says so.", text))
    text = run(["--cluster", "del-node", addrs[0], ids[6]])
    text += "\n" + run(["--cluster", "rebalance", addrs[0], "--cluster-weight", ids[2] + "=0", "--cluster-yes"])
    settle(3)
    text += "\n" + run(["--cluster", "del-node", addrs[0], ids[2]])
    settle(3)
    text += "\n" + run(["--cluster", "check", addrs[0]])
    sections.append(("Removing nodes",
        "`del-node` removes a node that has no slots. The node that was shut down can be removed too: "
        "rcli makes every reachable node forget it (redis-cli only knows nodes it can reach). A primary "
        "with slots is drained first, with `rebalance --cluster-weight <id>=0`; once empty, it turns "
        "into a replica of a primary that took its last slots (replica migration) and can be removed "
        "with `del-node` too.", text))
    bare.stdin.write("\n")
    bare.stdin.flush()
    bare.wait(timeout=30)
    shutil.rmtree(state, ignore_errors=True)
    return sections


if __name__ == "__main__":
    main()
