#!/usr/bin/env python3
"""A hostile HTTP/1.x server for qualreport's tests (Python 3 stdlib only).

It speaks raw bytes over asyncio streams, so it can send anything: header
lines of 300 KB, NUL bytes, bare CRs, broken chunked encoding, gzip bombs,
lying Content-Lengths, 1xx storms, redirects to another host, Retry-After
values no client should honour, and answers that never come.

    server.py [--cases FILE] [--token T]
    server.py --list                      (case names, one a line)

Listens on 127.0.0.1 on a free port and prints its base URL on the first
line of stdout. A second listener on 127.0.0.2 (or, where that address
cannot be bound, another port of 127.0.0.1) plays "another host": every
redirect points there, so a request arriving on it means a redirect was
followed. /__stats (JSON) counts requests per tenant and case, requests
that reached the foreign host (and how many carried an Authorization
header), requests whose Host header was not the base URL's, and requests
without the expected bearer token.

--cases FILE is a JSON object {tenant-id: case-name}; a tenant not in it
gets the "ok" case. A case sees n, the number of the request for that
tenant (1 = first), so "first a 429, then an answer" is one case.
"""
import argparse
import asyncio
import contextvars
import gzip
import json
import re
import socket
import struct
import sys
import zlib

MIB = 1024 * 1024
ENTRY = (b'{"qualification":"Education","vettingStatus":"Approved",'
         b'"vettingCreatedDate":"2024-05-06T07:08:09Z"}')
OK_BODY = b'{"qualifications":[' + ENTRY + b']}'
STOLEN_BODY = b'[{"qualification":"Stolen","vettingStatus":"Approved"}]'
HTML_BODY = b'<html><body>moved</body></html>'

CASES = {}
# The request being answered: answer() echoes its MS-RequestId, as the API
# does (docs/partner-center-api.md section 3).
REQUEST_ID = contextvars.ContextVar('request_id', default=None)


def case(name, desc):
    def register(fn):
        CASES[name] = (fn, desc)
        return fn
    return register


def head(status=b'200 OK', headers=(), version=b'HTTP/1.1', rid=True):
    """A header section; it echoes the request's MS-RequestId unless
    rid is False."""
    out = version + b' ' + status + b'\r\n'
    for h in headers:
        out += h + b'\r\n'
    if rid and REQUEST_ID.get():
        out += b'MS-RequestId: ' + REQUEST_ID.get() + b'\r\n'
    return out + b'\r\n'


def answer(body=OK_BODY, status=b'200 OK', headers=(), version=b'HTTP/1.1',
           rid=True):
    hs = [b'Content-Type: application/json',
          b'Content-Length: %d' % len(body)] + list(headers)
    return head(status, hs, version, rid) + body


def padded(size):
    """Valid JSON of exactly size bytes: the answer, then spaces."""
    return OK_BODY + b' ' * (size - len(OK_BODY))


def bomb_gzip(size):
    return gzip.compress(OK_BODY + b' ' * (size - len(OK_BODY)), 9)


def deflate(data):
    return zlib.compress(data, 9)  # HTTP "deflate" is the zlib format


async def send(w, data, close=False):
    w.write(data)
    await w.drain()
    return not close


def reset(w):
    """Close with an RST instead of a FIN."""
    sock = w.get_extra_info('socket')
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                    struct.pack('ii', 1, 0))
    w.transport.abort()


async def hold(reader):
    """Never answer: wait until the client gives up and closes."""
    try:
        while await reader.read(65536):
            pass
    except ConnectionError:
        pass
    return False


# ---- controls -------------------------------------------------------------

@case('ok', 'a valid answer (control)')
async def c_ok(r, w, req, n):
    return await send(w, answer())


@case('gzip_ok', 'a valid gzip-encoded answer')
async def c_gzip_ok(r, w, req, n):
    return await send(w, answer(gzip.compress(OK_BODY),
                                headers=[b'Content-Encoding: gzip']))


@case('deflate_ok', 'a valid deflate-encoded answer')
async def c_deflate_ok(r, w, req, n):
    return await send(w, answer(deflate(OK_BODY),
                                headers=[b'Content-Encoding: deflate']))


