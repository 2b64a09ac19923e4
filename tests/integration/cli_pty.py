# SPDX-License-Identifier: Apache-2.0
"""Run a command on a pseudo-terminal, answering its prompts.

usage: cli_pty.py EXPECT_RC PROMPT=ANSWER... -- ARGV...
Each PROMPT=ANSWER pair waits for PROMPT in the output, then types ANSWER
and Enter (ANSWER "^C" types Ctrl-C instead, and then the terminal must have
echo back on when the command is gone; EXPECT_RC -2 = killed by SIGINT). Exits 0 when the command's exit status is EXPECT_RC and no ANSWER
was echoed back to the terminal (the prompts must turn echo off); prints the
terminal output otherwise. Used by test_cli_prompt.sh.
"""
import os
import pty
import select
import signal
import sys
import termios
import time


def read_until(fd, needle, out, deadline):
    while needle not in out:
        if time.time() > deadline:
            raise TimeoutError(f"no {needle!r} in {out!r}")
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                raise EOFError(f"exited before {needle!r}; output {out!r}")
            if not chunk:
                raise EOFError(f"exited before {needle!r}; output {out!r}")
            out += chunk
    return out


def main():
    args = sys.argv[1:]
    want = int(args.pop(0))
    sep = args.index("--")
    pairs = [a.split("=", 1) for a in args[:sep]]
    argv = args[sep + 1:]
    pid, fd = pty.fork()
    if pid == 0:
        # Whatever the test runner did to job-control signals (ignored or
        # blocked), the command gets a plain terminal session's defaults.
        for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGTSTP, signal.SIGTERM):
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        os.execv(argv[0], argv)
    out = b""
    deadline = time.time() + 30
    try:
        pos = 0
        for prompt, answer in pairs:
            while prompt.encode() not in out[pos:]:
                out = out[:pos] + read_until(fd, prompt.encode(), out[pos:], deadline)
            pos = out.index(prompt.encode(), pos) + len(prompt)
            if answer == "^C":
                os.write(fd, b"\x03")  # the terminal turns it into SIGINT
            else:
                os.write(fd, answer.encode() + b"\n")
        while True:
            if time.time() > deadline:
                raise TimeoutError(f"command did not finish; output {out!r}")
            r, _, _ = select.select([fd], [], [], 0.2)
            if not r:
                continue
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    except (TimeoutError, EOFError) as e:
        print(f"cli_pty: {e}", file=sys.stderr)
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        return 1
    _, st = os.waitpid(pid, 0)
    rc = os.waitstatus_to_exitcode(st)
    text = out.decode(errors="replace")
    ok = rc == want
    # After an interrupted prompt the terminal must have echo back on.
    if any(a == "^C" for _, a in pairs):
        lflag = termios.tcgetattr(fd)[3]
        if not lflag & termios.ECHO:
            print("cli_pty: terminal echo left off after the interrupt", file=sys.stderr)
            ok = False
    for _, answer in pairs:
        if answer and answer in text:
            print(f"cli_pty: the answer {answer!r} was echoed", file=sys.stderr)
            ok = False
    if not ok:
        print(f"cli_pty: exit {rc}, want {want}; terminal output:\n{text}", file=sys.stderr)
        return 1
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
