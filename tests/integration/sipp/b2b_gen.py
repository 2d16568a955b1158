#!/usr/bin/env python3
"""Generates the b2b_*.xml SIPp scenarios of this folder (the B2BUA scenario set).

The scenarios repeat the same checks on every received message; writing them by hand invites
drift, so they are generated. Edit this file, run `python3 b2b_gen.py` in this folder, and
commit both. README.md (section "B2BUA scenarios") documents the scenarios and their keys.

How the checks work in SIPp 3.6.1 (which does NOT substitute -key values inside an <ereg>
regexp: regexp="[forbidden]" is compiled as the bracket expression [bdefinor]):
  - <assignstr> does substitute keywords, -key values and [$var]; <ereg search_in="var"> then
    applies a static regexp to the built string. glibc's POSIX ERE supports backreferences, so
      "EXPECTED`GOT" =~ ^(.*)`\\1$                      is an exact string equality, and
      "A|B|C`MESSAGE" =~ ^([^`]*\\|)?([^|`]+)(\\|[^`]*)?`.*\\2
    finds any of the literal substrings A, B, C in MESSAGE (the forbidden-text leak check).
  - [last_message] is of no use in a <recv>'s actions (SIPp updates it after them), so the
    message is copied with <ereg regexp="^.*$" search_in="msg">.
  - A failed check_it / check_it_inverse marks the call failed (exit code 1) but SIPp goes on
    with the scenario, so the peer usually completes; both sides' results count.
"""

import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))

# ------------------------------------------------------------------------------------------------
# bodies (SIPp sends each line of a body followed by CRLF)

SDP_OFFER = [
    "v=0", "o=b2btest 1001 1 IN IP4 127.0.0.1", "s=b2b offer", "c=IN IP4 127.0.0.1", "t=0 0",
    "m=audio 49170 RTP/AVP 0 8 101", "a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000",
    "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-15", "a=sendrecv"]
SDP_ANSWER = [
    "v=0", "o=b2btest 2001 1 IN IP4 127.0.0.1", "s=b2b answer", "c=IN IP4 127.0.0.1", "t=0 0",
    "m=audio 49180 RTP/AVP 0 101", "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-15", "a=sendrecv"]
# re-INVITE / UPDATE offers and answers (hold / resume style, new o= versions)
SDP_REOFFER_CALLER = [
    "v=0", "o=b2btest 1001 2 IN IP4 127.0.0.1", "s=b2b offer", "c=IN IP4 127.0.0.1", "t=0 0",
    "m=audio 49170 RTP/AVP 0 101", "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:101 telephone-event/8000", "a=sendonly"]
SDP_REANSWER_CALLEE = [
    "v=0", "o=b2btest 2001 2 IN IP4 127.0.0.1", "s=b2b answer", "c=IN IP4 127.0.0.1", "t=0 0",
    "m=audio 49180 RTP/AVP 0 101", "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:101 telephone-event/8000", "a=recvonly"]
SDP_REOFFER_CALLEE = [
    "v=0", "o=b2btest 2001 3 IN IP4 127.0.0.1", "s=b2b answer", "c=IN IP4 127.0.0.1", "t=0 0",
    "m=audio 49182 RTP/AVP 0", "a=rtpmap:0 PCMU/8000", "a=sendonly"]
SDP_REANSWER_CALLER = [
    "v=0", "o=b2btest 1001 3 IN IP4 127.0.0.1", "s=b2b offer", "c=IN IP4 127.0.0.1", "t=0 0",
    "m=audio 49172 RTP/AVP 0", "a=rtpmap:0 PCMU/8000", "a=recvonly"]
TEXT_MESSAGE = ["Hello from the sipedge b2b scenarios: MESSAGE body, line 1.",
                "Line 2 keeps punctuation & symbols: 1+1=2 (ok)? {x} <y> $z ~!"]
INFO_BODY = ["Signal=5", "Duration=160"]
SIPFRAG_200 = ["SIP/2.0 200 OK"]
PIDF_OPEN = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="pres:b2b@test.invalid">',
    '<tuple id="t1"><status><basic>open</basic></status></tuple>',
    '</presence>']


def body_regexp(lines):
    """ERE matching, in the whole message, exactly this body after the header/body separator.

    Group 1 captures the 2 control characters that end the last header line (CRLF); the empty
    line and every body line must end with the same 2 bytes, and nothing may follow."""
    esc = [re.sub(r'([.^$*+?()\[\]{}|\\])', r'\\\1', line) for line in lines]
    return "([[:cntrl:]]{2})\\1" + "\\1".join(esc) + "\\1$"


