#!/usr/bin/env python3
"""Regenerates docs/tutorial.md: the Redis Cluster tutorial's hands-on part, done with
`rcli sandbox`, with transcripts captured from a real session of the current build.

It starts `target/release/rcli sandbox` in a pseudo-terminal (TERM=dumb, so the
transcript has no cursor movements; no colour), types each command, waits for the
prompt, and writes what the terminal showed. Ports differ between runs.
The failover half uses the sandbox's lab commands (:failover, :consistency, :kill,
:restart, :pause); its last section runs `rcli top` in a tmux window (tmux is needed)
and adds that window's screen, read with tmux capture-pane (the MONITOR/keyspace section
does the same with two windows). What the lab's threads print while the shell waits at its prompt
(the cluster's reactions, the consistency checker's lines) is written above that
prompt, where a real terminal shows it (with TERM=dumb the line editor cannot redraw,
so on screen those lines follow the prompt). A step `Wait(pattern)` types nothing and
waits for such a line. `rcli consistency-test` also runs once as a process of its own,
"from another terminal", against the sandbox's cluster.
The second half (creating, resharding, growing and shrinking a cluster with
`rcli --cluster`) starts `rcli sandbox --bare 9` and runs each command as its own
process, the interactive reshard in a pseudo-terminal; very long runs of identical
lines (one per slot) are shortened in the transcript.
Run from the repository root:  cargo build --release && python3 scripts/gen-tutorial.py
"""
import os, pty, re, select, shutil, subprocess, sys, tempfile, threading, time


class Wait:
    """A step that types nothing: it waits until the shell prints a line matching
    `pattern` by itself (the lab's watcher, the background checker)."""
    def __init__(self, pattern, timeout=90):
        self.pattern, self.timeout = re.compile(pattern, re.M), timeout


class Outside:
    """A step that runs rcli as its own process (another terminal), `{seed}` replaced
    by the port of the node in the prompt."""
    def __init__(self, *argv):
        self.argv = argv


PROGRESS = r"^\[consistency\] \d+ R "


class TopStart:
    """A step that starts `rcli top` (`{seed}` replaced) in a tmux window of its own, as
    in another terminal; `TopCapture` then adds that window's screen (tmux capture-pane)
    after the section's shell transcript, and stops it."""
    def __init__(self, *argv):
        self.argv = argv


class TopCapture:
    def __init__(self, settle=2):
        self.settle = settle


TOP_SESSION = "rcli-tutorial-top"


class Window:
    """A step that starts `command` (a shell command line; `{rcli}` is the binary,
    `{seed}` the port of the node in the prompt) in a tmux session of its own, as in
    another terminal, then types `keys` into it (a command for an rcli shell there);
    `WindowCapture` adds its screen after the section's shell transcript, and stops it.
    `shown` is the line that stands for it in the transcript."""
    def __init__(self, name, shown, command, keys=None, settle=2):
        self.name, self.shown, self.command, self.keys, self.settle = name, shown, command, keys, settle


class WindowCapture:
    def __init__(self, name, settle=2):
        self.name, self.settle = name, settle


