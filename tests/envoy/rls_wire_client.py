#!/usr/bin/python3
"""Envoy's rate limit service (RLS v3) on a real quotad node, called the way
Envoy calls it, from Envoy's field numbers alone: this client encodes and
decodes the protobuf wire format by hand (no code generated from quotad's
proto/envoy), over Debian's python3-grpcio.

  rls_wire_client.py QUOTAD_BINARY POLICY_FILE

Starts the node on 127.0.0.1 (ports chosen by the kernel, a temporary data
directory), runs the checks, stops it. Prints "N passed, M failed"; exits 1
on any failure. Every wait has a deadline.
"""
import os
import re
import sys

import grpc

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testing"))
from quotad_node import QuotadNode  # noqa: E402

METHOD = "/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit"
OK, OVER_LIMIT = 1, 2
UNIT_DAY = 4


# --- protobuf wire format (varint and length-delimited fields only) ---
def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(num, value):
    if isinstance(value, int):
        return varint(num << 3) + varint(value)
    data = value.encode() if isinstance(value, str) else value
    return varint(num << 3 | 2) + varint(len(data)) + data


def parse(data):
    """{field number: [int or bytes, ...]}"""
    out, i = {}, 0
    while i < len(data):
        key, i = read_varint(data, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            value, i = read_varint(data, i)
        elif wire == 2:
            n, i = read_varint(data, i)
            value, i = data[i:i + n], i + n
        else:
            raise ValueError(f"unexpected wire type {wire} for field {num}")
        out.setdefault(num, []).append(value)
    return out


def read_varint(data, i):
    shift = result = 0
    while True:
        b = data[i]
        i += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return result, i


# RateLimitRequest: domain = 1, descriptors = 2, hits_addend = 3.
# RateLimitDescriptor: entries = 1; Entry: key = 1, value = 2.
def request(domain, descriptors, hits_addend=0):
    body = field(1, domain)
    for entries in descriptors:
        d = b"".join(field(1, field(1, k) + field(2, v)) for k, v in entries)
        body += field(2, d)
    if hits_addend:
        body += field(3, hits_addend)
    return body


# RateLimitResponse: overall_code = 1, statuses = 2, response_headers_to_add = 3.
# DescriptorStatus: code = 1, current_limit = 2, limit_remaining = 3,
#   duration_until_reset = 4 (Duration: seconds = 1).
# RateLimit: requests_per_unit = 1, unit = 2, name = 3.  HeaderValue: key = 1, value = 2.
def response(data):
    f = parse(data)
    statuses = []
    for s in f.get(2, []):
        sf = parse(s)
        limit = parse(sf.get(2, [b""])[0])
        reset = parse(sf.get(4, [b""])[0])
        statuses.append({
            "code": sf.get(1, [0])[0],
            "name": limit.get(3, [b""])[0].decode(),
            "requests_per_unit": limit.get(1, [0])[0],
            "unit": limit.get(2, [0])[0],
            "limit_remaining": sf.get(3, [0])[0],
            "reset_seconds": reset.get(1, [0])[0],
        })
    headers = {}
    for h in f.get(3, []):
        hf = parse(h)
        headers[hf[1][0].decode()] = hf.get(2, [b""])[0].decode()
    return {"overall_code": f.get(1, [0])[0], "statuses": statuses, "headers": headers}


class Checks:
    def __init__(self):
        self.passed = self.failed = 0

    def expect(self, ok, what):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAILED: {what}")


def run_checks(node, checks):
    """The checks against one node; `checks` collects the verdicts."""
    channel = grpc.insecure_channel(node.target)
    call = channel.unary_unary(METHOD, request_serializer=lambda b: b,
                               response_deserializer=lambda b: b)
    ask = lambda body: response(call(body, timeout=10))
    who = [("remote_address", "203.0.113.5"), ("user_agent", "ndt7-js/0.0.6")]

    answers = [ask(request("ndt", [who, [("generic_key", "ndt7")]])) for _ in range(41)]
    checks.expect(all(a["overall_code"] == OK for a in answers[:40]), "40 admitted")
    over = answers[40]
    checks.expect(over["overall_code"] == OVER_LIMIT, f"41st over limit: {over}")
    checks.expect(len(over["statuses"]) == 2, "one status per descriptor")
    s = over["statuses"][0]
    checks.expect(s["code"] == OVER_LIMIT and s["name"] == "client_daily" and
                  s["requests_per_unit"] == 40 and s["unit"] == UNIT_DAY and
                  s["limit_remaining"] == 0 and s["reset_seconds"] > 0, f"status {s}")
    checks.expect(int(over["headers"].get("retry-after", "0")) >= 1,
                  f"retry-after: {over['headers']}")
    checks.expect(over["headers"].get("x-quotad-reason") == "REASON_DAILY_LIMIT",
                  "x-quotad-reason")

    other = [("remote_address", "203.0.113.6"), ("user_agent", "ndt7-js/0.0.6")]
    three = ask(request("ndt", [other], hits_addend=3))
    checks.expect(three["overall_code"] == OK and
                  three["headers"].get("ratelimit-remaining") == "37",
                  f"hits_addend 3 is a cost of 3: {three['headers']}")

    try:
        call(request("ndt", [[("user_agent", "x")]]), timeout=10)
        checks.expect(False, "a request without remote_address is refused")
    except grpc.RpcError as e:
        checks.expect(e.code() == grpc.StatusCode.INVALID_ARGUMENT and
                      "remote_address" in e.details(), f"refused: {e.code()} {e.details()}")

    metrics = node.scrape()
    def count(code):
        """quotad_rpc_duration_seconds_count of ShouldRateLimit with `code`."""
        for line in metrics.splitlines():
            labels = set(re.findall(r'\w+="[^"]*"', line.split(" ")[0]))
            if (line.startswith("quotad_rpc_duration_seconds_count{") and
                    {f'code="{code}"', 'rpc="ShouldRateLimit"', 'node="rls-test"',
                     'region="test"'} <= labels):
                return float(line.split(" ")[-1])
        return -1
    checks.expect(count("OK") == 42, f"metrics count 42 OK calls: {count('OK')}")
    checks.expect(count("INVALID_ARGUMENT") == 1, "metrics count the refused call")


def main():
    binary, policy = sys.argv[1], sys.argv[2]
    checks = Checks()
    node = None
    try:
        node = QuotadNode(binary, policy, node_id="rls-test", region="test")
        run_checks(node, checks)
    except Exception as e:  # a broken node or wire format is a failure, not a crash
        checks.expect(False, f"{type(e).__name__}: {e}")
    finally:
        if node is not None:
            node.stop()
            checks.expect(node.stopped_cleanly, "quotad did not stop within 20 s of SIGTERM")
            if checks.failed:
                print(node.log_tail())
            node.close()
    print(f"{checks.passed} passed, {checks.failed} failed")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