def xml_attr(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def body_text(lines):
    return "\n".join("      " + line for line in lines) + "\n"


# ------------------------------------------------------------------------------------------------
# scenario builder

class Scen:
    def __init__(self, name, role, doc, proxied=False):
        # proxied: this side sits behind a record-routing proxy ([proxy_host], e.g. Kamailio)
        # between it and sipedge: the variant is written as NAME_proxied.xml (only if some check
        # differs from the strict one, see `differs`), with PROXIED_DOC appended to its header.
        if proxied:
            name, doc = name + "_proxied", doc + PROXIED_DOC
        self.name, self.role, self.doc = name, role, doc   # role: "uac" (caller) or "uas"
        self.proxied = proxied
        self.differs = False   # a proxied check or header was generated
        self.items = []
        self.vars = set()
        self.n = 0
        self.index = 0   # message index (labels do not count) for [branch-N]

    def var(self, stem):
        self.n += 1
        v = "%s%d" % (stem, self.n)
        self.vars.add(v)
        return v

    def named(self, v):
        self.vars.add(v)
        return v

    # ---- actions ------------------------------------------------------------------------------

    def a_leak(self):
        """Every received message: none of the '|'-separated literals of [forbidden] in it."""
        m, mf, leak = self.var("msg"), self.var("msgf"), self.var("leak")
        return [
            '<ereg regexp="^.*$" search_in="msg" check_it="true" assign_to="%s"/>' % m,
            '<assignstr assign_to="%s" value="[forbidden]`[$%s]"/>' % (mf, m),
            # a backslash means a regex was passed: the alternatives are literal strings here
            # (SIPp turns a doubled backslash into one in attributes: [\\] means backslash)
            '<ereg regexp="^[^`]*[\\][^`]*`" search_in="var" variable="%s" check_it_inverse="true"'
            ' assign_to="%s"/>' % (mf, self.var("badpattern")),
            '<ereg regexp="^([^`]*\\|)?([^|`]+)(\\|[^`]*)?`.*\\2" search_in="var" variable="%s"'
            ' check_it_inverse="true" assign_to="%s"/>' % (mf, leak),
        ]

    def a_eq(self, expected, got):
        """Exact equality of two SIPp strings (keywords, [$var], -key values)."""
        c = self.var("cmp")
        return [
            '<assignstr assign_to="%s" value="%s`%s"/>' % (c, expected, got),
            '<ereg regexp="^(.*)`\\1$" search_in="var" variable="%s" check_it="true"'
            ' assign_to="%s"/>' % (c, self.var("eq")),
        ]

    def a_via(self, host=None, rr=False):
        """Exactly one Via header with one value, no Record-Route; its host = host.
        Proxied (see a_via_proxied): the proxy's Via above sipedge's on requests from the other
        side (host given), and the proxy's Record-Route where rr (dialog-creating messages)."""
        if self.proxied and (host or rr):
            return self.a_via_proxied(host, rr)
        out = [
            '<ereg regexp="[[:cntrl:]]([Vv][Ii][Aa]|[Vv])[[:space:]]*:([^[:cntrl:]]*,|.*'
            '[[:cntrl:]]([Vv][Ii][Aa]|[Vv])[[:space:]]*:)" search_in="msg"'
            ' check_it_inverse="true" assign_to="%s"/>' % self.var("via2"),
            '<ereg regexp="[[:cntrl:]][Rr][Ee][Cc][Oo][Rr][Dd]-[Rr][Oo][Uu][Tt][Ee][[:space:]]*:"'
            ' search_in="msg" check_it_inverse="true" assign_to="%s"/>' % self.var("rr"),
        ]
        if host:
            j, h = self.var("x"), self.var("viahost")
            out.append('<ereg regexp="SIP/2\\.0/[A-Za-z]+[[:space:]]+([^:;[:space:]]+)"'
                       ' search_in="hdr" header="Via:" check_it="true" assign_to="%s,%s"/>' % (j, h))
            out += self.a_eq(host, "[$%s]" % h)
        return out

    def a_via_proxied(self, host, rr):
        """Behind a record-routing proxy. host (a request from the other side, relayed by the
        proxy): exactly two Via headers, each with one value, adjacent: the proxy's ([proxy_host])
        on top, then the one with host `host` (sipedge's); no Route header left (the proxy
        consumed its own). Otherwise exactly one Via, as in strict mode. rr: exactly one
        Record-Route value, a URI with host [proxy_host]; otherwise no Record-Route."""
        self.differs = True
        v = "[[:cntrl:]]([Vv][Ii][Aa]|[Vv])[[:space:]]*:[[:space:]]*SIP/2\\.0/[A-Za-z]+[[:space:]]+"
        out = []
        if host:
            j1, j2, j3, ph, h = (self.var("x"), self.var("x"), self.var("x"),
                                 self.var("proxyvia"), self.var("viahost"))
            out += [
                # no Via with two values, no third Via header
                '<ereg regexp="[[:cntrl:]]([Vv][Ii][Aa]|[Vv])[[:space:]]*:[^[:cntrl:]]*,|'
                '([[:cntrl:]]([Vv][Ii][Aa]|[Vv])[[:space:]]*:.*){3}" search_in="msg"'
                ' check_it_inverse="true" assign_to="%s"/>' % self.var("via3"),
                '<ereg regexp="%s([^:;,[:space:]]+)[^,[:cntrl:]]*[[:cntrl:]]?%s([^:;,[:space:]]+)"'
                ' search_in="msg" check_it="true" assign_to="%s,%s,%s,%s,%s"/>'
                % (v, v, j1, j2, ph, j3, h),
                '<ereg regexp="[[:cntrl:]][Rr][Oo][Uu][Tt][Ee][[:space:]]*:" search_in="msg"'
                ' check_it_inverse="true" assign_to="%s"/>' % self.var("route"),
            ]
            out += self.a_eq("[proxy_host]", "[$%s]" % ph) + self.a_eq(host, "[$%s]" % h)
        else:
            out.append(
                '<ereg regexp="[[:cntrl:]]([Vv][Ii][Aa]|[Vv])[[:space:]]*:([^[:cntrl:]]*,|.*'
                '[[:cntrl:]]([Vv][Ii][Aa]|[Vv])[[:space:]]*:)" search_in="msg"'
                ' check_it_inverse="true" assign_to="%s"/>' % self.var("via2"))
        if rr:
            j, rh = self.var("x"), self.var("rrhost")
            out += [
                # one Record-Route header, one value
                '<ereg regexp="[[:cntrl:]][Rr][Ee][Cc][Oo][Rr][Dd]-[Rr][Oo][Uu][Tt][Ee][[:space:]]*:'
                '([^[:cntrl:]]*,|.*[[:cntrl:]][Rr][Ee][Cc][Oo][Rr][Dd]-[Rr][Oo][Uu][Tt][Ee]'
                '[[:space:]]*:)" search_in="msg" check_it_inverse="true" assign_to="%s"/>'
                % self.var("rr2"),
                '<ereg regexp="^[[:space:]]*&lt;sips?:([^:;&gt;[:space:]]+)[^&gt;]*;lr[^&gt;]*&gt;"'
                ' search_in="hdr" header="Record-Route:" check_it="true" assign_to="%s,%s"/>'
                % (j, rh),
            ] + self.a_eq("[proxy_host]", "[$%s]" % rh)
        else:
            out.append(
                '<ereg regexp="[[:cntrl:]][Rr][Ee][Cc][Oo][Rr][Dd]-[Rr][Oo][Uu][Tt][Ee][[:space:]]*:"'
                ' search_in="msg" check_it_inverse="true" assign_to="%s"/>' % self.var("rr"))
        return out

    def a_uri(self, header, expected):
        """URI of From:/To:/Refer-To: etc. (up to ;, > or space) equals expected."""
        u = self.var("uri")
        return ['<ereg regexp="sips?:[^>;[:space:]]*" search_in="hdr" header="%s:" check_it="true"'
                ' assign_to="%s"/>' % (header, u)] + self.a_eq(expected, "[$%s]" % u)

    def a_tag(self, header, expected=None, store=None):
        """tag parameter of From:/To: equals expected and/or is stored in variable store."""
        j, t = self.var("x"), (self.named(store) if store else self.var("tag"))
        out = ['<ereg regexp=";[[:space:]]*tag=([^;>[:space:]]+)" search_in="hdr" header="%s:"'
               ' check_it="true" assign_to="%s,%s"/>' % (header, j, t)]
        if expected:
            out += self.a_eq(expected, "[$%s]" % t)
        return out

    def a_ruri(self, expected):
        """Request-URI (up to the first ; or space: user, host, port) equals expected."""
        j, u = self.var("x"), self.var("ruri")
        return ['<ereg regexp="^[A-Z]+ (sips?:[^;>[:space:]]*)" search_in="msg" check_it="true"'
                ' assign_to="%s,%s"/>' % (j, u)] + self.a_eq(expected, "[$%s]" % u)

    def a_contact_host(self):
        j, k, h = self.var("x"), self.var("x"), self.var("contacthost")
        return ['<ereg regexp="sips?:([^@>;[:space:]]*@)?([^:;>[:space:]]+)" search_in="hdr"'
                ' header="Contact:" check_it="true" assign_to="%s,%s,%s"/>' % (j, k, h)] \
            + self.a_eq("[expected_contact_host]", "[$%s]" % h)

    def a_body(self, lines):
        return ['<ereg regexp="%s" search_in="msg" check_it="true" assign_to="%s"/>'
                % (xml_attr(body_regexp(lines)), self.var("body"))]

    def a_no_body(self):
        return ['<ereg regexp="[[:cntrl:]]{4}$" search_in="msg" check_it="true" assign_to="%s"/>'
                % self.var("nobody")]

    def a_save_request(self, prefix):
        """Saves Via, From, To, CSeq of the received request as $<prefix>_via etc., so that the
        response can be sent after another message came in ([last_*] would be that one's)."""
        out = []
        for h in ("Via", "From", "To", "CSeq"):
            out.append('<ereg regexp="^[[:space:]]*(.*)$" search_in="hdr" header="%s:"'
                       ' check_it="true" assign_to="%s,%s"/>'
                       % (h, self.var("x"), self.named("%s_%s" % (prefix, h.lower()))))
        return out

    def a_store_cseq(self, store):
        return ['<ereg regexp="[0-9]+" search_in="hdr" header="CSeq:" check_it="true"'
                ' assign_to="%s"/>' % self.named(store)]

    # ---- what a side checks on what it receives ------------------------------------------------
    # caller side (uac): local URI [from_uri], remote URI [to_uri], own tag [leg]-[call_number]-[pid],
    #   remote tag stored in $rtag once known.
    # callee side (uas): local URI = $my_uri (To URI of the initial request), remote URI $peer_uri,
    #   remote tag $peer_tag, own tag [leg]-[call_number]-[pid].

    OWN_TAG = "[leg]-[call_number]-[pid]"
    OWN_CONTACT_URI = "sip:[leg]@[local_ip]:[local_port]"

    def chk_uac_response(self, contact=False, body=None, no_body=False, store_rtag=False,
                         rtag_known=True, rr=False):
        """A response to a request the caller sent. rr: it creates the dialog (proxied: it must
        carry the proxy's Record-Route)."""
        a = self.a_tag("To", store="rtag") if store_rtag else []
        a += self.a_leak() + self.a_via(rr=rr)
        a += self.a_uri("From", "[from_uri]") + self.a_tag("From", self.OWN_TAG)
        a += self.a_uri("To", "[to_uri]")
        if rtag_known and not store_rtag:
            a += self.a_tag("To", "[$rtag]")
        if contact:
            a += self.a_contact_host()
        if body:
            a += self.a_body(body)
        if no_body:
            a += self.a_no_body()
        return a

    def chk_uac_request(self, contact=False, body=None, rtag_known=True, store_rtag=False):
        """An in-dialog request the callee sent, as the caller receives it."""
        a = self.a_tag("From", store="rtag") if store_rtag else []
        a += self.a_leak() + self.a_via("[expected_via_host]")
        a += self.a_ruri(self.OWN_CONTACT_URI)
        a += self.a_uri("From", "[to_uri]")
        if rtag_known and not store_rtag:
            a += self.a_tag("From", "[$rtag]")
        a += self.a_uri("To", "[from_uri]") + self.a_tag("To", self.OWN_TAG)
        if contact:
            a += self.a_contact_host()
        if body:
            a += self.a_body(body)
        return a

    def chk_uas_initial(self, contact=True, body=None, cseq_store=None):
        """The out-of-dialog request that starts the call at the callee."""
        # captures first: a failed check skips the rest of the actions, and the flow needs these
        a = self.a_tag("From", store="peer_tag")
        a.append('<ereg regexp="sips?:[^>;[:space:]]*" search_in="hdr" header="From:"'
                 ' check_it="true" assign_to="%s"/>' % self.named("peer_uri"))
        a.append('<ereg regexp="sips?:[^>;[:space:]]*" search_in="hdr" header="To:"'
                 ' check_it="true" assign_to="%s"/>' % self.named("my_uri"))
        if cseq_store:
            a += self.a_store_cseq(cseq_store)
        # (proxied: dialog-creating requests, those with a Contact, carry the proxy's Record-Route)
        a += self.a_leak() + self.a_via("[expected_via_host]", rr=contact)
        a += self.a_ruri("[expected_ruri]")
        a += self.a_uri("From", "[expected_from]") + self.a_uri("To", "[expected_to]")
        # no To tag
        a.append('<ereg regexp=";[[:space:]]*tag=" search_in="hdr" header="To:"'
                 ' check_it_inverse="true" assign_to="%s"/>' % self.var("totag"))
        if contact:
            a += self.a_contact_host()
        if body:
            a += self.a_body(body)
        return a

    def chk_uas_request(self, contact=False, body=None, ruri=True, early=False):
        """An in-dialog request from the caller (ACK, BYE, re-INVITE...) at the callee.
        early: the callee has sent no tagged response before? (never: CANCEL has its own)"""
        a = self.a_leak() + self.a_via("[expected_via_host]")
        if ruri:
            a += self.a_ruri(self.OWN_CONTACT_URI)
        a += self.a_uri("From", "[expected_from]") + self.a_tag("From", "[$peer_tag]")
        a += self.a_uri("To", "[expected_to]") + self.a_tag("To", self.OWN_TAG)
        if contact:
            a += self.a_contact_host()
        if body:
            a += self.a_body(body)
        return a

    def chk_uas_cancel(self):
        a = self.a_leak() + self.a_via("[expected_via_host]")
        a += self.a_ruri("[expected_ruri]")
        a += self.a_uri("From", "[expected_from]") + self.a_tag("From", "[$peer_tag]")
        a += self.a_uri("To", "[expected_to]")
        return a

    def chk_uas_response(self, contact=False, body=None):
        """A response to a request the callee sent."""
        a = self.a_leak() + self.a_via()
        a += self.a_uri("From", "[$my_uri]") + self.a_tag("From", self.OWN_TAG)
        a += self.a_uri("To", "[$peer_uri]") + self.a_tag("To", "[$peer_tag]")
        if contact:
            a += self.a_contact_host()
        if body:
            a += self.a_body(body)
        return a

    # ---- elements --------------------------------------------------------------------------------

    def comment(self, text):
        self.items.append("  <!-- %s -->" % text)

    def label(self, name):
        self.items.append('  <label id="%s"/>' % name)

    def send(self, text, retrans=False, start_txn=None, ack_txn=None, next=None):
        attrs = ""
        if retrans:
            attrs += ' retrans="500"'
        if start_txn:
            attrs += ' start_txn="%s"' % start_txn
        if ack_txn:
            attrs += ' ack_txn="%s"' % ack_txn
        if next:
            attrs += ' next="%s"' % next
        lines = text.strip("\n").split("\n")
        body = "\n".join(("      " + l) if l else "" for l in lines)
        self.items.append("  <!-- %d -->\n  <send%s>\n    <![CDATA[\n\n%s\n\n    ]]>\n  </send>"
                          % (self.index, attrs, body))
        self.index += 1

    def recv(self, what, actions, optional=False, next=None, txn=None, rrs=False, timeout=True,
             test=None):
        attrs = what
        if optional:
            attrs += ' optional="true"'
        if txn:
            attrs += ' response_txn="%s"' % txn
        if rrs:
            attrs += ' rrs="true"'
        if next:
            attrs += ' next="%s"' % next
        if test:
            attrs += ' test="%s"' % test
        if timeout and not optional:
            attrs += ' timeout="15000"'
        acts = "\n".join("      " + a for a in actions)
        self.items.append("  <!-- %d -->\n  <recv %s>\n    <action>\n%s\n    </action>\n  </recv>"
                          % (self.index, attrs, acts))
        self.index += 1

    def pause(self, ms):
        self.items.append('  <!-- %d -->\n  <pause milliseconds="%d"/>' % (self.index, ms))
        self.index += 1

    def timewait(self, ms=2000):
        self.items.append('  <!-- %d -->\n  <timewait milliseconds="%d"/>' % (self.index, ms))
        self.index += 1

    def render(self):
        refs = ",".join(sorted(self.vars))
        return ('<?xml version="1.0" encoding="ISO-8859-1" ?>\n'
                '<!DOCTYPE scenario SYSTEM "sipp.dtd">\n'
                '<!-- GENERATED by b2b_gen.py: edit that file, not this one.\n%s\n-->\n'
                '<scenario name="%s">\n%s\n\n'
                '  <!-- every variable counts as used (SIPp rejects variables assigned but never'
                ' read) -->\n  <Reference variables="%s"/>\n</scenario>\n'
                % (self.doc.rstrip(), self.name, "\n\n".join(self.items), refs))


# ------------------------------------------------------------------------------------------------
# message templates

UAC_CONTACT = "Contact: <sip:[leg]@[local_ip]:[local_port];transport=[transport]>"
UAS_CONTACT = UAC_CONTACT


def uac_request(method, cseq, initial=False, body=None, ctype=None, extra=(), branch="[branch]",
                ruri=None, contact=True, rtag="[$rtag]"):
    """A request from the caller: out of dialog (initial) or in the dialog (next_url, routes)."""
    lines = ["%s %s SIP/2.0" % (method, ruri or ("[to_uri]" if initial else "[next_url]")),
             "Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=%s-[leg]" % branch]
    if not initial:
        lines.append("[routes]")
    lines += ["Max-Forwards: 70",
              "From: <[from_uri]>;tag=[leg]-[call_number]-[pid]",
              "To: <[to_uri]>" + ("" if initial else ";tag=%s" % rtag),
              "Call-ID: [call_id]",
              "CSeq: %s %s" % (cseq, method)]
    if contact:
        lines.append(UAC_CONTACT)
    lines += list(extra)
    lines.append("User-Agent: sipedge-b2b-it")
    lines += content(body, ctype)
    return "\n".join(lines) + "\n"


def uas_request(method, cseq, body=None, ctype=None, extra=(), contact=True):
    """An in-dialog request from the callee."""
    lines = ["%s [next_url] SIP/2.0" % method,
             "Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]-[leg]",
             "[routes]",
             "Max-Forwards: 70",
             "From: <[$my_uri]>;tag=[leg]-[call_number]-[pid]",
             "To: <[$peer_uri]>;tag=[$peer_tag]",
             "Call-ID: [call_id]",
             "CSeq: %s %s" % (cseq, method)]
    if contact:
        lines.append(UAS_CONTACT)
    lines += list(extra)
    lines.append("User-Agent: sipedge-b2b-it")
    lines += content(body, ctype)
    return "\n".join(lines) + "\n"


def content(body, ctype):
    if body is None:
        return ["Content-Length: 0"]
    return ["Content-Type: %s" % ctype, "Content-Length: [len]", ""] + list(body)


def response(status, tag=False, contact=False, body=None, ctype=None, extra=(), hdrs=None):
    """A response to the last received request ([last_*] headers)."""
    h = hdrs or {}
    lines = ["SIP/2.0 %s" % status,
             h.get("via", "[last_Via:]"),
             h.get("from", "[last_From:]"),
             h.get("to", "[last_To:]" + (";tag=[leg]-[call_number]-[pid]" if tag else "")),
             h.get("callid", "[last_Call-ID:]"),
             h.get("cseq", "[last_CSeq:]")]
    if contact:
        lines.append(UAS_CONTACT)
    lines += list(extra)
    lines += content(body, ctype)
    return "\n".join(lines) + "\n"


SDP = "application/sdp"


def saved_response(status, prefix, contact=False):
    """A response built from headers saved by a_save_request(prefix)."""
    return response(status, contact=contact, hdrs={
        "via": "Via: [$%s_via]" % prefix, "from": "From: [$%s_from]" % prefix,
        "to": "To: [$%s_to]" % prefix, "cseq": "CSeq: [$%s_cseq]" % prefix})


# ------------------------------------------------------------------------------------------------
# building blocks

def uac_invite_until_confirmed(s, sdp_answer_in_200=True):
    """INVITE (offer) -> optional 100/180 -> 200 (answer) -> ACK."""
    s.send(uac_request("INVITE", 1, initial=True, body=SDP_OFFER, ctype=SDP), retrans=True,
           start_txn="invite")
    s.recv('response="100"', s.a_leak(), optional=True, txn="invite")
    s.recv('response="180"', s.chk_uac_response(rtag_known=False, rr=True), optional=True,
           txn="invite")
    s.recv('response="200"', s.chk_uac_response(contact=True, body=SDP_ANSWER, store_rtag=True,
                                                rr=True),
           txn="invite", rrs=True)
    s.send(uac_request("ACK", 1), ack_txn="invite")


def uas_answer_invite(s):
    """INVITE (offer checked) -> 180 -> 200 (answer, retransmitted until the ACK) -> ACK.
    Proxied: the 180 and 200 echo the INVITE's Record-Route (RFC 3261 12.1.1)."""
    s.recv('request="INVITE"', s.chk_uas_initial(body=SDP_OFFER), rrs=True)
    rr = ["[last_Record-Route:]"] if s.proxied else []
    s.send(response("180 Ringing", tag=True, contact=True, extra=rr))
    s.send(response("200 OK", tag=True, contact=True, body=SDP_ANSWER, ctype=SDP, extra=rr),
           retrans=True)
    s.recv('request="ACK"', s.chk_uas_request())


def uac_bye(s, cseq):
    s.send(uac_request("BYE", cseq, contact=False), retrans=True, start_txn="bye")
    s.recv('response="200"', s.chk_uac_response(), txn="bye")


def uas_recv_bye(s):
    s.recv('request="BYE"', s.chk_uas_request())
    s.send(response("200 OK"))


def uas_bye(s, cseq):
    s.send(uas_request("BYE", cseq, contact=False), retrans=True, start_txn="bye")
    s.recv('response="200"', s.chk_uas_response(), txn="bye")


def uac_recv_bye(s):
    s.recv('request="BYE"', s.chk_uac_request())
    s.send(response("200 OK"))


UAC_KEYS = """Keys (-key NAME VALUE), all required:
  leg                    marker put in this side's tags, branches and Contact user (e.g. pside)
  from_uri, to_uri       From URI; Request-URI and To URI of the initial request
  forbidden              '|'-separated LITERAL strings that no received message may contain
                         (not a regexp; a backslash in it fails the call)
  expected_contact_host  host of the Contact in 2xx/reliable 18x and in requests from the callee
  expected_via_host      host of the (single) Via of requests from the callee"""

UAC_KEYS_OPTIONS = """Keys (-key NAME VALUE), all required:
  leg                    marker put in this side's tag and branch (e.g. pside)
  from_uri, to_uri       From URI; Request-URI and To URI (e.g. sip:acme.test)
  forbidden              '|'-separated LITERAL strings that no received message may contain"""

UAS_KEYS = """Keys (-key NAME VALUE), all required:
  leg                    marker put in this side's tags, branches and Contact user (e.g. iside)
  forbidden              '|'-separated LITERAL strings that no received message may contain
  expected_ruri          Request-URI of the initial request/CANCEL, up to the first ';'
  expected_from, expected_to   From and To URIs of requests from the caller
  expected_contact_host  host of the Contact of INVITE/re-INVITE/UPDATE/SUBSCRIBE/REFER...
  expected_via_host      host of the single Via of every request from the caller"""

COMMON_UAC_CHECKS = """Every received message: no [forbidden] text. Every response: exactly one Via
(one value), no Record-Route, From URI = [from_uri] with this side's tag, To URI = [to_uri],
To tag = the one of the dialog's 2xx. Every request from the callee: one Via with host
[expected_via_host], no Record-Route, Request-URI = this side's Contact, From = [to_uri] with the
dialog's remote tag, To = [from_uri] with this side's tag."""

COMMON_UAS_CHECKS = """Every received message: no [forbidden] text. Initial request: Request-URI
[expected_ruri], From URI [expected_from], To URI [expected_to] without tag, one Via (host
[expected_via_host]), no Record-Route, Contact host [expected_contact_host] (INVITE, SUBSCRIBE,
REFER...). In-dialog requests: same Via/Record-Route/From/To checks plus the tags of the dialog and
Request-URI = this side's Contact. Responses to this side's requests: one Via, no Record-Route,
From/To = the dialog's URIs and tags."""


PROXIED_DOC = """

  PROXIED VARIANT: this side sits behind a record-routing proxy (e.g. Kamailio, address
  [proxy_host]) between it and sipedge, which legitimately changes what it sees: every request
  from the other side carries exactly two Via headers, adjacent, each with one value: the
  proxy's (host [proxy_host]) on top, then sipedge's (host [expected_via_host]), and no Route
  header (the proxy consumed its own); the dialog-creating messages (initial INVITE/SUBSCRIBE
  at the callee, 180/200 to the INVITE at the caller) carry exactly one Record-Route value, the
  proxy's (host [proxy_host], ;lr); everything else carries none; responses have one Via. The
  callee's 180/200 echo the INVITE's Record-Route. Every other check is the strict one.
  Extra key proxy_host: the proxy's address as it writes it in Via and Record-Route."""


def header_doc(text, flow, keys, checks):
    return "  %s\n  Flow: %s\n\n  %s\n\n  %s" % (text, flow, keys.replace("\n", "\n  "),
                                              checks.replace("\n", "\n  "))


# ------------------------------------------------------------------------------------------------
# scenarios

def basic(proxied=False):
    u = Scen("b2b_basic_uac", "uac", header_doc(
        "Basic call, caller hangs up (caller side).",
        "INVITE (SDP offer) -> [100] [180] 200 (SDP answer, checked byte for byte) -> ACK ->\n"
        "  100 ms -> BYE -> 200.", UAC_KEYS, COMMON_UAC_CHECKS), proxied=proxied)
    uac_invite_until_confirmed(u)
    u.pause(100)
    uac_bye(u, 2)

    s = Scen("b2b_basic_uas", "uas", header_doc(
        "Basic call, caller hangs up (callee side).",
        "INVITE (SDP offer checked byte for byte) -> 180 -> 200 (SDP answer) -> ACK -> BYE -> 200.",
        UAS_KEYS, COMMON_UAS_CHECKS), proxied=proxied)
    uas_answer_invite(s)
    uas_recv_bye(s)
    s.timewait(2000)
    return [u, s]


def callee_bye(proxied=False):
    u = Scen("b2b_callee_bye_uac", "uac", header_doc(
        "Basic call, callee hangs up (caller side).",
        "INVITE -> [100] [180] 200 -> ACK -> BYE from the callee -> 200.",
        UAC_KEYS, COMMON_UAC_CHECKS), proxied=proxied)
    uac_invite_until_confirmed(u)
    uac_recv_bye(u)
    u.timewait(2000)

    s = Scen("b2b_callee_bye_uas", "uas", header_doc(
        "Basic call, callee hangs up (callee side).",
        "INVITE -> 180 -> 200 -> ACK -> 100 ms -> BYE -> 200.", UAS_KEYS, COMMON_UAS_CHECKS), proxied=proxied)
    uas_answer_invite(s)
    s.pause(100)
    uas_bye(s, 1001)
    return [u, s]


def cancel():
    u = Scen("b2b_cancel_uac", "uac", header_doc(
        "CANCEL after the 180 (caller side).",
        "INVITE -> [100] 180 -> CANCEL -> 200 (CANCEL) and 487 (INVITE) in either order -> ACK.\n"
        "  A 200 for the INVITE fails the call (unexpected message).",
        UAC_KEYS, COMMON_UAC_CHECKS))
    u.send(uac_request("INVITE", 1, initial=True, body=SDP_OFFER, ctype=SDP), retrans=True,
           start_txn="invite")                                   # 0
    u.recv('response="100"', u.a_leak(), optional=True, txn="invite")            # 1
    u.recv('response="180"', u.chk_uac_response(rtag_known=False), txn="invite")  # 2
    # 3: CANCEL: INVITE's branch, Request-URI, From, To (no tag), CSeq number
    u.send(uac_request("CANCEL", 1, initial=True, branch="[branch-%d]" % u.index, contact=False),
           retrans=True, start_txn="cancel")
    # 200 (CANCEL) and 487 (INVITE) in either order; the ACK only after both, since a message
    # arriving while the call stands on a <send> would be unexpected
    u.recv('response="200"', u.chk_uac_response(rtag_known=False), optional=True, txn="cancel",
           next="cancel_ok_first")                                # 4
    u.recv('response="487"', u.chk_uac_response(rtag_known=False, store_rtag=True),
           txn="invite")                                          # 5
    u.recv('response="200"', u.chk_uac_response(rtag_known=False), txn="cancel")   # 6
    u.send(uac_request("ACK", 1, ruri="[to_uri]", branch="[branch-%d]" % u.index,
                       contact=False), ack_txn="invite", next="done")   # 7
    u.label("cancel_ok_first")
    u.recv('response="487"', u.chk_uac_response(rtag_known=False, store_rtag=True),
           txn="invite")                                          # 8
    u.send(uac_request("ACK", 1, ruri="[to_uri]", branch="[branch-%d]" % u.index,
                       contact=False), ack_txn="invite")         # 9
    u.label("done")
    u.timewait(1000)

    s = Scen("b2b_cancel_uas", "uas", header_doc(
        "CANCEL after the 180 (callee side).",
        "INVITE -> 180 -> (waits up to 15 s) CANCEL -> 200 (CANCEL) -> 487 (INVITE) -> ACK.",
        UAS_KEYS, COMMON_UAS_CHECKS + "\nCANCEL: Request-URI [expected_ruri], From tag of the INVITE."))
    br = '<ereg regexp=";[[:space:]]*branch=([^;,[:space:]]+)" search_in="hdr" header="Via:"' \
         ' check_it="true" assign_to="%s,%s"/>'
    s.recv('request="INVITE"', s.chk_uas_initial(body=SDP_OFFER, cseq_store="inv_cseq")
           + [br % (s.var("x"), s.named("inv_branch"))])
    s.send(response("180 Ringing", tag=True, contact=True))
    # the CANCEL's Via branch must be the INVITE's (RFC 3261 9.1)
    s.recv('request="CANCEL"', s.chk_uas_cancel() + [br % (s.var("x"), s.named("cancel_branch"))]
           + s.a_eq("[$inv_branch]", "[$cancel_branch]"))
    s.send(response("200 OK", tag=True))
    s.send(response("487 Request Terminated", tag=True, hdrs={"cseq": "CSeq: [$inv_cseq] INVITE"}),
           retrans=True)
    s.recv('request="ACK"', s.chk_uas_request(ruri=False))
    s.timewait(2000)
    return [u, s]


def reinvite_by_caller(proxied=False):
    u = Scen("b2b_reinvite_uac", "uac", header_doc(
        "re-INVITE from the caller (caller side).",
        "INVITE -> 200 -> ACK -> re-INVITE (new offer, a=sendonly) -> [100] 200 (answer) -> ACK\n"
        "  -> BYE -> 200.", UAC_KEYS, COMMON_UAC_CHECKS), proxied=proxied)
    uac_invite_until_confirmed(u)
    u.send(uac_request("INVITE", 2, body=SDP_REOFFER_CALLER, ctype=SDP), retrans=True,
           start_txn="reinvite")
    u.recv('response="100"', u.a_leak(), optional=True, txn="reinvite")
    u.recv('response="200"', u.chk_uac_response(contact=True, body=SDP_REANSWER_CALLEE),
           txn="reinvite")
    u.send(uac_request("ACK", 2), ack_txn="reinvite")
    u.pause(50)
    uac_bye(u, 3)

    s = Scen("b2b_reinvite_uas", "uas", header_doc(
        "re-INVITE from the caller (callee side).",
        "INVITE -> 180 -> 200 -> ACK -> re-INVITE (offer checked) -> 200 (answer) -> ACK -> BYE.",
        UAS_KEYS, COMMON_UAS_CHECKS), proxied=proxied)
    uas_answer_invite(s)
    s.recv('request="INVITE"', s.chk_uas_request(contact=True, body=SDP_REOFFER_CALLER))
    s.send(response("200 OK", contact=True, body=SDP_REANSWER_CALLEE, ctype=SDP), retrans=True)
    s.recv('request="ACK"', s.chk_uas_request())
    uas_recv_bye(s)
    s.timewait(2000)
    return [u, s]


def reinvite_by_callee(proxied=False):
    u = Scen("b2b_reinvite_callee_uac", "uac", header_doc(
        "re-INVITE from the callee (caller side).",
        "INVITE -> 200 -> ACK -> re-INVITE from the callee (offer checked) -> 200 (answer) ->\n"
        "  ACK -> BYE (caller) -> 200.", UAC_KEYS, COMMON_UAC_CHECKS), proxied=proxied)
    uac_invite_until_confirmed(u)
    u.recv('request="INVITE"', u.chk_uac_request(contact=True, body=SDP_REOFFER_CALLEE))
    u.send(response("200 OK", contact=True, body=SDP_REANSWER_CALLER, ctype=SDP), retrans=True)
    u.recv('request="ACK"', u.chk_uac_request())
    uac_bye(u, 2)

    s = Scen("b2b_reinvite_callee_uas", "uas", header_doc(
        "re-INVITE from the callee (callee side).",
        "INVITE -> 180 -> 200 -> ACK -> re-INVITE (new offer) -> [100] 200 (answer checked) ->\n"
        "  ACK -> BYE from the caller -> 200.", UAS_KEYS, COMMON_UAS_CHECKS), proxied=proxied)
    uas_answer_invite(s)
    s.pause(50)
    s.send(uas_request("INVITE", 1001, body=SDP_REOFFER_CALLEE, ctype=SDP), retrans=True,
           start_txn="reinvite")
    s.recv('response="100"', s.a_leak(), optional=True, txn="reinvite")
    s.recv('response="200"', s.chk_uas_response(contact=True, body=SDP_REANSWER_CALLER),
           txn="reinvite")
    s.send(uas_request("ACK", 1001), ack_txn="reinvite")
    uas_recv_bye(s)
    s.timewait(2000)
    return [u, s]


def update():
    u = Scen("b2b_update_uac", "uac", header_doc(
        "UPDATE in the confirmed dialog, both directions (caller side).",
        "INVITE -> 200 -> ACK -> UPDATE (offer) -> 200 (answer) -> UPDATE from the callee\n"
        "  (offer) -> 200 (answer) -> BYE -> 200.", UAC_KEYS, COMMON_UAC_CHECKS))
    uac_invite_until_confirmed(u)
    u.send(uac_request("UPDATE", 2, body=SDP_REOFFER_CALLER, ctype=SDP), retrans=True,
           start_txn="update")
    u.recv('response="200"', u.chk_uac_response(contact=True, body=SDP_REANSWER_CALLEE),
           txn="update")
    u.recv('request="UPDATE"', u.chk_uac_request(contact=True, body=SDP_REOFFER_CALLEE))
    u.send(response("200 OK", contact=True, body=SDP_REANSWER_CALLER, ctype=SDP))
    u.pause(50)
    uac_bye(u, 3)

    s = Scen("b2b_update_uas", "uas", header_doc(
        "UPDATE in the confirmed dialog, both directions (callee side).",
        "INVITE -> 180 -> 200 -> ACK -> UPDATE (offer checked) -> 200 (answer) -> UPDATE\n"
        "  (offer) -> 200 (answer checked) -> BYE from the caller -> 200.",
        UAS_KEYS, COMMON_UAS_CHECKS))
    uas_answer_invite(s)
    s.recv('request="UPDATE"', s.chk_uas_request(contact=True, body=SDP_REOFFER_CALLER))
    s.send(response("200 OK", contact=True, body=SDP_REANSWER_CALLEE, ctype=SDP))
    s.send(uas_request("UPDATE", 1001, body=SDP_REOFFER_CALLEE, ctype=SDP), retrans=True,
           start_txn="update")
    s.recv('response="200"', s.chk_uas_response(contact=True, body=SDP_REANSWER_CALLER),
           txn="update")
    uas_recv_bye(s)
    s.timewait(2000)
    return [u, s]


def prack():
    u = Scen("b2b_prack_uac", "uac", header_doc(
        "Reliable provisional response (RFC 3262) (caller side).",
        "INVITE (Supported: 100rel, offer) -> [100] 183 (Require: 100rel, RSeq, SDP answer\n"
        "  checked) -> PRACK (RAck: <RSeq> <INVITE CSeq> INVITE) -> 200 (PRACK) -> 200 (INVITE)\n"
        "  -> ACK -> BYE -> 200.\n"
        "  Extra key rack_cseq_offset: added to the CSeq number in RAck; 0, except to check that\n"
        "  the callee side notices a wrong RAck.", UAC_KEYS, COMMON_UAC_CHECKS))
    inv = uac_request("INVITE", 1, initial=True, body=SDP_OFFER, ctype=SDP,
                      extra=["Supported: 100rel"])
    u.send(inv, retrans=True, start_txn="invite")
    u.recv('response="100"', u.a_leak(), optional=True, txn="invite")
    acts = u.chk_uac_response(contact=True, body=SDP_ANSWER, store_rtag=True)
    j = u.var("x")
    acts += ['<ereg regexp="100rel" search_in="hdr" header="Require:" check_it="true"'
             ' assign_to="%s"/>' % u.var("req"),
             '<ereg regexp="^[[:space:]]*([0-9]+)[[:space:]]*$" search_in="hdr" header="RSeq:"'
             ' check_it="true" assign_to="%s,%s"/>' % (j, u.named("rseq")),
             '<assignstr assign_to="%s" value="[rack_cseq_offset]"/>' % u.named("rack_off"),
             '<todouble assign_to="%s" variable="rack_off"/>' % u.named("rack_d"),
             # this side's INVITE has CSeq 1; SIPp prints doubles as 2.000000: keep the digits
             '<add assign_to="rack_d" value="1"/>',
             '<assignstr assign_to="%s" value="[$rack_d]"/>' % u.named("rack_s"),
             '<ereg regexp="^[0-9]+" search_in="var" variable="rack_s" check_it="true"'
             ' assign_to="%s"/>' % u.named("rack_cseq")]
    u.recv('response="183"', acts, txn="invite", rrs=True)
    u.send(uac_request("PRACK", 2, extra=["RAck: [$rseq] [$rack_cseq] INVITE"], contact=False),
           retrans=True, start_txn="prack")
    u.recv('response="200"', u.chk_uac_response(), txn="prack")
    u.recv('response="200"', u.chk_uac_response(contact=True), txn="invite", rrs=True)
    u.send(uac_request("ACK", 1), ack_txn="invite")
    u.pause(50)
    uac_bye(u, 3)

    s = Scen("b2b_prack_uas", "uas", header_doc(
        "Reliable provisional response (RFC 3262) (callee side).",
        "INVITE (offer, Supported: 100rel checked; its CSeq number stored) -> 183 (Require: 100rel,\n"
        "  RSeq: 1, SDP answer; retransmitted until the PRACK) -> PRACK (RAck must be\n"
        "  '1 <CSeq number of the INVITE this side received> INVITE') -> 200 (PRACK) -> 200\n"
        "  (INVITE, headers saved from the INVITE) -> ACK -> BYE -> 200.",
        UAS_KEYS, COMMON_UAS_CHECKS))
    acts = s.chk_uas_initial(body=SDP_OFFER, cseq_store="inv_cseq")
    acts += ['<ereg regexp="100rel" search_in="hdr" header="Supported:" check_it="true"'
             ' assign_to="%s"/>' % s.var("sup"),
             '<ereg regexp="^[[:space:]]*(.*)$" search_in="hdr" header="Via:" check_it="true"'
             ' assign_to="%s,%s"/>' % (s.var("x"), s.named("inv_via")),
             '<ereg regexp="^[[:space:]]*(.*)$" search_in="hdr" header="From:" check_it="true"'
             ' assign_to="%s,%s"/>' % (s.var("x"), s.named("inv_from")),
             '<ereg regexp="^[[:space:]]*(.*)$" search_in="hdr" header="To:" check_it="true"'
             ' assign_to="%s,%s"/>' % (s.var("x"), s.named("inv_to"))]
    s.recv('request="INVITE"', acts, rrs=True)
    s.send(response("183 Session Progress", tag=True, contact=True, body=SDP_ANSWER, ctype=SDP,
                    extra=["Require: 100rel", "RSeq: 1"]), retrans=True)
    j, r1, r2 = s.var("x"), s.named("rack_rseq"), s.named("rack_cseq")
    acts = s.chk_uas_request(ruri=True)
    acts += ['<ereg regexp="^[[:space:]]*([0-9]+)[[:space:]]+([0-9]+)[[:space:]]+INVITE[[:space:]]*$"'
             ' search_in="hdr" header="RAck:" check_it="true" assign_to="%s,%s,%s"/>' % (j, r1, r2)]
    acts += s.a_eq("1 [$inv_cseq]", "[$rack_rseq] [$rack_cseq]")
    s.recv('request="PRACK"', acts)
    s.send(response("200 OK"))
    s.send(response("200 OK", contact=True, hdrs={
        "via": "Via: [$inv_via]", "from": "From: [$inv_from]",
        "to": "To: [$inv_to];tag=[leg]-[call_number]-[pid]",
        "cseq": "CSeq: [$inv_cseq] INVITE"}), retrans=True)
    s.recv('request="ACK"', s.chk_uas_request())
    uas_recv_bye(s)
    s.timewait(2000)
    return [u, s]


def info():
    u = Scen("b2b_info_uac", "uac", header_doc(
        "INFO in the confirmed dialog (caller side).",
        "INVITE -> 200 -> ACK -> INFO (application/dtmf-relay) -> 200 -> BYE -> 200.",
        UAC_KEYS, COMMON_UAC_CHECKS))
    uac_invite_until_confirmed(u)
    u.send(uac_request("INFO", 2, body=INFO_BODY, ctype="application/dtmf-relay"), retrans=True,
           start_txn="info")
    u.recv('response="200"', u.chk_uac_response(), txn="info")
    uac_bye(u, 3)

    s = Scen("b2b_info_uas", "uas", header_doc(
        "INFO in the confirmed dialog (callee side).",
        "INVITE -> 180 -> 200 -> ACK -> INFO (body checked byte for byte) -> 200 -> BYE -> 200.",
        UAS_KEYS, COMMON_UAS_CHECKS))
    uas_answer_invite(s)
    s.recv('request="INFO"', s.chk_uas_request(body=INFO_BODY))
    s.send(response("200 OK"))
    uas_recv_bye(s)
    s.timewait(2000)
    return [u, s]


def message(proxied=False):
    u = Scen("b2b_message_uac", "uac", header_doc(
        "MESSAGE out of dialog (caller side).",
        "MESSAGE (text/plain, 2 lines) -> 200 (or 202).", UAC_KEYS, COMMON_UAC_CHECKS), proxied=proxied)
    u.send(uac_request("MESSAGE", 1, initial=True, body=TEXT_MESSAGE, ctype="text/plain",
                       contact=False), retrans=True, start_txn="message")
    u.recv('response="202"', u.chk_uac_response(rtag_known=False), optional=True,
           txn="message", next="done")
    u.recv('response="200"', u.chk_uac_response(rtag_known=False), txn="message")
    u.label("done")

    s = Scen("b2b_message_uas", "uas", header_doc(
        "MESSAGE out of dialog (callee side).",
        "MESSAGE (text/plain body checked byte for byte) -> 200.",
        UAS_KEYS, COMMON_UAS_CHECKS + "\n(MESSAGE carries no Contact: no Contact check.)"), proxied=proxied)
    s.recv('request="MESSAGE"', s.chk_uas_initial(contact=False, body=TEXT_MESSAGE) + [
        '<ereg regexp="^[[:space:]]*text/plain" search_in="hdr" header="Content-Type:"'
        ' check_it="true" assign_to="%s"/>' % s.var("ctype")])
    s.send(response("200 OK", tag=True))
    s.timewait(2000)
    return [u, s]


def subscribe_pair():
    u = Scen("b2b_subscribe_uac", "uac", header_doc(
        "SUBSCRIBE/NOTIFY, Event: presence (subscriber side). Works with b2b_subscribe_uas.xml\n"
        "  (200 before the first NOTIFY) and b2b_subscribe_notify_first_uas.xml (NOTIFY first).",
        "SUBSCRIBE (Expires: 60) -> 200 and NOTIFY (Subscription-State: active, pidf body\n"
        "  checked) in either order, NOTIFY answered 200 -> 100 ms -> SUBSCRIBE (Expires: 0, in\n"
        "  the dialog) -> 200 and NOTIFY (terminated) in either order -> 200.\n"
        "  The dialog's remote tag is taken from whichever comes first; the other must carry the\n"
        "  same tag.", UAC_KEYS, COMMON_UAC_CHECKS))
    ev = ["Event: presence", "Accept: application/pidf+xml"]

    def notify_checks(state, first, save=False):
        a = u.a_save_request("notify") if save else []
        a += u.chk_uac_request(contact=True, body=PIDF_OPEN if state == "active" else None,
                               rtag_known=not first, store_rtag=first)
        a += ['<ereg regexp="^[[:space:]]*presence" search_in="hdr" header="Event:"'
              ' check_it="true" assign_to="%s"/>' % u.var("ev"),
              '<ereg regexp="^[[:space:]]*%s" search_in="hdr" header="Subscription-State:"'
              ' check_it="true" assign_to="%s"/>' % (state, u.var("ss"))]
        return a

    def sub_ok_checks(first):
        return u.chk_uac_response(contact=True, rtag_known=not first, store_rtag=first) + [
            '<ereg regexp="^[[:space:]]*[0-9]+" search_in="hdr" header="Expires:"'
            ' check_it="true" assign_to="%s"/>' % u.var("exp")]

    u.send(uac_request("SUBSCRIBE", 1, initial=True, extra=ev + ["Expires: 60"]), retrans=True,
           start_txn="sub")
    # NOTIFY and 200 in either order; a message that arrives while the call stands on a <send>
    # is unexpected, so the NOTIFY is answered only after both (from its saved headers)
    u.recv('request="NOTIFY"', notify_checks("active", True, save=True), optional=True,
           next="n1_first", rrs=True)
    u.recv('response="200"', sub_ok_checks(True), txn="sub", rrs=True)
    u.recv('request="NOTIFY"', notify_checks("active", False))
    u.send(response("200 OK"), next="unsub")
    u.label("n1_first")
    u.recv('response="200"', sub_ok_checks(False), txn="sub")
    u.send(saved_response("200 OK", "notify"))
    u.label("unsub")
    u.pause(100)
    u.send(uac_request("SUBSCRIBE", 2, extra=ev + ["Expires: 0"]), retrans=True,
           start_txn="unsub")
    u.recv('request="NOTIFY"', notify_checks("terminated", False, save=True), optional=True,
           next="n2_first")
    u.recv('response="200"', u.chk_uac_response(contact=True), txn="unsub")
    u.recv('request="NOTIFY"', notify_checks("terminated", False))
    u.send(response("200 OK"), next="done")
    u.label("n2_first")
    u.recv('response="200"', u.chk_uac_response(contact=True), txn="unsub")
    u.send(saved_response("200 OK", "notify"))
    u.label("done")
    u.timewait(2000)

    out = [u]
    for notify_first in (False, True):
        name = "b2b_subscribe_notify_first_uas" if notify_first else "b2b_subscribe_uas"
        s = Scen(name, "uas", header_doc(
            "SUBSCRIBE/NOTIFY, Event: presence (notifier side)%s." %
            (", NOTIFY sent BEFORE the 200 for the SUBSCRIBE" if notify_first else ""),
            ("SUBSCRIBE (Event: presence) -> NOTIFY (active, pidf) -> 200 (SUBSCRIBE) -> 200\n"
             "  (NOTIFY)" if notify_first else
             "SUBSCRIBE (Event: presence) -> 200 (Expires: 60) -> NOTIFY (active, pidf) -> 200")
            + " -> SUBSCRIBE (Expires: 0) -> 200 -> NOTIFY (terminated;\n"
              "  reason=timeout) -> 200.", UAS_KEYS, COMMON_UAS_CHECKS))
        acts = s.chk_uas_initial() + [
            '<ereg regexp="^[[:space:]]*presence" search_in="hdr" header="Event:" check_it="true"'
            ' assign_to="%s"/>' % s.var("ev")]
        s.recv('request="SUBSCRIBE"', acts, rrs=True)
        ok = response("200 OK", tag=True, contact=True,
                      extra=["Expires: 60"])
        notify = uas_request("NOTIFY", 1001, body=PIDF_OPEN, ctype="application/pidf+xml",
                             extra=["Event: presence", "Subscription-State: active;expires=60"])
        if notify_first:
            # no retrans on this NOTIFY: SIPp never runs a <send> that follows a <send retrans>
            # (it re-sends the NOTIFY for every SUBSCRIBE retransmission instead)
            s.send(notify, start_txn="notify1")
            s.send(ok)
        else:
            s.send(ok)
            s.pause(20)
            s.send(notify, retrans=True, start_txn="notify1")
        s.recv('response="200"', s.chk_uas_response(), txn="notify1")
        acts = s.chk_uas_request(contact=True) + [
            '<ereg regexp="^[[:space:]]*0[[:space:]]*$" search_in="hdr" header="Expires:"'
            ' check_it="true" assign_to="%s"/>' % s.var("exp0"),
            '<ereg regexp="^[[:space:]]*presence" search_in="hdr" header="Event:" check_it="true"'
            ' assign_to="%s"/>' % s.var("ev")]
        s.recv('request="SUBSCRIBE"', acts)
        s.send(response("200 OK", contact=True, extra=["Expires: 0"]))
        s.send(uas_request("NOTIFY", 1002, extra=[
            "Event: presence", "Subscription-State: terminated;reason=timeout"]),
            retrans=True, start_txn="notify2")
        s.recv('response="200"', s.chk_uas_response(), txn="notify2")
        s.timewait(2000)
        out.append(s)
    return out


def refer():
    u = Scen("b2b_refer_uac", "uac", header_doc(
        "REFER in a confirmed call (caller side, the transferor).",
        "INVITE -> 200 -> ACK -> REFER (Refer-To: <[refer_to]>) -> 202 and NOTIFY (Event: refer,\n"
        "  message/sipfrag 'SIP/2.0 200 OK', checked byte for byte) in either order, NOTIFY\n"
        "  answered 200 -> BYE -> 200.\n"
        "  Extra key refer_to: the Refer-To URI sent (e.g. sip:bob@acme.test).",
        UAC_KEYS, COMMON_UAC_CHECKS))
    uac_invite_until_confirmed(u)

    def notify_checks(save=False):
        return (u.a_save_request("notify") if save else []) + u.chk_uac_request(
            contact=True, body=SIPFRAG_200) + [
            '<ereg regexp="^[[:space:]]*refer" search_in="hdr" header="Event:" check_it="true"'
            ' assign_to="%s"/>' % u.var("ev"),
            '<ereg regexp="^[[:space:]]*message/sipfrag" search_in="hdr" header="Content-Type:"'
            ' check_it="true" assign_to="%s"/>' % u.var("ct")]

    u.send(uac_request("REFER", 2, extra=["Refer-To: <[refer_to]>"]), retrans=True,
           start_txn="refer")
    # 202 and NOTIFY in either order; the NOTIFY is answered only after both (see subscribe)
    u.recv('request="NOTIFY"', notify_checks(save=True), optional=True, next="notify_first")
    u.recv('response="202"', u.chk_uac_response(), txn="refer")
    u.recv('request="NOTIFY"', notify_checks())
    u.send(response("200 OK"), next="bye")
    u.label("notify_first")
    u.recv('response="202"', u.chk_uac_response(), txn="refer")
    u.send(saved_response("200 OK", "notify"))
    u.label("bye")
    u.pause(50)
    uac_bye(u, 3)

    s = Scen("b2b_refer_uas", "uas", header_doc(
        "REFER in a confirmed call (callee side, the transferee).",
        "INVITE -> 180 -> 200 -> ACK -> REFER (Refer-To URI must equal [expected_refer_to]) ->\n"
        "  202 -> NOTIFY (Event: refer, Subscription-State: terminated, message/sipfrag\n"
        "  'SIP/2.0 200 OK') -> 200 -> BYE from the caller -> 200.\n"
        "  Extra key expected_refer_to: e.g. sip:bob@nyc.acme.test.",
        UAS_KEYS, COMMON_UAS_CHECKS))
    uas_answer_invite(s)
    s.recv('request="REFER"', s.chk_uas_request(contact=True)
           + s.a_uri("Refer-To", "[expected_refer_to]"))
    s.send(response("202 Accepted", contact=True))
    s.send(uas_request("NOTIFY", 1001, body=SIPFRAG_200, ctype="message/sipfrag;version=2.0",
                       extra=["Event: refer", "Subscription-State: terminated;reason=noresource"]),
           retrans=True, start_txn="notify")
    s.recv('response="200"', s.chk_uas_response(), txn="notify")
    uas_recv_bye(s)
    s.timewait(2000)
    return [u, s]


def idle_check():
    """The idle check ([b2bua] idle_check): an in-dialog OPTIONS on both legs of an idle call.
    'alive': both sides answer 200 and the call goes on; 'gone': the callee answers 481 (it lost
    the call) and sipedge ends the call with a BYE to both sides."""
    u = Scen("b2b_idle_alive_uac", "uac", header_doc(
        "Idle check, both sides still have the call (caller side).",
        "INVITE -> [100] [180] 200 -> ACK -> OPTIONS from sipedge (in the dialog) -> 200 ->\n"
        "  500 ms (the call must go on: a BYE from sipedge fails it) -> BYE -> 200.",
        UAC_KEYS, COMMON_UAC_CHECKS))
    uac_invite_until_confirmed(u)
    u.recv('request="OPTIONS"', u.chk_uac_request())
    u.send(response("200 OK"))
    u.pause(500)
    uac_bye(u, 2)

    s = Scen("b2b_idle_alive_uas", "uas", header_doc(
        "Idle check, both sides still have the call (callee side).",
        "INVITE -> 180 -> 200 -> ACK -> OPTIONS from sipedge (in the dialog) -> 200 -> BYE -> 200.",
        UAS_KEYS, COMMON_UAS_CHECKS))
    uas_answer_invite(s)
    s.recv('request="OPTIONS"', s.chk_uas_request())
    s.send(response("200 OK"))
    uas_recv_bye(s)
    s.timewait(2000)

    u2 = Scen("b2b_idle_gone_uac", "uac", header_doc(
        "Idle check, the callee lost the call (caller side).",
        "INVITE -> [100] [180] 200 -> ACK -> OPTIONS from sipedge (in the dialog) -> 200 ->\n"
        "  BYE from sipedge (the callee answered its OPTIONS 481) -> 200.",
        UAC_KEYS, COMMON_UAC_CHECKS))
    uac_invite_until_confirmed(u2)
    u2.recv('request="OPTIONS"', u2.chk_uac_request())
    u2.send(response("200 OK"))
    uac_recv_bye(u2)
    u2.timewait(2000)

    s2 = Scen("b2b_idle_gone_uas", "uas", header_doc(
        "Idle check, the callee lost the call (callee side).",
        "INVITE -> 180 -> 200 -> ACK -> OPTIONS from sipedge (in the dialog) -> 481 ->\n"
        "  BYE from sipedge -> 481.",
        UAS_KEYS, COMMON_UAS_CHECKS))
    uas_answer_invite(s2)
    s2.recv('request="OPTIONS"', s2.chk_uas_request())
    s2.send(response("481 Call/Transaction Does Not Exist"))
    s2.recv('request="BYE"', s2.chk_uas_request())
    s2.send(response("481 Call/Transaction Does Not Exist"))
    s2.timewait(2000)
    return [u, s, u2, s2]


def options():
    u = Scen("b2b_options_uac", "uac", header_doc(
        "OPTIONS to the gateway itself (caller side only).",
        "OPTIONS [to_uri] (e.g. sip:acme.test, no user) -> 200.\n"
        "  Checks on the 200: no [forbidden] text, one Via, no Record-Route, From URI/tag and\n"
        "  To URI echoed, a To tag.", UAC_KEYS_OPTIONS, ""))
    u.send(uac_request("OPTIONS", 1, initial=True, extra=["Accept: application/sdp"]),
           retrans=True, start_txn="options")
    u.recv('response="200"', u.chk_uac_response(rtag_known=False, store_rtag=True),
           txn="options")
    return [u]


def main():
    scens = []
    for f in (basic, callee_bye, cancel, reinvite_by_caller, reinvite_by_callee, update, prack,
              info, message, subscribe_pair, refer, idle_check, options):
        scens += f()
    # the *_proxied.xml variants (b2bua_kamailio_test.sh): only those whose checks differ
    for f in (basic, callee_bye, reinvite_by_caller, reinvite_by_callee, message):
        scens += [s for s in f(proxied=True) if s.differs]
    for s in scens:
        path = os.path.join(HERE, s.name + ".xml")
        with open(path, "w") as fh:
            fh.write(s.render())
        print(path)


if __name__ == "__main__":
    main()