WINDOWS = {}

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
    ("A manual failover: `:failover`",
     "The tutorial's second half is about failure, and the sandbox's shell can cause it: its lab "
     "commands (`:help` lists them) do to the sandbox's own nodes what an operator or an outage "
     "would, and are refused on any other cluster. A NODE is an address or a port as `:nodes` "
     "shows it, 4 or more characters of a node id, or `primary-of KEY` / `replica-of KEY`. "
     "`:failover replica-of foo` sends CLUSTER FAILOVER to the replica of `foo`'s primary. The "
     "lab asks every node a few times a second what it sees and prints what changed above the "
     "prompt, timed from the command; rcli reloads its slot map as it happens, and the prompt "
     "follows its node's slots to the new primary.",
     [":failover replica-of foo", Wait(r"took over slots"), Wait(r"is a replica now"), "get foo", ":nodes"], 0),
    ("The consistency checker",
     "The tutorial checks what a failover does to writes with `consistency-test.rb`; rcli has it "
     "built in: `rcli consistency-test`, against any cluster, from another terminal here. It "
     "increments 1000 counters (`--counters`) in turn, reading each back first, through rcli's own "
     "client, and prints every second the reads and writes done (errors in brackets), the "
     "acknowledged increments `lost` and those `not acked` (sent, reply lost, never resent). At "
     "the end it reads every counter back, removes its keys and gives a verdict.",
     [Outside("-c", "-p", "{seed}", "consistency-test", "--duration", "3")], 0),
    ("Killing a primary while writes go on",
     "The tutorial's failover test, in one shell: `:consistency on` runs the same checker in the "
     "background, its lines marked `[consistency]`, and `:kill primary-of foo` sends SIGKILL to "
     "`foo`'s primary, as a crash would. The other nodes suspect it (PFAIL), agree that it failed "
     "(FAIL), and its replica takes over. Meanwhile the checker's commands for those slots wait "
     "for the cluster to heal (rcli's failure budget), and the window during which the slots "
     "were unavailable is reported when it closes. Increments the dead primary acknowledged but "
     "had not yet sent to its replica would be counted as `lost`: Redis Cluster replicates "
     "asynchronously. `:consistency off` ends the run with its final read, clean-up and verdict.",
     [":consistency on", Wait(PROGRESS + r".*\n(.*\n)*" + PROGRESS),
      ":kill primary-of foo", Wait(r"took over slots"), Wait(r"window closed"), Wait(PROGRESS),
      ":consistency off", ":nodes"], 0),
    ("Bringing the node back: `:restart`",
     "`:restart` starts the killed node again with its own port, directory and node file. It "
     "rejoins the cluster, learns that its slots have a new owner, and becomes that node's "
     "replica. (`:stop` is the clean way down: SHUTDOWN SAVE.)",
     [":restart {killed}", Wait(r"answers again"), Wait(r"no longer flagged"), ":nodes"], 0),
    ("A partition in miniature: `:pause`",
     "`:pause NODE SECONDS` freezes a node with SIGSTOP and resumes it with SIGCONT when the time "
     "is up (at most 300 s; a node still paused when the shell ends is resumed, then stopped). "
     "Frozen, a node is as good as cut off from the others: a primary paused for longer than "
     "`cluster-node-timeout` (2 s in the sandbox) is failed over, and wakes up to find itself a "
     "replica.",
     [":pause primary-of foo 8", Wait(r"took over slots"), Wait(r"answers again"), ":nodes"], 0),
    ("Watching the cluster: `rcli top`",
     "`rcli top -c -p PORT` shows every node on one screen, refreshed every second: shards in "
     "slot order (a primary, then its replicas), each node's link as rcli's own requests see it "
     "and its health as the cluster says, ops/s with a sparkline, network, memory, clients, "
     "keys, the replicas' lag, CPU; the totals; the events seen between two rounds; and, on "
     "Valkey 8+, the slots holding the most keys (the sandbox's Redis answers that it has no "
     "`CLUSTER SLOT-STATS`). `s` sorts, `/` filters, space pauses, `q` quits "
     "(docs/top.md). Here it runs in another terminal while the shell kills `foo`'s primary "
     "again; the screen a moment after the failover, then `--once`, the same frame as text "
     "for scripts (`--json` for JSON).",
     [TopStart("top", "-c", "-p", "{seed}"), ":kill primary-of foo", Wait(r"took over slots"),
      Wait(r"is marked failed|took over"), TopCapture(3), Outside("top", "--once", "-c", "-p", "{seed}"),
      ":restart {killed}", Wait(r"is a replica now")], 0),
    ("Every node's commands and keyspace events: MONITOR and SUBSCRIBE with `-c`",
     "MONITOR and keyspace notifications are node-local: a node shows only the commands it runs, "
     "and a key's events come from the primary that owns it. With `-c`, rcli runs MONITOR on "
     "every primary and prefixes each line with its node, and subscribes to keyspace channels on "
     "every primary, adding the node as the message's last element; both follow a failover "
     "(docs/compatibility.md, \"MONITOR and keyspace events with -c\"). Here a keyspace "
     "subscription runs in a second terminal: it finds `notify-keyspace-events` empty on every "
     "primary and says so (on a terminal's stderr only); a fan-out CONFIG SET to every node, "
     "replicas included, turns the events on, so a promoted replica sends them too. MONITOR runs "
     "in a third (rcli's sandbox shell asks every node for CLUSTER NODES four times a second: "
     "grep leaves that out). Then three writes and `foo`'s primary killed: one event per write, "
     "each from its key's primary, and after the failover the promoted replica's, on both "
     "screens; the lost stream and the new one are hop lines (on a terminal only). When stdout "
     "cannot keep up, rcli keeps reading every node, drops what does not fit (1024 messages or "
     "8 MiB waiting) and says `(N messages dropped: the output could not keep up)`.",
     [Window("events", "$ rcli -c -p PORT      (a second terminal; its screen, by tmux capture-pane)",
             "env NO_COLOR=1 {rcli} -c -p {seed}", keys="psubscribe __keyevent@0__:*"),
      Outside("-c", "-p", "{seed}", "--target", "all", "config", "set", "notify-keyspace-events", "KEA"),
      Window("monitor", "$ rcli -c -p PORT monitor | grep -v '\"CLUSTER\"'      (a third terminal)",
             "env NO_COLOR=1 {rcli} -c -p {seed} monitor | grep --line-buffered -v '\"CLUSTER\"'"),
      "set foo bar", "incr counter", "set hello world", ":kill primary-of foo", Wait(r"took over slots"),
      Wait(r"cluster_state:ok"), "set foo baz", WindowCapture("events"), WindowCapture("monitor"),
      ":restart {killed}", Wait(r"is a replica now|answers again, as a replica")], 0),
]

