#!/usr/bin/env python3
"""REGISTER with HTTP digest authentication over UDP (RFC 3261 22, RFC 7616), stdlib only.

REGISTER -> 401 (WWW-Authenticate) -> REGISTER with Authorization (qop=auth, a fresh cnonce,
nc=00000001, --algorithm SHA-256 or MD5: the challenge offering that algorithm is answered)
-> prints the final status line. With --replay, sends a third REGISTER carrying the same
Authorization (same nonce, same nc: a replay) and prints its status line too.

  sip_digest_register.py HOST:PORT --aor sip:alice@acme.test --password secret \
      [--user alice] [--contact sip:alice@127.0.0.1:25103] [--algorithm SHA-256|MD5] \
      [--expires 3600] [--replay] [--timeout 5] [--expect 200] [--bind 127.0.0.1]
  sip_digest_register.py --selftest     # digest math against RFC 7616 3.9.1's example

Exit status: 0 when the final status (of the authenticated REGISTER; with --replay, of the
replayed one) equals --expect (default 200), 1 otherwise, 2 on a timeout or a missing
challenge for the algorithm.
"""
import argparse
import hashlib
import os
import re
import socket
import sys
import time

HASHES = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}


def digest_response(alg, user, realm, password, method, uri, nonce, nc, cnonce, qop="auth"):
    """The response parameter (RFC 7616 3.4.1, qop=auth)."""
    h = lambda s: HASHES[alg](s.encode()).hexdigest()
    ha1 = h(f"{user}:{realm}:{password}")
    ha2 = h(f"{method}:{uri}")
    return h(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")


def selftest():
    # RFC 7616 3.9.1 (GET /dir/index.html, Mufasa / Circle of Life, qop=auth)
    args = ("Mufasa", "http-auth@example.org", "Circle of Life", "GET", "/dir/index.html",
            "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", "00000001",
            "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ")
    want = {"MD5": "8ca523f5e9506fed4657c9700eebdbec",
            "SHA-256": "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"}
    ok = True
    for alg, expected in want.items():
        got = digest_response(alg, *args)
        print(f"{alg}: {'ok' if got == expected else 'FAIL ' + got}")
        ok &= got == expected
    return 0 if ok else 1


def parse_challenges(msg):
    """Every WWW-Authenticate: Digest header as a dict of its parameters."""
    out = []
    for line in msg.split("\r\n"):
        name, _, value = line.partition(":")
        if name.strip().lower() != "www-authenticate":
            continue
        value = value.strip()
        if not value.lower().startswith("digest "):
            continue
        params = dict((k.lower(), v1 if v1 else v2) for k, v1, v2 in
                      re.findall(r'([A-Za-z0-9_-]+)\s*=\s*(?:"([^"]*)"|([^,\s]+))', value[7:]))
        out.append(params)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("target", nargs="?", help="HOST:PORT of the registrar")
    ap.add_argument("--aor", help="address of record (To, From), e.g. sip:alice@acme.test")
    ap.add_argument("--user", help="digest username (default: the AOR's user part)")
    ap.add_argument("--contact", help="Contact URI (default sip:USER@LOCAL_IP:LOCAL_PORT)")
    ap.add_argument("--password")
    ap.add_argument("--algorithm", default="SHA-256", choices=sorted(HASHES))
    ap.add_argument("--expires", type=int, default=3600)
    ap.add_argument("--replay", action="store_true", help="resend the Authorization unchanged")
    ap.add_argument("--timeout", type=float, default=5.0, help="seconds to wait per response")
    ap.add_argument("--expect", default="200", help="the final status wanted")
    ap.add_argument("--bind", default="127.0.0.1", help="local address (loopback)")
    ap.add_argument("--selftest", action="store_true")
    a = ap.parse_args()
    if a.selftest:
        return selftest()
    if not (a.target and a.aor and a.password is not None):
        ap.error("HOST:PORT, --aor and --password are required")
    host, port = a.target.rsplit(":", 1)
    m = re.match(r"sips?:(?:([^@]+)@)?([^;>]+)", a.aor)
    user = a.user or (m.group(1) if m else "anonymous")
    domain = m.group(2) if m else host
    ruri = f"sip:{domain}"
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((a.bind, 0))
    lip, lport = sock.getsockname()
    contact = a.contact or f"sip:{user}@{lip}:{lport}"
    call_id = f"{os.urandom(8).hex()}@{lip}"
    from_tag = os.urandom(4).hex()
    cseq = [0]

    def transact(auth=None):
        """Sends one REGISTER (retransmitted at 0.5/1/2 s) and returns its final response."""
        cseq[0] += 1
        lines = [f"REGISTER {ruri} SIP/2.0",
                 f"Via: SIP/2.0/UDP {lip}:{lport};branch=z9hG4bK{os.urandom(6).hex()};rport",
                 "Max-Forwards: 70", f"From: <{a.aor}>;tag={from_tag}", f"To: <{a.aor}>",
                 f"Call-ID: {call_id}", f"CSeq: {cseq[0]} REGISTER", f"Contact: <{contact}>",
                 f"Expires: {a.expires}"]
        if auth:
            lines.append(f"Authorization: {auth}")
        data = ("\r\n".join(lines + ["User-Agent: sip_digest_register.py", "Content-Length: 0"])
                + "\r\n\r\n").encode()
        end = time.monotonic() + a.timeout
        wait, resend = 0.5, 0.0
        while True:
            now = time.monotonic()
            if now >= end:
                return None
            if now >= resend:  # first send, then retransmissions at 0.5, 1, 2, 4, 4... s (T1)
                sock.sendto(data, (host, int(port)))
                resend, wait = now + wait, min(wait * 2, 4.0)
            sock.settimeout(max(0.01, min(resend, end) - now))
            try:
                msg = sock.recv(65535).decode(errors="replace")
            except socket.timeout:
                continue
            if not re.search(rf"\r\nCSeq:\s*{cseq[0]}\s+REGISTER\r\n", msg, re.I):
                continue  # a late answer to an earlier request
            if not msg.startswith("SIP/2.0 1"):
                return msg

    first = transact()
    if first is None:
        print("timeout waiting for the first response")
        return 2
    print(first.split("\r\n", 1)[0])
    chal = [c for c in parse_challenges(first) if c.get("algorithm", "MD5").upper() == a.algorithm.upper()]
    if not first.startswith("SIP/2.0 401") or not chal:
        print(f"no 401 challenge with algorithm={a.algorithm}")
        return 2
    c = chal[0]
    cnonce, nc = os.urandom(8).hex(), "00000001"
    resp = digest_response(a.algorithm, user, c["realm"], a.password, "REGISTER", ruri, c["nonce"], nc, cnonce)
    auth = (f'Digest username="{user}", realm="{c["realm"]}", nonce="{c["nonce"]}", uri="{ruri}", '
            f'response="{resp}", algorithm={a.algorithm}, qop=auth, nc={nc}, cnonce="{cnonce}"')
    if "opaque" in c:
        auth += f', opaque="{c["opaque"]}"'
    final = transact(auth)
    if final is None:
        print("timeout waiting for the response to the authenticated REGISTER")
        return 2
    print(final.split("\r\n", 1)[0])
    if a.replay:
        final = transact(auth)
        if final is None:
            print("timeout waiting for the response to the replayed REGISTER")
            return 2
        print(final.split("\r\n", 1)[0])
    return 0 if final.split(" ", 2)[1] == a.expect else 1


if __name__ == "__main__":
    sys.exit(main())
