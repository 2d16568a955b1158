#!/usr/bin/env python3
"""A partner's call over mutual TLS, then a BYE for that call from another partner's connection.

Used by policy_test.sh: sipedge must refuse the second partner's BYE (403, decision rule
dialog.identity) and accept the real partner's BYE (200) afterwards.

Usage: dialog_spoof.py HOST PORT CA CERT KEY OTHER_CERT OTHER_KEY FROM_URI TO_URI
Prints one line per step ("invite 200", "spoofed-bye 403", "bye 200"); exit 0 when all three
statuses are what sipedge must answer, 1 otherwise. Every read has a 5 s timeout.
"""
import random
import re
import socket
import ssl
import sys


def connect(host, port, ca, cert, key):
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca)
    ctx.check_hostname = False  # the edge's certificate names 127.0.0.1; the chain is checked
    ctx.load_cert_chain(cert, key)
    raw = socket.create_connection((host, port), timeout=5)
    tls = ctx.wrap_socket(raw)
    tls.settimeout(5)
    return tls


class Reader:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def message(self):
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.buf += chunk
        head, rest = self.buf.split(b"\r\n\r\n", 1)
        m = re.search(rb"(?im)^(?:content-length|l)\s*:\s*(\d+)", head)
        length = int(m.group(1)) if m else 0
        while len(rest) < length:
            rest += self.sock.recv(65536)
        self.buf = rest[length:]
        return head.decode("latin-1")

    def final_response(self, method):
        while True:
            head = self.message()
            first = head.split("\r\n", 1)[0]
            if not first.startswith("SIP/2.0 "):
                continue  # a request from sipedge (none expected here)
            status = int(first.split()[1])
            if status >= 200 and re.search(r"(?im)^cseq:\s*\d+\s+" + method, head):
                return status, head


def header(head, name):
    m = re.search(r"(?im)^" + name + r"\s*:\s*(.*)$", head)
    return m.group(1).strip() if m else ""


def request(method, ruri, local, from_uri, from_tag, to_uri, to_tag, call_id, cseq, body=""):
    branch = "z9hG4bK-spoof-%08x" % random.getrandbits(32)
    to = "<%s>" % to_uri + (";tag=%s" % to_tag if to_tag else "")
    lines = [
        "%s %s SIP/2.0" % (method, ruri),
        "Via: SIP/2.0/TLS %s:%d;branch=%s;rport" % (local[0], local[1], branch),
        "Max-Forwards: 70",
        "From: <%s>;tag=%s" % (from_uri, from_tag),
        "To: %s" % to,
        "Call-ID: %s" % call_id,
        "CSeq: %d %s" % (cseq, method),
        "Contact: <sip:spoof@%s:%d;transport=tls>" % (local[0], local[1]),
    ]
    if body:
        lines.append("Content-Type: application/sdp")
    lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def main():
    host, port, ca, cert, key, other_cert, other_key, from_uri, to_uri = sys.argv[1:10]
    port = int(port)
    sdp = "v=0\r\no=spoof 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0\r\n"
    call_id = "spoof-%08x@test" % random.getrandbits(32)
    from_tag = "ft%06x" % random.getrandbits(24)

    real = connect(host, port, ca, cert, key)
    local = real.getsockname()
    reader = Reader(real)
    real.sendall(request("INVITE", to_uri, local, from_uri, from_tag, to_uri, "", call_id, 1, sdp))
    status, head = reader.final_response("INVITE")
    print("invite", status)
    if status != 200:
        return 1
    to_tag = re.search(r";tag=([^;>\s]+)", header(head, "To") or header(head, "t")).group(1)
    contact = re.search(r"<([^>]+)>", header(head, "Contact") or header(head, "m")).group(1)
    real.sendall(request("ACK", contact, local, from_uri, from_tag, to_uri, to_tag, call_id, 1))

    other = connect(host, port, ca, other_cert, other_key)
    other_local = other.getsockname()
    other.sendall(request("BYE", contact, other_local, from_uri, from_tag, to_uri, to_tag,
                          call_id, 2))
    spoof_status, _ = Reader(other).final_response("BYE")
    print("spoofed-bye", spoof_status)

    real.sendall(request("BYE", contact, local, from_uri, from_tag, to_uri, to_tag, call_id, 3))
    bye_status, _ = reader.final_response("BYE")
    print("bye", bye_status)
    return 0 if (spoof_status == 403 and bye_status == 200) else 1


if __name__ == "__main__":
    sys.exit(main())
