#!/usr/bin/env python3
"""A barrier node in Python, from barrier/PROTOCOL.md alone.

usage: node.py HOST:PORT NAME TOKEN LABEL...
Prints each answer line; exits 0 when every answer was OK.
"""
import socket
import sys


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    name, token, labels = sys.argv[2], sys.argv[3], sys.argv[4:]
    s = socket.create_connection((host, int(port)))
    f = s.makefile("rw", newline="\n")
    # HELLO at once: the controller closes a connection silent for 10 s
    f.write(f"HELLO {name} {token}\n")
    f.flush()
    ok = True
    for label in labels:
        f.write(f"BARRIER {label}\n")
        f.flush()
        answer = f.readline().rstrip("\n")
        print(answer, flush=True)
        ok = ok and answer.startswith(f"OK {label} ")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