@case('chunked_ok', 'a valid chunked answer, one byte per chunk at the end')
async def c_chunked_ok(r, w, req, n):
    body = b'%x\r\n%s\r\n' % (len(OK_BODY) - 2, OK_BODY[:-2])
    body += b'1\r\n]\r\n1\r\n}\r\n0\r\n\r\n'
    return await send(w, head(headers=[b'Transfer-Encoding: chunked']) + body)


@case('info_100', '100 Continue before the answer')
async def c_info_100(r, w, req, n):
    return await send(w, head(b'100 Continue') + answer())


@case('info_103', '103 Early Hints (with a Link header) before the answer')
async def c_info_103(r, w, req, n):
    return await send(w, head(b'103 Early Hints',
                              [b'Link: </s.css>; rel=preload']) + answer())


@case('info_many', '1000 interim 1xx responses before the answer')
async def c_info_many(r, w, req, n):
    return await send(w, head(b'100 Continue') * 1000 + answer())


@case('header_count_2000', '2000 small headers (about 50 KB): still an answer')
async def c_header_count_2000(r, w, req, n):
    return await send(w, answer(headers=[b'X-H-%05d: v' % i
                                         for i in range(2000)]))


@case('header_line_90k', 'one 90 KB header line: under the limit, an answer')
async def c_header_line_90k(r, w, req, n):
    return await send(w, answer(headers=[b'X-Big: ' + b'a' * 90000]))


@case('lf_only', 'bare LF line ends throughout: an answer')
async def c_lf_only(r, w, req, n):
    return await send(w, answer().replace(b'\r\n', b'\n'))


@case('header_bare_cr', 'a header value with a bare CR inside')
async def c_header_bare_cr(r, w, req, n):
    return await send(w, answer(headers=[b'X-CR: a\rb']))


@case('body_8mib', 'a body of exactly 8 MiB (valid JSON padded with spaces)')
async def c_body_8mib(r, w, req, n):
    return await send(w, answer(padded(8 * MIB)))


@case('gzip_8mib', 'gzip that decompresses to exactly 8 MiB')
async def c_gzip_8mib(r, w, req, n):
    return await send(w, answer(bomb_gzip(8 * MIB),
                                headers=[b'Content-Encoding: gzip']))


@case('retry_after_0', '429 with Retry-After: 0, then the answer')
async def c_ra_0(r, w, req, n):
    return await ra(w, n, b'0')


@case('retry_after_negative', '429 with Retry-After: -5, then the answer')
async def c_ra_neg(r, w, req, n):
    return await ra(w, n, b'-5')


@case('retry_after_fraction', '429 with Retry-After: 1.5, then the answer')
async def c_ra_frac(r, w, req, n):
    return await ra(w, n, b'1.5')


@case('retry_after_garbage', '429 with Retry-After: soon, then the answer')
async def c_ra_garbage(r, w, req, n):
    return await ra(w, n, b'soon, please')


@case('retry_after_past', '429 with Retry-After a date in 1994, then answer')
async def c_ra_past(r, w, req, n):
    return await ra(w, n, b'Sun, 06 Nov 1994 08:49:37 GMT')


@case('retry_after_small', '503 with Retry-After: 1, then the answer')
async def c_ra_small(r, w, req, n):
    return await ra(w, n, b'1', b'503 Service Unavailable')


async def ra(w, n, value, status=b'429 Too Many Requests'):
    if n == 1:
        return await send(w, answer(b'{"statusCode":429,"message":"Rate '
                                    b'limit is exceeded"}', status,
                                    [b'Retry-After: ' + value]))
    return await send(w, answer())


# ---- Retry-After no client should wait for ----------------------------------

@case('retry_after_huge', '429 with Retry-After: 999999999 (31 years)')
async def c_ra_huge(r, w, req, n):
    return await ra(w, n, b'999999999')


@case('retry_after_601', '429 with Retry-After: 601, just over the default')
async def c_ra_601(r, w, req, n):
    return await ra(w, n, b'601')


@case('retry_after_overflow', '429 with Retry-After: 10^30 (overflows int64)')
async def c_ra_overflow(r, w, req, n):
    return await ra(w, n, b'1' + b'0' * 30)


@case('retry_after_future', '429 with Retry-After an HTTP date in 2999')
async def c_ra_future(r, w, req, n):
    return await ra(w, n, b'Fri, 01 Jan 2999 00:00:00 GMT')


# ---- header section -------------------------------------------------------

