#!/usr/bin/env python3
"""Writes a realistic decision log set for benchmarking `sipedge decisions` (issue 5).

Usage: decisions-gen.py PATH TOTAL_BYTES [FILE_BYTES]

Lines are in the writer's exact format (policy::toJsonLine), oldest first across rotated files
PATH.N ... PATH.1 and then PATH, FILE_BYTES (default 100 MiB, the config default) each, as
DecisionLog's rotation leaves them. Content: 60 partners (a few noisy ones), ~85% allow, 12% deny,
3% throttle, the deny rules the policy names, 5,000 source addresses with ephemeral ports,
random Call-IDs, a certificate on TLS requests, one decision every ~250 ms on average. Seeded:
the same arguments give the same files.
"""
import os
import random
import sys
import time

path = sys.argv[1]
total = int(sys.argv[2])
file_bytes = int(sys.argv[3]) if len(sys.argv) > 3 else 100 << 20
rng = random.Random(5)

partners = ["globex", "initech", "umbrella", "hooli", "acme-west", "vandelay", "wayne",
            "stark", "tyrell", "cyberdyne"] + ["partner%02d" % i for i in range(50)]
weights = [30, 20, 10, 8, 6, 4, 3, 3, 2, 2] + [1] * 50
cum = []
acc = 0
for w in weights:
    acc += w
    cum.append(acc)
deny_rules = ["methods", "networks", "deny_networks", "countries", "identity", "mutual_tls",
              "internal_targets", "max_message_bytes", "direction"]
methods = ["INVITE"] * 6 + ["ACK", "BYE"] * 3 + ["OPTIONS"] * 4 + ["MESSAGE"] * 3 + [
    "SUBSCRIBE", "NOTIFY", "REGISTER", "REFER", "INFO", "CANCEL", "PUBLISH"]
countries = ["US", "US", "US", "DE", "GB", "FR", "JP", "CA", "NL", "BR", "IN", "CN", "RU"]
users = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
         "mallory", "oscar", "peggy", "trent", "victor", "walter"]
ips = ["%d.%d.%d.%d" % (rng.choice([198, 203, 192, 100, 45, 81]), rng.randrange(256),
                        rng.randrange(256), rng.randrange(1, 255)) for _ in range(5000)]
fmt = ('{"time":"%s.%03dZ","id":"d-%d-%d","verdict":"%s","status":%d,"reason":"%s","rule":"%s",'
       '"partner":"%s","direction":"%s","transport":"%s","src":"%s:%d","cert_subject":"%s",'
       '"cert_sans":[%s],"cert_fingerprint":"%s","country":"%s","method":"%s",'
       '"call_id":"%016x@%s","from":"sip:%s@%s.example","to":"sip:%s@acme.example",'
       '"ruri":"sip:%s@acme.example","mapped":"%s"}\n')

os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
nfiles = max(1, -(-total // file_bytes))
names = ["%s.%d" % (path, i) for i in range(nfiles - 1, 0, -1)] + [path]
t_ms = int(time.mktime((2026, 11, 15, 0, 0, 0, 0, 0, 0)) - time.timezone) * 1000
sec = -1
prefix = ""
n = 0
written = 0
for name in names:
    size = 0
    chunk = []
    with open(name, "w") as out:
        while size < file_bytes and written < total:
            t_ms += rng.randrange(500)
            if t_ms // 1000 != sec:
                sec = t_ms // 1000
                prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
            r = rng.randrange(cum[-1])
            pi = 0
            while cum[pi] <= r:
                pi += 1
            partner = partners[pi]
            v = rng.randrange(100)
            user = users[rng.randrange(len(users))]
            tls = rng.randrange(10) < 8
            if v < 85:
                verdict, status, reason, rule = "allow", 0, "", "partners[%s]" % partner
                mapped = "%s@nyc.acme.example" % user if rng.randrange(3) else ""
            elif v < 97:
                verdict, status, reason = "deny", 403, "Forbidden"
                rule = "partners[%s].%s" % (partner, deny_rules[rng.randrange(len(deny_rules))])
                mapped = ""
            else:
                verdict, status, reason = "throttle", 503, "Service Unavailable"
                rule = "partners[%s].rate_limits.requests" % partner
                mapped = ""
            n += 1
            line = fmt % (
                prefix, t_ms % 1000, os.getpid() % 7, n, verdict, status, reason, rule, partner,
                "inbound" if rng.randrange(4) else "outbound", "tls" if tls else "udp",
                ips[rng.randrange(len(ips))], 1024 + rng.randrange(60000),
                ("CN=edge.%s.example" % partner) if tls else "",
                ('"DNS:edge.%s.example","DNS:%s.example"' % (partner, partner)) if tls else "",
                ("%02X:%02X:%02X:%02X:%02X:%02X:%02X:%02X" % tuple(
                    rng.randrange(256) for _ in range(8))) if tls else "",
                countries[rng.randrange(len(countries))], methods[rng.randrange(len(methods))],
                rng.getrandbits(64), partner, user, partner, user, user, mapped)
            chunk.append(line)
            size += len(line)
            written += len(line)
            if len(chunk) >= 4096:
                out.write("".join(chunk))
                chunk = []
        out.write("".join(chunk))
print("wrote %d decisions, %d bytes, in %d files (%s ... %s)" % (n, written, len(names), names[0],
                                                                 names[-1]))
