#!/usr/bin/env python3
# An independent implementation of the pct and pos strategies (documented
# in stepper/pct.c, stepper/pos.c and the README's "Strategies") over the
# 3-thread declared example of tests/golden/seeds.txt, written from the
# documentation and not from the C code. tests/test_strategies.c runs it
# and compares, seed by seed, with what the library does.
#
#   gen_pct.py pct:D [SEEDS]  for each seed: the priorities, the change
#                             points and the order, as STEPPER_DEBUG=1
#                             prints the "pct:" lines
#   gen_pct.py pos [SEEDS]    for each seed: the order
#   gen_pct.py random [SEEDS] for each seed: the order (as gen_seeds.py)
#   gen_pct.py golden         tests/golden/strategies.txt's text
# SEEDS: "1..5" (the default).
import sys

M = (1 << 64) - 1


def splitmix(x):
    x = (x + 0x9e3779b97f4a7c15) & M
    z = x
    z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & M
    z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & M
    return x, z ^ (z >> 31)


def rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & M


class Rng:
    """splitmix64 seeding, xoshiro256**, Lemire's bounded draw."""

    def __init__(self, seed):
        x = seed
        self.s = []
        for _ in range(4):
            x, z = splitmix(x)
            self.s.append(z)

    def next(self):
        a = self.s
        r = (rotl((a[1] * 5) & M, 7) * 9) & M
        t = (a[1] << 17) & M
        a[2] ^= a[0]
        a[3] ^= a[1]
        a[1] ^= a[2]
        a[0] ^= a[3]
        a[2] ^= t
        a[3] = rotl(a[3], 45)
        return r

    def below(self, n):
        m = self.next() * n
        low = m & M
        if low < n:
            th = ((1 << 64) - n) % n
            while low < th:
                m = self.next() * n
                low = m & M
        return m >> 64


THREADS = [("writer", ["lock", "read", "write", "unlock"]),
           ("reader", ["lock", "read", "unlock"]),
           ("flusher", ["poll", "flush"])]


def run(policy):
    """Serial run of the declared example: the prefixes run in thread
    order, so the last thread makes the first decision; after that the
    thread that ran last decides (also after it ended). Every live thread
    is parked at its next step when a decision is made. policy(enabled,
    current, decision, parked) -> thread index; it is told about forced
    decisions too (len(enabled) == 1)."""
    pos = [0] * len(THREADS)
    current = len(THREADS) - 1
    order = []
    decision = 0
    while True:
        enabled = [i for i, (_, o) in enumerate(THREADS) if pos[i] < len(o)]
        if not enabled:
            return order
        pick = policy(enabled, current, decision, pos)
        name, o = THREADS[pick]
        order.append("[%s] %s" % (name, o[pos[pick]]))
        pos[pick] += 1
        current = pick
        decision += 1


def draw(r, points, want, lo, hi):
    """Distinct change points over [lo, hi], one by one (lo + below(room),
    a repeated value drawn again), until there are want of them or the
    range is full."""
    room = max(0, hi - lo + 1)
    goal = min(want, len(points) + room)
    while len(points) < goal:
        x = lo + r.below(room)
        if x not in points:
            points.append(x)
    points.sort()


def pct(seed, depth):
    r = Rng(seed)
    n = len(THREADS)
    perm = list(range(n))
    for i in range(n - 1, 0, -1):
        j = r.below(i + 1)
        perm[i], perm[j] = perm[j], perm[i]
    prio = [0] * n
    for k in range(n):
        prio[perm[k]] = depth + k
    # L: every thread is declared, so the declared steps less the first
    # decision (at least 1)
    length = max(1, sum(len(o) for _, o in THREADS) - 1)
    points = []
    draw(r, points, depth - 1, 1, length)
    out = ["pct: depth %d, length %d (the declared steps), change points%s; "
           "priorities %s" % (depth, length,
                              "".join(" %d" % p for p in points) or " none",
                              ", ".join("[%s] %d" % (THREADS[i][0], prio[i])
                                        for i in range(n)))]
    st = {"count": 0, "low": depth - 1, "length": length}

    def policy(enabled, current, decision, _pos):
        if len(enabled) == 1:
            return enabled[0]
        # the run's first decision is not counted
        if decision > 0:
            st["count"] += 1
            if st["count"] > st["length"]:
                old = st["length"]
                st["length"] = 2 * old
                draw(r, points, depth - 1, old + 1, st["length"])
                added = [p for p in points if p > old]
                out.append("pct: counted decision %d passes length %d: length "
                           "%d, change points%s added"
                           % (st["count"], old, st["length"],
                              "".join(" %d" % p for p in added) or " none"))
            if st["count"] in points:
                prio[current] = st["low"]
                st["low"] -= 1
                out.append("pct: change point %d at decision %d: [%s] drops "
                           "to priority %d" % (st["count"], decision + 1,
                                               THREADS[current][0],
                                               prio[current]))
        return max(enabled, key=lambda i: (prio[i], -i))

    order = run(policy)
    return out, order


def pos(seed):
    r = Rng(seed)
    n = len(THREADS)
    prio = [r.next() for _ in range(n)]

    def policy(enabled, _current, _decision, at):
        best = max(enabled, key=lambda i: (prio[i], -i))
        step = THREADS[best][1][at[best]]
        for k in range(n):
            parked = at[k] < len(THREADS[k][1])
            if k == best or (parked and THREADS[k][1][at[k]] == step):
                prio[k] = r.next()
        return best

    return run(policy)


def random(seed):
    r = Rng(seed)
    left = [len(o) for _, o in THREADS]
    order = []
    while sum(left):
        x = r.below(sum(left))
        i = 0
        while x >= left[i]:
            x -= left[i]
            i += 1
        name, o = THREADS[i]
        order.append("[%s] %s" % (name, o[len(o) - left[i]]))
        left[i] -= 1
    return order


def block(title, lines, order):
    return [title] + lines + ["===="] + order + ["===="]


def main(argv):
    what = argv[1] if len(argv) > 1 else "golden"
    seeds = range(1, 6)
    if len(argv) > 2:
        a, b = argv[2].split("..")
        seeds = range(int(a), int(b) + 1)
    out = []
    for strategy in (["random", "pct:3", "pos"] if what == "golden" else [what]):
        for seed in seeds:
            title = "%s seed %d" % (strategy, seed)
            if strategy.startswith("pct"):
                depth = int(strategy[4:]) if strategy != "pct" else 3
                lines, order = pct(seed, depth)
                out += block(title, [] if what == "golden" else lines, order)
            elif strategy == "pos":
                out += block(title, [], pos(seed))
            elif strategy == "random":
                out += block(title, [], random(seed))
            else:
                sys.exit("gen_pct.py: unknown strategy '%s'" % strategy)
    print("\n".join(out))


main(sys.argv)