@case('header_line_300k', 'a 300 KB header line')
async def c_header_line_300k(r, w, req, n):
    return await send(w, answer(headers=[b'X-Big: ' + b'a' * 300 * 1024]),
                      close=True)


@case('status_reason_200k', 'a status line with a 200 KB reason phrase')
async def c_status_reason_200k(r, w, req, n):
    return await send(w, answer(status=b'200 ' + b'O' * 200 * 1024),
                      close=True)


@case('header_count_20000', '20000 headers (about 500 KB in all)')
async def c_header_count_20000(r, w, req, n):
    return await send(w, answer(headers=[b'X-Header-%05d: value' % i
                                         for i in range(20000)]), close=True)


@case('header_total_2m', '40 header lines of 50 KB (2 MB of headers)')
async def c_header_total_2m(r, w, req, n):
    return await send(w, answer(headers=[b'X-Big-%02d: ' % i + b'b' * 50000
                                         for i in range(40)]), close=True)


@case('header_nul', 'a header value with a NUL byte')
async def c_header_nul(r, w, req, n):
    return await send(w, answer(headers=[b'X-Nul: a\0b']), close=True)


@case('header_no_colon', 'a header line without a colon')
async def c_header_no_colon(r, w, req, n):
    return await send(w, answer(headers=[b'this is not a header']),
                      close=True)


@case('headers_cut', 'the status line and one header, then close')
async def c_headers_cut(r, w, req, n):
    return await send(w, b'HTTP/1.1 200 OK\r\nContent-Type: applic', True)


# ---- status line ----------------------------------------------------------

@case('status_invalid', 'status line "HTTP/1.1 2OO OK"')
async def c_status_invalid(r, w, req, n):
    return await send(w, answer(status=b'2OO OK'), close=True)


@case('status_999', 'status 999')
async def c_status_999(r, w, req, n):
    return await send(w, answer(status=b'999 Unheard Of'), close=True)


@case('status_099', 'status 099')
async def c_status_099(r, w, req, n):
    return await send(w, answer(status=b'099 Low'), close=True)


@case('status_http12', 'version HTTP/1.2')
async def c_status_http12(r, w, req, n):
    return await send(w, answer(version=b'HTTP/1.2'), close=True)


@case('status_http2_text', 'an "HTTP/2 200" status line over HTTP/1.1')
async def c_status_http2(r, w, req, n):
    return await send(w, answer(version=b'HTTP/2'), close=True)


@case('http09', 'HTTP/0.9: the body without any status line')
async def c_http09(r, w, req, n):
    return await send(w, OK_BODY, close=True)


@case('tls_garbage', 'a TLS alert record on plain HTTP')
async def c_tls_garbage(r, w, req, n):
    return await send(w, b'\x15\x03\x01\x00\x02\x02\x46', close=True)


@case('empty_reply', 'close without a byte')
async def c_empty_reply(r, w, req, n):
    return False


@case('reset_at_once', 'RST right after the request')
async def c_reset_at_once(r, w, req, n):
    reset(w)
    return False


# ---- body framing ---------------------------------------------------------

@case('http10_close_early', 'HTTP/1.0, no Content-Length, half a body')
async def c_http10(r, w, req, n):
    return await send(w, head(version=b'HTTP/1.0') + OK_BODY[:40], True)


@case('cl_larger', 'Content-Length larger than the body, then close')
async def c_cl_larger(r, w, req, n):
    return await send(w, head(headers=[b'Content-Length: %d'
                                       % (len(OK_BODY) + 100)]) + OK_BODY,
                      close=True)


@case('cl_smaller', 'Content-Length smaller than the body')
async def c_cl_smaller(r, w, req, n):
    return await send(w, head(headers=[b'Content-Length: 40']) + OK_BODY,
                      close=True)


@case('excess_keepalive', 'Content-Length 40, the whole body, kept alive')
async def c_excess_keepalive(r, w, req, n):
    return await send(w, head(headers=[b'Content-Length: 40']) + OK_BODY)


@case('late_garbage', 'an answer, then 0.2 s later an unasked "200 []" '
      'without MS-RequestId, kept alive')
async def c_late_garbage(r, w, req, n):
    await send(w, answer())
    await asyncio.sleep(0.2)
    return await send(w, answer(b'[]', rid=False))


@case('late_duplicate', 'an answer, then 0.2 s later the same answer again '
      '(same MS-RequestId), kept alive')