PROMPT_AT_END = re.compile(r"(\n|^)(not connected|\S+:\d+(\[\d+\])?(\(TX\))?)> $")
PROMPT_LINE = re.compile(r"(?:^|\n)((?:not connected|\S+:\d+(?:\[\d+\])?(?:\(TX\))?)> )")


def last_prompt(text):
    """The last prompt in a piece of output (the lab may have printed after it)."""
    found = list(PROMPT_LINE.finditer(text))
    return found[-1] if found else None


class Shell:
    """The sandbox's shell in a pseudo-terminal, and the transcript of one section: it
    always ends with the prompt the shell shows now."""

    def __init__(self, binary, env):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execve(binary, [binary, "sandbox", "--primaries", "3", "--replicas", "1"], env)
        self.banner = self.read_until(lambda out: PROMPT_AT_END.search(out), 120)
        self.prompt = self.banner.splitlines()[-1]
        self.text = self.prompt
        self.seen = ""  # everything shown, for finding addresses
        self.unwaited = ""  # the lab's lines since the last command, not yet waited for

    def read(self, wait):
        """What arrives within `wait` seconds (less if output stops for a moment)."""
        out = b""
        deadline = time.time() + wait
        while time.time() < deadline:
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            if not ready:
                if out:
                    break
                continue
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        return out.decode(errors="replace").replace("\r\n", "\n").replace("\r", "")

    def read_until(self, done, timeout):
        out = ""
        deadline = time.time() + timeout
        while time.time() < deadline:
            out += self.read(0.3)
            if done(out):
                return out
        raise RuntimeError("timed out; got: %r" % out[-1500:])

    def above_prompt(self, lines):
        """Lines the lab printed while the prompt was shown go above it."""
        if lines:
            self.text = self.text[: len(self.text) - len(self.prompt)] + lines + self.prompt
            self.seen += lines
            self.unwaited += lines

    def drain(self):
        self.above_prompt(self.read(0.5))

    def type(self, command):
        self.drain()
        self.unwaited = ""
        os.write(self.fd, command.encode() + b"\r")
        echo = command + "\n"
        out = self.read_until(lambda out: echo in out and last_prompt(out.split(echo, 1)[1]), 120)
        before, after = out.split(echo, 1)
        self.above_prompt(before)  # printed between the last look and the echo
        # The output, the new prompt, and lines printed after the prompt appeared.
        found = last_prompt(after)
        reply, prompt, late = after[: found.start(1)], found.group(1), after[found.end(1):]
        self.text += echo + reply + prompt
        self.prompt = prompt
        self.seen += echo + reply
        self.above_prompt(late)

    def wait(self, step):
        deadline = time.time() + step.timeout
        while True:
            found = step.pattern.search(self.unwaited)
            if found:
                self.unwaited = self.unwaited[found.end():]
                return
            if time.time() > deadline:
                raise RuntimeError("timed out waiting for %r; got: %r" % (step.pattern.pattern, self.unwaited[-1500:]))
            self.above_prompt(self.read(0.5))

    def take(self):
        """The section's transcript (without its last prompt); the next starts with it."""
        text = "\n".join(self.text.splitlines()[:-1])
        self.text = self.prompt
        return text

    def quit(self):
        os.write(self.fd, b"quit\r")
        try:
            while os.read(self.fd, 65536):
                pass
        except OSError:
            pass
        os.waitpid(self.pid, 0)


def fill(command, shell):
    """Addresses a command refers to, from what the session showed so far."""
    if "{killed}" in command:
        found = re.findall(r"^killed (\S+) ", shell.seen, re.M)
        command = command.replace("{killed}", found[-1] if found else "?")
    return command