async def c_late_duplicate(r, w, req, n):
    await send(w, answer())
    await asyncio.sleep(0.2)
    return await send(w, answer(b'[]'))


@case('cl_duplicate', 'two different Content-Length headers')
async def c_cl_dup(r, w, req, n):
    return await send(w, head(headers=[b'Content-Length: %d' % len(OK_BODY),
                                       b'Content-Length: 5']) + OK_BODY,
                      close=True)


@case('cl_negative', 'Content-Length: -1')
async def c_cl_negative(r, w, req, n):
    return await send(w, head(headers=[b'Content-Length: -1']) + OK_BODY,
                      close=True)


@case('cl_huge', 'Content-Length: 2^70 with a short body')
async def c_cl_huge(r, w, req, n):
    return await send(w, head(headers=[b'Content-Length: %d' % (1 << 70)])
                      + OK_BODY, close=True)


@case('chunked_bad_size', 'chunked with a chunk size "zz"')
async def c_chunked_bad(r, w, req, n):
    return await send(w, head(headers=[b'Transfer-Encoding: chunked'])
                      + b'zz\r\n' + OK_BODY + b'\r\n0\r\n\r\n', close=True)


@case('chunked_huge_size', 'chunked with a chunk size of 2^68')
async def c_chunked_huge(r, w, req, n):
    return await send(w, head(headers=[b'Transfer-Encoding: chunked'])
                      + b'100000000000000000\r\n' + OK_BODY, close=True)


@case('chunked_cut', 'chunked, the connection closed inside a chunk')
async def c_chunked_cut(r, w, req, n):
    return await send(w, head(headers=[b'Transfer-Encoding: chunked'])
                      + b'%x\r\n' % len(OK_BODY) + OK_BODY[:30], close=True)


@case('reset_mid_body', 'RST halfway through the body')
async def c_reset_mid_body(r, w, req, n):
    data = answer()
    await send(w, data[:len(data) - 30])
    await asyncio.sleep(0.05)
    reset(w)
    return False


@case('body_8mib_plus1', 'a body of 8 MiB + 1 byte (valid JSON)')
async def c_body_8mib_plus1(r, w, req, n):
    return await send(w, answer(padded(8 * MIB + 1)), close=True)


@case('body_chunked_9mib', 'a chunked body of 9 MiB (no length given)')
async def c_body_chunked_9mib(r, w, req, n):
    body = padded(9 * MIB)
    out = head(headers=[b'Transfer-Encoding: chunked'])
    for i in range(0, len(body), 65536):
        part = body[i:i + 65536]
        out += b'%x\r\n' % len(part) + part + b'\r\n'
    return await send(w, out + b'0\r\n\r\n', close=True)


# ---- content encoding -----------------------------------------------------

@case('gzip_truncated', 'gzip body cut before its end')
async def c_gzip_truncated(r, w, req, n):
    z = gzip.compress(OK_BODY)
    return await send(w, answer(z[:len(z) // 2],
                                headers=[b'Content-Encoding: gzip']),
                      close=True)


@case('gzip_corrupt', 'gzip header, then garbage')
async def c_gzip_corrupt(r, w, req, n):
    z = gzip.compress(OK_BODY)
    z = z[:10] + bytes(b ^ 0x5a for b in z[10:])
    return await send(w, answer(z, headers=[b'Content-Encoding: gzip']),
                      close=True)


@case('gzip_bomb', 'gzip that decompresses to 9 MiB')
async def c_gzip_bomb(r, w, req, n):
    return await send(w, answer(bomb_gzip(9 * MIB),
                                headers=[b'Content-Encoding: gzip']),
                      close=True)


@case('gzip_8mib_plus1', 'gzip that decompresses to 8 MiB + 1')
async def c_gzip_8mib_plus1(r, w, req, n):
    return await send(w, answer(bomb_gzip(8 * MIB + 1),
                                headers=[b'Content-Encoding: gzip']),
                      close=True)


@case('deflate_truncated', 'deflate body cut before its end')
async def c_deflate_truncated(r, w, req, n):
    z = deflate(OK_BODY)
    return await send(w, answer(z[:len(z) // 2],
                                headers=[b'Content-Encoding: deflate']),
                      close=True)


@case('deflate_corrupt', 'deflate (zlib) header, then garbage')
async def c_deflate_corrupt(r, w, req, n):
    z = deflate(OK_BODY)
    z = z[:2] + bytes(b ^ 0x5a for b in z[2:])
    return await send(w, answer(z, headers=[b'Content-Encoding: deflate']),
                      close=True)


@case('deflate_bomb', 'deflate that decompresses to 9 MiB')
async def c_deflate_bomb(r, w, req, n):
    return await send(w, answer(deflate(padded(9 * MIB)),
                                headers=[b'Content-Encoding: deflate']),
                      close=True)


@case('gzip_twice_bomb', 'Content-Encoding: gzip, gzip: 9 MiB inside')
async def c_gzip_twice(r, w, req, n):
    z = gzip.compress(bomb_gzip(9 * MIB))
    return await send(w, answer(z, headers=[b'Content-Encoding: gzip, gzip']),
                      close=True)


@case('br_garbage', 'Content-Encoding: br with bytes that are not brotli')
async def c_br_garbage(r, w, req, n):
    return await send(w, answer(b'\xff' * 64,
                                headers=[b'Content-Encoding: br']),
                      close=True)


@case('encoding_unknown', 'Content-Encoding: x-hostile (unknown)')
async def c_encoding_unknown(r, w, req, n):
    return await send(w, answer(headers=[b'Content-Encoding: x-hostile']),
                      close=True)


# ---- redirects ------------------------------------------------------------

def redirect(status, req):
    where = b'http://%s/v1/customers/%s/qualifications' % (
        FOREIGN.encode(), req['tenant'].encode())
    return answer(HTML_BODY, status, [b'Location: ' + where])


@case('redirect_302', '302 to another host')
async def c_redirect_302(r, w, req, n):
    return await send(w, redirect(b'302 Found', req))


@case('redirect_301', '301 to another host')
async def c_redirect_301(r, w, req, n):
    return await send(w, redirect(b'301 Moved Permanently', req))


@case('redirect_307', '307 to another host')
async def c_redirect_307(r, w, req, n):
    return await send(w, redirect(b'307 Temporary Redirect', req))


@case('redirect_308', '308 to another host')
async def c_redirect_308(r, w, req, n):
    return await send(w, redirect(b'308 Permanent Redirect', req))


@case('redirect_same_host', '302 to the same host, another path')
async def c_redirect_same(r, w, req, n):
    return await send(w, answer(HTML_BODY, b'302 Found',
                                [b'Location: /elsewhere']))


# ---- odd statuses ---------------------------------------------------------

@case('status_204', '204 No Content')
async def c_status_204(r, w, req, n):
    return await send(w, head(b'204 No Content'))


@case('status_418', "418 I'm a teapot with an HTML body")
async def c_status_418(r, w, req, n):
    return await send(w, answer(HTML_BODY, b"418 I'm a teapot"))


@case('status_500_always', '500 on every attempt')
async def c_status_500(r, w, req, n):
    return await send(w, answer(b'{"code":"x","description":"boom"}',
                                b'500 Internal Server Error'))


@case('status_200_html', '200 with an HTML body')
async def c_status_200_html(r, w, req, n):
    return await send(w, answer(HTML_BODY))


# ---- time -----------------------------------------------------------------

@case('never_answer', 'reads the request, never answers')
async def c_never_answer(r, w, req, n):
    return await hold(r)


@case('slow_drip', 'the answer one byte every 0.4 s (slower than --timeout)')
async def c_slow_drip(r, w, req, n):
    for b in answer():
        w.write(bytes([b]))
        await w.drain()
        await asyncio.sleep(0.4)
    return False


@case('slow_headers_drip', 'headers complete, then the body one byte a second')
async def c_slow_body(r, w, req, n):
    data = answer()
    split = data.index(b'\r\n\r\n') + 4
    await send(w, data[:split])
    for b in data[split:]:
        w.write(bytes([b]))
        await w.drain()
        await asyncio.sleep(1.0)
    return False


# ---- the server -----------------------------------------------------------

STATS = {'requests': 0, 'by_tenant': {}, 'by_case': {},
         'foreign_requests': 0, 'foreign_auth': 0, 'bad_host': 0,
         'no_auth': 0, 'bad_requests': 0}
CASEMAP = {}
LOG = None
TOKEN = None
MAIN = ''
FOREIGN = ''
PATH = re.compile(rb'^/v1/customers/([0-9a-f-]{36})/qualifications$')


async def read_request(reader):
    """One request head, parsed; None at EOF or on nonsense."""
    try:
        data = await reader.readuntil(b'\r\n\r\n')
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError,
            ConnectionError):
        return None
    lines = data[:-4].split(b'\r\n')
    parts = lines[0].split(b' ')
    if len(parts) != 3:
        return None
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(b':')
        headers[k.strip().lower().decode('latin-1')] = v.strip()
    return {'method': parts[0], 'path': parts[1], 'headers': headers}


CONN_IDS = [0]


def log(*words):
    if LOG:
        print(*words, file=LOG, flush=True)


async def serve(reader, writer, foreign):
    CONN_IDS[0] += 1
    conn = CONN_IDS[0]
    log('conn', conn, 'open', 'foreign' if foreign else 'main')
    try:
        while True:
            req = await read_request(reader)
            if req is None:
                break
            STATS['requests'] += 1
            hdrs = req['headers']
            REQUEST_ID.set(hdrs.get('ms-requestid'))
            if foreign:
                STATS['foreign_requests'] += 1
                if 'authorization' in hdrs:
                    STATS['foreign_auth'] += 1
                writer.write(answer(STOLEN_BODY))
                await writer.drain()
                continue
            if hdrs.get('host', b'').decode('latin-1') != MAIN:
                STATS['bad_host'] += 1
            if req['path'] == b'/__stats':
                writer.write(answer(json.dumps(STATS).encode()))
                await writer.drain()
                continue
            m = PATH.match(req['path'])
            if not m or req['method'] != b'GET':
                STATS['bad_requests'] += 1
                writer.write(answer(b'{"code":0,"description":"no route"}',
                                    b'400 Bad Request'))
                await writer.drain()
                continue
            if TOKEN is not None and \
               hdrs.get('authorization') != b'Bearer ' + TOKEN.encode():
                STATS['no_auth'] += 1
            tenant = m.group(1).decode()
            name = CASEMAP.get(tenant, 'ok')
            n = STATS['by_tenant'].get(tenant, 0) + 1
            STATS['by_tenant'][tenant] = n
            STATS['by_case'][name] = STATS['by_case'].get(name, 0) + 1
            req['tenant'] = tenant
            log('conn', conn, 'request', tenant, name, n)
            if not await CASES[name][0](reader, writer, req, n):
                break
    except ConnectionError:
        pass
    finally:
        log('conn', conn, 'close')
        writer.close()


async def main():
    global CASEMAP, TOKEN, MAIN, FOREIGN, LOG
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--cases', help='JSON object: tenant id -> case name')
    ap.add_argument('--token', help='expected bearer token (counted if not)')
    ap.add_argument('--list', action='store_true', help='list the cases')
    ap.add_argument('--log', help='append a line per connection event here')
    args = ap.parse_args()
    if args.log:
        LOG = open(args.log, 'a')
    if args.list:
        for name, (_, desc) in CASES.items():
            print('%-22s %s' % (name, desc))
        return
    if args.cases:
        with open(args.cases) as f:
            CASEMAP = json.load(f)
        unknown = sorted(set(CASEMAP.values()) - set(CASES))
        if unknown:
            sys.exit('server.py: unknown cases: %s' % ', '.join(unknown))
    TOKEN = args.token
    limit = 64 * 1024
    main_srv = await asyncio.start_server(
        lambda r, w: serve(r, w, False), '127.0.0.1', 0, limit=limit)
    try:
        foreign_srv = await asyncio.start_server(
            lambda r, w: serve(r, w, True), '127.0.0.2', 0, limit=limit)
    except OSError:
        foreign_srv = await asyncio.start_server(
            lambda r, w: serve(r, w, True), '127.0.0.1', 0, limit=limit)
    port = main_srv.sockets[0].getsockname()[1]
    fhost, fport = foreign_srv.sockets[0].getsockname()[:2]
    MAIN = '127.0.0.1:%d' % port
    FOREIGN = '%s:%d' % (fhost, fport)
    STATS['foreign'] = FOREIGN
    print('http://%s' % MAIN, flush=True)
    async with main_srv, foreign_srv:
        await asyncio.gather(main_srv.serve_forever(),
                             foreign_srv.serve_forever())


if __name__ == '__main__':
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