def outside(binary, env, argv, shell):
    seed = re.search(r":(\d+)> $", shell.prompt).group(1)
    argv = [a.replace("{seed}", seed) for a in argv]
    out = subprocess.run([binary] + argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         env=env, timeout=120)
    return "$ rcli " + " ".join(argv) + "\n" + out.stdout.rstrip("\n")


def top_start(binary, env, argv, shell):
    seed = re.search(r":(\d+)> $", shell.prompt).group(1)
    argv = [a.replace("{seed}", seed) for a in argv]
    command = " ".join(["env", "NO_COLOR=1", os.path.abspath(binary)] + argv)
    subprocess.run(["tmux", "kill-session", "-t", TOP_SESSION], stderr=subprocess.DEVNULL)
    subprocess.run(["tmux", "new-session", "-d", "-s", TOP_SESSION, "-x", "140", "-y", "34", command],
                   check=True, env=env)


def top_capture(settle):
    time.sleep(settle)
    out = subprocess.run(["tmux", "capture-pane", "-p", "-t", TOP_SESSION], stdout=subprocess.PIPE,
                         text=True, check=True)
    subprocess.run(["tmux", "send-keys", "-t", TOP_SESSION, "q"])
    time.sleep(0.5)
    subprocess.run(["tmux", "kill-session", "-t", TOP_SESSION], stderr=subprocess.DEVNULL)
    lines = [l.rstrip() for l in out.stdout.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return "$ rcli top -c -p PORT      (another terminal; the screen, by tmux capture-pane)\n" + "\n".join(lines)


def window_start(binary, step, shell):
    seed = re.search(r":(\d+)> $", shell.prompt).group(1)
    command = step.command.replace("{rcli}", os.path.abspath(binary)).replace("{seed}", seed)
    session = "rcli-tutorial-" + step.name
    subprocess.run(["tmux", "kill-session", "-t", session], stderr=subprocess.DEVNULL)
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "140", "-y", "50", command], check=True)
    if step.keys:
        time.sleep(1.5)
        subprocess.run(["tmux", "send-keys", "-t", session, step.keys, "Enter"], check=True)
    time.sleep(step.settle)
    WINDOWS[step.name] = step.shown


def window_capture(step):
    time.sleep(step.settle)
    session = "rcli-tutorial-" + step.name
    out = subprocess.run(["tmux", "capture-pane", "-p", "-J", "-t", session], stdout=subprocess.PIPE,
                         text=True, check=True)
    subprocess.run(["tmux", "send-keys", "-t", session, "C-c"])
    time.sleep(0.5)
    subprocess.run(["tmux", "kill-session", "-t", session], stderr=subprocess.DEVNULL)
    lines = [l.rstrip() for l in out.stdout.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return WINDOWS.pop(step.name) + "\n" + "\n".join(lines)


def main():
    binary = os.path.join("target", "release", "rcli")
    if not os.path.exists(binary):
        sys.exit("build first: cargo build --release")
    env = dict(os.environ, TERM="dumb", NO_COLOR="1", RCLI_RCFILE="/dev/null", REDISCLI_HISTFILE="/dev/null")
    shell = Shell(binary, env)
    transcripts = []
    for title, prose, steps, pause in SECTIONS:
        shown, after = [], []
        for step in steps:
            if isinstance(step, Wait):
                shell.wait(step)
            elif isinstance(step, Outside):
                # After a screen capture, in order after the shell's transcript.
                (after if after else shown).append(outside(binary, env, step.argv, shell))
            elif isinstance(step, TopStart):
                top_start(binary, env, step.argv, shell)
            elif isinstance(step, TopCapture):
                after.append(top_capture(step.settle))
            elif isinstance(step, Window):
                window_start(binary, step, shell)
            elif isinstance(step, WindowCapture):
                after.append(window_capture(step))
            else:
                shell.type(fill(step, shell))
        session = shell.take()
        if session.strip() and session.strip() != shell.prompt.strip():
            shown.append(session)
        shown.extend(after)
        transcripts.append((title, prose, "\n".join(shown)))
        time.sleep(pause)
    second = second_half(binary, env)
    shell.quit()
    startup = "\n".join(l for l in shell.banner.splitlines() if l.strip())
    with open(os.path.join("docs", "tutorial.md"), "w") as f:
        f.write("# Redis Cluster, hands on, with rcli\n\n")
        f.write("The hands-on part of the Redis Cluster tutorial, redone with `rcli sandbox`.\n"
                "Every transcript below was captured from a real session of the current build by\n"
                "`scripts/gen-tutorial.py` (ports and timings change from run to run; regenerate after\n"
                "changing rcli). Start your own with `scripts/sandbox`.\n\n")
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
