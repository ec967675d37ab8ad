#!/usr/bin/env node
// proxy.js: walship's S3 test proxy.  It sits in front of s3rver (which does
// not verify signatures and lacks several S3 features) and provides:
//
//   * SigV4 header-auth verification with AWS's own signer (@smithy/signature-v4),
//     x-amz-content-sha256 and Content-MD5 body checks, the 15-minute clock-skew
//     window (403 RequestTimeTooSkewed);
//   * the S3 semantics s3rver lacks: conditional writes (If-None-Match: * and
//     If-Match on PutObject and CompleteMultipartUpload), multipart bookkeeping
//     (AbortMultipartUpload, ListMultipartUploads, ListParts, NoSuchUpload,
//     the 5 MiB minimum for non-last parts, InvalidPart, InvalidPartOrder);
//   * fault injection and request statistics over an unsigned control API on
//     the same port under /__ (bucket names cannot start with "_").
//
// Usage:
//   node proxy.js --upstream-port N [--port 0] [--port-file F]
//        [--access-key S3RVER] [--secret-key S3RVER] [--region us-east-1]
//        [--tls-port 0 --tls-cert cert.pem --tls-key key.pem [--tls-port-file F]]
//        [--max-body BYTES] [--min-part-size BYTES] [--path-canonicalization strict|verbatim]
//
// Every server listens on 127.0.0.1 only.  One line per request goes to
// stdout; Authorization headers and secrets are never printed.
// The control API is documented in tests/s3/README.md.
'use strict';

const http = require('http');
const https = require('https');
const crypto = require('crypto');
const fs = require('fs');
const { SignatureV4 } = require('@smithy/signature-v4');
const { Sha256 } = require('@aws-crypto/sha256-js');

// ---- options ----------------------------------------------------------------

function parseArgs(argv) {
  const o = {
    port: 0, 'port-file': null, 'upstream-host': '127.0.0.1', 'upstream-port': null,
    'access-key': 'S3RVER', 'secret-key': 'S3RVER', region: 'us-east-1',
    'tls-port': null, 'tls-cert': null, 'tls-key': null, 'tls-port-file': null,
    'max-body': 1024 * 1024 * 1024, 'min-part-size': 5 * 1024 * 1024,
    'skew-limit': 900, 'path-canonicalization': 'strict',
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const m = a.match(/^--([a-z0-9-]+)(?:=(.*))?$/);
    if (!m || !(m[1] in o)) { console.error(`proxy.js: unknown argument ${a}`); process.exit(2); }
    o[m[1]] = m[2] !== undefined ? m[2] : argv[++i];
  }
  if (!o['upstream-port']) { console.error('proxy.js: --upstream-port is required'); process.exit(2); }
  for (const k of ['port', 'upstream-port', 'max-body', 'min-part-size', 'skew-limit']) o[k] = Number(o[k]);
  if (o['tls-port'] !== null) {
    o['tls-port'] = Number(o['tls-port']);
    if (!o['tls-cert'] || !o['tls-key']) { console.error('proxy.js: --tls-port needs --tls-cert and --tls-key'); process.exit(2); }
  }
  return o;
}
const opt = parseArgs(process.argv.slice(2));
const ACCESS_KEY = opt['access-key'];
const REGION = opt.region;
const MIN_PART = opt['min-part-size'];
const XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const OWNER = { id: '75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a', name: 'S3rver' };

const signer = new SignatureV4({
  credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: opt['secret-key'] },
  region: REGION, service: 's3', sha256: Sha256, uriEscapePath: false, applyChecksum: false,
});
// No keep-alive upstream: s3rver closes idle sockets after 5 s, and a reused one
// dies with EPIPE halfway through a large body.  Loopback connections are cheap.
const upstreamAgent = new http.Agent({ keepAlive: false, maxSockets: 64 });

// ---- state ------------------------------------------------------------------

let seq = 0;
let faults = [];          // pending fault rules, matched in order
let faultSeq = 0;
let clockSkewMs = 0;      // simulated server clock offset (POST /__clock)
let stats;
let requestLog;           // ring of recent requests (GET /__requests)
const LOG_MAX = 20000;
const uploads = new Map(); // uploadId -> {bucket,key,uploadId,initiated,parts:Map,state,...}
const keyLocks = new Map();
// Objects made by CompleteMultipartUpload: "bucket/key" -> {md5, etag}.  s3rver's
// ETag for them is the md5 of the whole object; S3's is md5(part md5s)-N, and the
// proxy rewrites ETags in responses (while s3rver still has that content).
const mpEtags = new Map();
function resetStats() {
  stats = { started: new Date().toISOString(), total: 0, by_method: {}, by_status: {}, by_code: {},
            faults_injected: {}, faults_injected_total: 0 };
  requestLog = [];
}
resetStats();

// ---- helpers ------------------------------------------------------------------

const sleep = ms => new Promise(r => setTimeout(r, ms));
function xmlEscape(s) {
  return String(s).replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' }[c]));
}
function xmlUnescape(s) {
  return String(s).replace(/&(lt|gt|amp|quot|apos|#x?[0-9a-fA-F]+);/g, (m, e) => {
    if (e === 'lt') return '<'; if (e === 'gt') return '>'; if (e === 'amp') return '&';
    if (e === 'quot') return '"'; if (e === 'apos') return "'";
    return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
  });
}
// RFC 3986 encoding as S3 uses it (unreserved characters stay, everything else %XX uppercase)
function uriEncode(s) {
  return encodeURIComponent(s).replace(/[!'()*]/g, c => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}
function parseQuery(raw) {
  const q = {};
  if (!raw) return q;
  for (const part of raw.split('&')) {
    if (part === '') continue;
    const i = part.indexOf('=');
    const k = decodeURIComponent(i < 0 ? part : part.slice(0, i));
    const v = i < 0 ? '' : decodeURIComponent(part.slice(i + 1));
    if (k in q) q[k] = [].concat(q[k], v); else q[k] = v;
  }
  return q;
}
function qs(q, name) { const v = q[name]; return Array.isArray(v) ? v[0] : v; }
function unquote(etag) { return String(etag || '').trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1').replace(/^&quot;(.*)&quot;$/, '$1'); }
function isoMs(d) { return new Date(d).toISOString(); }
function redactUrl(u) { return u.replace(/(X-Amz-(?:Signature|Credential|Security-Token)=)[^&]*/gi, '$1REDACTED'); }
function requestId() { return crypto.randomBytes(8).toString('hex').toUpperCase(); }

async function withKeyLock(k, fn) {
  const prev = keyLocks.get(k) || Promise.resolve();
  let release;
  const mine = new Promise(r => { release = r; });
  const chain = prev.then(() => mine);
  keyLocks.set(k, chain);
  await prev;
  try { return await fn(); } finally {
    release();
    if (keyLocks.get(k) === chain) keyLocks.delete(k);
  }
}

// A request to s3rver.  Resolves to {status, headers, body?}; with stream=true the
// response object is returned unread (ur).
function upstream(method, path, headers, body, stream = false) {
  return new Promise((resolve, reject) => {
    const h = { ...headers };
    delete h.expect; delete h['transfer-encoding']; delete h.connection;
    h['content-length'] = body ? body.length : 0;
    const ur = http.request({ host: opt['upstream-host'], port: opt['upstream-port'], method, path, headers: h, agent: upstreamAgent },
      r => {
        if (stream) return resolve({ status: r.statusCode, headers: r.headers, stream: r });
        const chunks = [];
        r.on('data', c => chunks.push(c));
        r.on('end', () => resolve({ status: r.statusCode, headers: r.headers, body: Buffer.concat(chunks) }));
        r.on('error', reject);
      });
    ur.on('error', reject);
    ur.end(body && body.length ? body : undefined);
  });
}
// Unsigned HEAD to s3rver (s3rver accepts anonymous requests).
async function upstreamHead(path) {
  const r = await upstream('HEAD', path, { host: `127.0.0.1:${opt['upstream-port']}` }, null);
  return r;
}

// ---- responses ----------------------------------------------------------------

function errorXml(code, message, resource, extra = {}) {
  let x = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${xmlEscape(code)}</Code><Message>${xmlEscape(message)}</Message>`;
  for (const [k, v] of Object.entries(extra)) x += `<${k}>${xmlEscape(v)}</${k}>`;
  x += `<Resource>${xmlEscape(resource || '')}</Resource><RequestId>${requestId()}</RequestId></Error>`;
  return Buffer.from(x);
}

// Sends a complete response, applying a pending "post" fault (one that needs the
// response: reset-after, reset-mid-body, truncate, stall-mid-body, corrupt).
function reply(ctx, status, headers, body) {
  const { res } = ctx;
  body = body || Buffer.alloc(0);
  ctx.status = status;
  const h = {};
  for (const [k, v] of Object.entries(headers || {})) {
    if (['connection', 'keep-alive', 'transfer-encoding'].includes(k.toLowerCase())) continue;
    h[k] = v;
  }
  if (!Object.keys(h).some(k => k.toLowerCase() === 'x-amz-request-id')) h['x-amz-request-id'] = requestId();
  const isHead = ctx.req.method === 'HEAD';
  // for HEAD keep upstream's Content-Length (the object's size); no body is sent
  if (!isHead || !Object.keys(h).some(k => k.toLowerCase() === 'content-length')) h['content-length'] = body.length;
  const f = ctx.post;
  const mode = f && f.mode;
  if (mode === 'reset-after') { ctx.status = 'RST'; return rst(ctx); }
  if (mode === 'corrupt' && body.length) {
    body = Buffer.from(body);
    const i = Math.floor(body.length / 2);
    body[i] ^= 0xff;
  }
  if (mode === 'reset-mid-body' || mode === 'truncate' || mode === 'stall-mid-body') {
    if (isHead || body.length === 0) {
      // Nothing to cut: announce a body that never comes.
      if (mode === 'reset-mid-body') { ctx.status = 'RST'; return rst(ctx); }
      if (!isHead) h['content-length'] = 1024;
      res.writeHead(status, h);
      res.flushHeaders();
      ctx.status = `${status}/${mode}`;
      if (mode === 'truncate') return setTimeout(() => res.socket && res.socket.end(), 20);
      return stall(ctx, f);
    }
    const half = body.subarray(0, Math.floor(body.length / 2));
    res.writeHead(status, h);
    ctx.status = `${status}/${mode}`;
    res.write(half, () => {
      if (mode === 'reset-mid-body') setTimeout(() => rst(ctx), 50);
      else if (mode === 'truncate') setTimeout(() => res.socket && res.socket.end(), 50);
      else stall(ctx, f);
    });
    return;
  }
  res.writeHead(status, h);
  res.end(isHead ? undefined : body);
}
function rst(ctx) {
  let s = ctx.req.socket;
  ctx.status = 'RST';
  if (ctx.tls && s._parent) s = s._parent;     // the TCP socket under TLS
  try { if (typeof s.resetAndDestroy === 'function' && s._handle && s._handle.reset) s.resetAndDestroy(); else s.destroy(); }
  catch (e) { s.destroy(); }
  if (s !== ctx.req.socket) ctx.req.socket.destroy();
}
function stall(ctx, f) {
  const ms = f && f.delay_ms ? f.delay_ms : 600000;
  const t = setTimeout(() => ctx.req.socket.destroy(), ms);
  ctx.req.socket.once('close', () => clearTimeout(t));
}
function fail(ctx, status, code, message, extra = {}, headers = {}) {
  ctx.code = code;
  ctx.detail = message;
  const body = errorXml(code, message, ctx.rawPath || ctx.req.url.split('?')[0], extra);
  return reply(ctx, status, { 'content-type': 'application/xml', ...headers }, body);
}
function xmlReply(ctx, status, xml, headers = {}) {
  return reply(ctx, status, { 'content-type': 'application/xml', ...headers }, Buffer.from(xml));
}

// ---- logging and statistics -----------------------------------------------------

function finish(ctx) {
  if (ctx.logged) return;
  ctx.logged = true;
  const ms = Date.now() - ctx.t0;
  let status = ctx.status !== undefined ? ctx.status : (ctx.res.headersSent ? ctx.res.statusCode : 'ABORTED');
  const m = ctx.req.method;
  stats.total++;
  stats.by_method[m] = (stats.by_method[m] || 0) + 1;
  stats.by_status[status] = (stats.by_status[status] || 0) + 1;
  if (ctx.code) stats.by_code[ctx.code] = (stats.by_code[ctx.code] || 0) + 1;
  const url = redactUrl(ctx.req.url);
  const e = { seq: ctx.seq, time: new Date(ctx.t0).toISOString(), method: m, url, status, ms,
              req_bytes: ctx.bodyLen || 0 };
  if (ctx.code) e.code = ctx.code;
  if (ctx.fault) e.fault = ctx.fault.mode;
  if (ctx.tls) e.tls = true;
  e.headers = {};
  for (const [k, v] of Object.entries(ctx.req.headers))
    if (k !== 'authorization' && k !== 'x-amz-security-token') e.headers[k] = v;
  requestLog.push(e);
  if (requestLog.length > LOG_MAX) requestLog.splice(0, requestLog.length - LOG_MAX);
  console.log(`${e.time} #${e.seq} ${m} ${url} -> ${status}${ctx.code ? ' ' + ctx.code : ''}` +
              `${ctx.fault ? ' fault=' + ctx.fault.mode : ''}${ctx.tls ? ' tls' : ''} ${ms}ms` +
              `${ctx.detail && ctx.code ? ' (' + ctx.detail + ')' : ''}`);
}

// ---- fault injection --------------------------------------------------------------

const PRE_MODES = ['500', '503slowdown', '503', '429', 'error', 'reset', 'close', 'hang', 'delay',
                   'malformed-xml', 'html', '200-error', 'drop'];
const POST_MODES = ['reset-after', 'reset-mid-body', 'truncate', 'stall-mid-body', 'corrupt'];
const ALL_MODES = PRE_MODES.concat(POST_MODES, ['reset-during-upload']);

function addFault(spec) {
  if (!spec || !ALL_MODES.includes(String(spec.mode)))
    throw new Error(`mode must be one of ${ALL_MODES.join(', ')}`);
  const f = { id: ++faultSeq, mode: String(spec.mode), count: spec.count === undefined ? 1 : Number(spec.count),
              skip: Number(spec.skip || 0), method: spec.method ? String(spec.method).toUpperCase() : null,
              path_regex: spec.path_regex || null, delay_ms: spec.delay_ms !== undefined ? Number(spec.delay_ms) : undefined,
              retry_after: spec.retry_after !== undefined ? String(spec.retry_after) : '1',
              status: spec.status !== undefined ? Number(spec.status) : undefined,
              code: spec.code, message: spec.message, probability: spec.probability !== undefined ? Number(spec.probability) : 1,
              injected: 0, matched: 0 };
  if (f.path_regex) f.re = new RegExp(f.path_regex);
  if (f.mode === 'error' && !f.status) throw new Error('mode "error" needs "status"');
  if (!Number.isFinite(f.count)) throw new Error('bad count');
  faults.push(f);
  return f;
}
function takeFault(req) {
  for (const f of faults) {
    if (f.count === 0) continue;
    if (f.method && f.method !== req.method) continue;
    if (f.re && !f.re.test(req.url)) continue;
    f.matched++;
    if (f.skip > 0) { f.skip--; continue; }
    if (f.probability < 1 && Math.random() >= f.probability) continue;
    if (f.count > 0) f.count--;      // count < 0: unlimited
    f.injected++;
    stats.faults_injected[f.mode] = (stats.faults_injected[f.mode] || 0) + 1;
    stats.faults_injected_total++;
    if (f.count === 0) faults = faults.filter(x => x !== f);
    return f;
  }
  return null;
}
function faultView(f) {
  const { re, ...v } = f;
  return v;
}

// Applies a "pre" fault.  Returns true when the request has been answered.
async function applyPreFault(ctx, f) {
  const { res } = ctx;
  switch (f.mode) {
    case 'delay':
      await sleep(f.delay_ms !== undefined ? f.delay_ms : 1000);
      return false;
    case '500':
      fail(ctx, 500, 'InternalError', 'We encountered an internal error. Please try again.');
      return true;
    case '503': case '503slowdown':
      fail(ctx, 503, 'SlowDown', 'Please reduce your request rate.', {}, { 'retry-after': f.retry_after });
      return true;
    case '429':
      fail(ctx, 429, 'TooManyRequests', 'Please reduce your request rate.', {}, { 'retry-after': f.retry_after });
      return true;
    case 'error':
      fail(ctx, f.status, f.code || 'InjectedError', f.message || 'injected error');
      return true;
    case '200-error': // S3 may answer CompleteMultipartUpload/CopyObject with 200 and an <Error> body
      ctx.code = 'InternalError(200)';
      xmlReply(ctx, 200, errorXml('InternalError', 'We encountered an internal error. Please try again.', ctx.rawPath).toString());
      return true;
    case 'reset':
      rst(ctx);
      return true;
    case 'close':
      ctx.status = 'CLOSED';
      ctx.req.socket.destroy();
      return true;
    case 'hang':
      ctx.status = 'HANG';
      stall(ctx, f);
      return true;
    case 'malformed-xml':
      reply(ctx, 200, { 'content-type': 'application/xml' },
        Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="${XMLNS}"><Name>walship-test</Name>` +
                    '<IsTruncated>true</IsTruncated><Contents><Key>wal/0000000100000000000000\x01<<</Ke><Size>12x</Size>' +
                    '<NextContinuationToken>&bogus;</NextContinuationToken></ListBucket'));
      return true;
    case 'html':
      reply(ctx, 200, { 'content-type': 'text/html; charset=utf-8' },
        Buffer.from('<!DOCTYPE html>\n<html><head><title>Welcome to nginx!</title></head>\n<body><h1>Welcome to nginx!</h1>' +
                    '<p>If you see this page, the web server is successfully installed.</p></body></html>\n'));
      return true;
    case 'drop': { // acknowledge a write without storing it (lost write)
      const md5 = crypto.createHash('md5').update(ctx.body || Buffer.alloc(0)).digest('hex');
      reply(ctx, 200, { etag: `"${md5}"` }, Buffer.alloc(0));
      return true;
    }
  }
  return false;
}

// ---- control API ------------------------------------------------------------------

function control(req, res) {
  const chunks = [];
  req.on('data', c => chunks.push(c));
  req.on('end', () => {
    const [p, rawQ] = req.url.split(/\?(.*)/s);
    const q = parseQuery(rawQ);
    const send = (status, obj) => {
      const b = Buffer.from(JSON.stringify(obj, null, 1) + '\n');
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': b.length });
      res.end(b);
    };
    let body = null;
    try { body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : null; }
    catch (e) { return send(400, { error: 'bad JSON: ' + e.message }); }
    try {
      if (p === '/__fault' && req.method === 'POST') {
        const list = Array.isArray(body) ? body : [body];
        const added = list.map(addFault).map(faultView);
        console.log(`control: fault added ${JSON.stringify(added.map(f => ({ id: f.id, mode: f.mode, count: f.count, method: f.method, path_regex: f.path_regex })))}`);
        return send(200, Array.isArray(body) ? added : added[0]);
      }
      if (p === '/__fault' && req.method === 'GET') return send(200, faults.map(faultView));
      if (p === '/__fault' && req.method === 'DELETE') {
        if (q.id !== undefined) {
          const n = faults.length;
          faults = faults.filter(f => String(f.id) !== String(q.id));
          return send(n === faults.length ? 404 : 200, { removed: n - faults.length });
        }
        faults = [];
        return send(200, { cleared: true });
      }
      if (p === '/__stats' && req.method === 'GET') {
        const up = { active: 0, completed: 0, aborted: 0 };
        for (const u of uploads.values()) up[u.state]++;
        let view = stats;
        if (q.path_regex || q.since) {  // recomputed from the request log
          const re = q.path_regex ? new RegExp(q.path_regex) : null;
          const since = Number(q.since || 0);
          view = { total: 0, by_method: {}, by_status: {}, by_code: {}, faults_injected: {}, faults_injected_total: 0 };
          for (const e of requestLog) {
            if (e.seq <= since || (re && !re.test(e.url))) continue;
            view.total++;
            view.by_method[e.method] = (view.by_method[e.method] || 0) + 1;
            view.by_status[e.status] = (view.by_status[e.status] || 0) + 1;
            if (e.code) view.by_code[e.code] = (view.by_code[e.code] || 0) + 1;
            if (e.fault) { view.faults_injected[e.fault] = (view.faults_injected[e.fault] || 0) + 1; view.faults_injected_total++; }
          }
        }
        return send(200, { ...view, last_seq: seq, faults_pending: faults.map(faultView), multipart_uploads: up,
                           clock_skew_s: clockSkewMs / 1000 });
      }
      if (p === '/__requests' && req.method === 'GET') {
        const re = q.path_regex ? new RegExp(q.path_regex) : null;
        const since = Number(q.since || 0);
        return send(200, requestLog.filter(e => e.seq > since && (!re || re.test(e.url)) && (!q.method || e.method === q.method)));
      }
      if (p === '/__uploads' && req.method === 'GET')
        return send(200, [...uploads.values()].map(u => ({ bucket: u.bucket, key: u.key, uploadId: u.uploadId, state: u.state,
          initiated: isoMs(u.initiated), parts: [...u.parts.entries()].map(([n, x]) => ({ part: n, size: x.size, etag: x.etag })) })));
      if (p === '/__clock' && req.method === 'POST') {
        clockSkewMs = Number((body && body.skew_s) || 0) * 1000;
        return send(200, { clock_skew_s: clockSkewMs / 1000 });
      }
      if (p === '/__reset' && req.method === 'POST') {
        faults = []; clockSkewMs = 0; resetStats();
        if (q.uploads === '1' || (body && body.uploads)) uploads.clear();
        console.log('control: reset');
        return send(200, { reset: true });
      }
      if (p === '/__health') return send(200, { ok: true, upstream_port: opt['upstream-port'] });
      return send(404, { error: `unknown control endpoint ${req.method} ${p}` });
    } catch (e) {
      return send(400, { error: e.message });
    }
  });
}

// ---- SigV4 verification ---------------------------------------------------------------

function canonicalPath(rawPath) {
  if (opt['path-canonicalization'] === 'verbatim') return rawPath;
  return rawPath.split('/').map(s => uriEncode(decodeURIComponent(s))).join('/');
}
function parseAmzDate(s) {
  const d = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s || '');
  return d ? new Date(Date.UTC(+d[1], d[2] - 1, +d[3], +d[4], +d[5], +d[6])) : null;
}

// Header-only checks (no body needed: the payload hash is the signed header).
// Returns null when the request is authentic, or [status, code, message, extra, headers].
async function verifySignature(ctx) {
  const { req } = ctx;
  const auth = req.headers.authorization;
  if (!auth) {
    if (/[?&]X-Amz-Signature=/i.test(req.url)) return [501, 'NotImplemented', 'presigned (query-string) authentication is not implemented by the test proxy'];
    return [403, 'AccessDenied', 'Access Denied (anonymous request)'];
  }
  const m = auth.match(/^AWS4-HMAC-SHA256 Credential=([^/,]+)\/(\d{8})\/([^/,]*)\/([^/,]*)\/aws4_request, ?SignedHeaders=([^, ]+), ?Signature=([0-9a-f]{64})$/);
  if (!m) {
    if (/^AWS /.test(auth)) return [400, 'InvalidRequest', 'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.'];
    return [400, 'AuthorizationHeaderMalformed', 'The authorization header is malformed'];
  }
  const [, akid, scopeDate, reg, svc, signedHeaders, signature] = m;
  if (akid !== ACCESS_KEY) return [403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.', { AWSAccessKeyId: akid }];
  if (reg !== REGION) return [400, 'AuthorizationHeaderMalformed', `The authorization header is malformed; the region '${reg}' is wrong; expecting '${REGION}'`, { Region: REGION }];
  if (svc !== 's3') return [400, 'AuthorizationHeaderMalformed', `The authorization header is malformed; incorrect service '${svc}'. This endpoint belongs to 's3'.`];
  // curl sends its x-amz-date and a user-supplied one both (same value); Node would join them with ", "
  const dates = [...new Set(req.headersDistinct['x-amz-date'] || [])];
  if (dates.length > 1) return [400, 'InvalidArgument', 'conflicting x-amz-date headers'];
  const amzDate = dates[0];
  const signingDate = parseAmzDate(amzDate);
  if (!signingDate) return [403, 'AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header'];
  if (amzDate.slice(0, 8) !== scopeDate)
    return [403, 'SignatureDoesNotMatch', `credential scope date ${scopeDate} does not match x-amz-date ${amzDate}`];
  const now = Date.now() + clockSkewMs;
  if (Math.abs(now - signingDate.getTime()) > opt['skew-limit'] * 1000) {
    return [403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.',
      { RequestTime: amzDate, ServerTime: new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z'), MaxAllowedSkewMilliseconds: String(opt['skew-limit'] * 1000) },
      { date: new Date(now).toUTCString() }];
  }
  const payloadHash = req.headers['x-amz-content-sha256'];
  if (payloadHash === undefined) return [400, 'InvalidRequest', 'Missing required header for this request: x-amz-content-sha256'];
  if (/^STREAMING-/.test(payloadHash))
    return [501, 'NotImplemented', `x-amz-content-sha256 ${payloadHash} (aws-chunked) is not implemented by the test proxy`];
  if (payloadHash !== 'UNSIGNED-PAYLOAD' && !/^[0-9a-f]{64}$/.test(payloadHash))
    return [400, 'InvalidArgument', 'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, or a valid sha256 value.'];
  const names = signedHeaders.split(';');
  for (const h of ['host', 'x-amz-date', 'x-amz-content-sha256'])
    if (!names.includes(h)) return [403, 'AccessDenied', `There were headers present in the request which were not signed: ${h}`];
  const headers = {};
  for (const n of names) {
    if (n === 'x-amz-date') continue; // set by the signer from signingDate
    if (req.headers[n] === undefined) return [403, 'SignatureDoesNotMatch', `signed header ${n} is not present in the request`];
    headers[n] = req.headers[n];
  }
  let cpath;
  try { cpath = canonicalPath(ctx.rawPath); } catch (e) { return [400, 'InvalidURI', "Couldn't parse the specified URI."]; }
  const signed = await signer.sign(
    { method: req.method, protocol: 'http:', hostname: 'x', path: cpath, query: ctx.query, headers, body: undefined },
    { signingDate, signableHeaders: new Set(names), unsignableHeaders: new Set() });
  const a = signed.headers.authorization || signed.headers.Authorization;
  const expected = a.match(/Signature=([0-9a-f]{64})/)[1];
  const expectedSigned = a.match(/SignedHeaders=([^,]+)/)[1];
  if (expectedSigned !== signedHeaders)
    return [403, 'SignatureDoesNotMatch', `SignedHeaders ${signedHeaders} are not sorted/lowercase (expected ${expectedSigned})`];
  if (!crypto.timingSafeEqual(Buffer.from(expected), Buffer.from(signature)))
    return [403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.'];
  return null;
}

function readBody(ctx) {
  return new Promise((resolve, reject) => {
    const { req } = ctx;
    const ph = req.headers['x-amz-content-sha256'];
    const sha = ph && ph !== 'UNSIGNED-PAYLOAD' ? crypto.createHash('sha256') : null;
    const md5 = crypto.createHash('md5');
    const chunks = [];
    let len = 0, tooBig = false;
    req.on('data', c => {
      len += c.length;
      if (len > opt['max-body']) { tooBig = true; return; }
      chunks.push(c); md5.update(c); if (sha) sha.update(c);
    });
    req.on('end', () => {
      ctx.bodyLen = len;
      if (tooBig) return resolve({ tooBig: true });
      resolve({ body: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, len), sha256: sha ? sha.digest('hex') : null, md5: md5.digest() });
    });
    req.on('error', reject);
  });
}

// ---- S3 operations the proxy implements itself ------------------------------------------

function uploadsForBucket(bucket) {
  return [...uploads.values()].filter(u => u.bucket === bucket && u.state === 'active')
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.initiated - b.initiated || (a.uploadId < b.uploadId ? -1 : 1)));
}

async function listMultipartUploads(ctx) {
  const { bucket, query: q } = ctx;
  const hb = await upstreamHead('/' + uriEncode(bucket));
  if (hb.status === 404) return fail(ctx, 404, 'NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucket });
  const prefix = qs(q, 'prefix') || '';
  const delimiter = qs(q, 'delimiter') || '';
  const keyMarker = qs(q, 'key-marker') || '';
  const idMarker = qs(q, 'upload-id-marker') || '';
  const urlEnc = qs(q, 'encoding-type') === 'url';
  if (qs(q, 'encoding-type') !== undefined && !urlEnc)
    return fail(ctx, 400, 'InvalidArgument', 'Invalid Encoding Method specified in Request');
  let max = 1000;
  if (qs(q, 'max-uploads') !== undefined) {
    max = Number(qs(q, 'max-uploads'));
    if (!/^\d+$/.test(qs(q, 'max-uploads'))) return fail(ctx, 400, 'InvalidArgument', 'max-uploads must be a non-negative integer');
    max = Math.min(max, 1000);
  }
  const enc = s => xmlEscape(urlEnc ? uriEncode(s).replace(/%2F/g, '/') : s);
  let all = uploadsForBucket(bucket).filter(u => u.key.startsWith(prefix));
  if (keyMarker) {
    if (idMarker) {
      const mk = uploads.get(idMarker);
      all = all.filter(u => u.key > keyMarker || (u.key === keyMarker && mk && (u.initiated > mk.initiated || (u.initiated === mk.initiated && u.uploadId > idMarker))));
    } else all = all.filter(u => u.key > keyMarker);
    // a marker that is a common prefix (from a previous page) skips that whole prefix
    if (delimiter && keyMarker.endsWith(delimiter)) all = all.filter(u => !u.key.startsWith(keyMarker));
  }
  const items = [];          // {upload} or {prefix}
  const seenPrefixes = new Set();
  let truncated = false, nextKey = '', nextId = '';
  for (const u of all) {
    let cp = null;
    if (delimiter) {
      const i = u.key.indexOf(delimiter, prefix.length);
      if (i >= 0) cp = u.key.slice(0, i + delimiter.length);
    }
    if (cp && seenPrefixes.has(cp)) continue;
    if (items.length >= max) { truncated = true; break; }
    if (cp) { seenPrefixes.add(cp); items.push({ prefix: cp }); nextKey = cp; nextId = ''; }
    else { items.push({ upload: u }); nextKey = u.key; nextId = u.uploadId; }
  }
  let x = `<?xml version="1.0" encoding="UTF-8"?>\n<ListMultipartUploadsResult xmlns="${XMLNS}">`;
  x += `<Bucket>${xmlEscape(bucket)}</Bucket><KeyMarker>${enc(keyMarker)}</KeyMarker><UploadIdMarker>${xmlEscape(idMarker)}</UploadIdMarker>`;
  if (truncated) x += `<NextKeyMarker>${enc(nextKey)}</NextKeyMarker><NextUploadIdMarker>${xmlEscape(nextId)}</NextUploadIdMarker>`;
  else x += '<NextKeyMarker></NextKeyMarker><NextUploadIdMarker></NextUploadIdMarker>';
  if (delimiter) x += `<Delimiter>${enc(delimiter)}</Delimiter>`;
  x += `<Prefix>${enc(prefix)}</Prefix><MaxUploads>${max}</MaxUploads><IsTruncated>${truncated}</IsTruncated>`;
  if (urlEnc) x += '<EncodingType>url</EncodingType>';
  for (const it of items) {
    if (!it.upload) continue;
    const u = it.upload;
    x += `<Upload><Key>${enc(u.key)}</Key><UploadId>${xmlEscape(u.uploadId)}</UploadId>` +
         `<Initiator><ID>${OWNER.id}</ID><DisplayName>${OWNER.name}</DisplayName></Initiator>` +
         `<Owner><ID>${OWNER.id}</ID><DisplayName>${OWNER.name}</DisplayName></Owner>` +
         `<StorageClass>STANDARD</StorageClass><Initiated>${isoMs(u.initiated)}</Initiated></Upload>`;
  }
  for (const it of items) if (it.prefix) x += `<CommonPrefixes><Prefix>${enc(it.prefix)}</Prefix></CommonPrefixes>`;
  x += '</ListMultipartUploadsResult>';
  return xmlReply(ctx, 200, x);
}

function findUpload(ctx, uploadId) {
  const u = uploads.get(uploadId);
  if (!u || u.state !== 'active' || u.bucket !== ctx.bucket || u.key !== ctx.key) return null;
  return u;
}
function noSuchUpload(ctx, uploadId) {
  return fail(ctx, 404, 'NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.', { UploadId: uploadId });
}

async function listParts(ctx, uploadId) {
  const u = findUpload(ctx, uploadId);
  if (!u) return noSuchUpload(ctx, uploadId);
  const q = ctx.query;
  const marker = Number(qs(q, 'part-number-marker') || 0);
  const max = Math.min(Number(qs(q, 'max-parts') || 1000), 1000);
  const nums = [...u.parts.keys()].sort((a, b) => a - b).filter(n => n > marker);
  const page = nums.slice(0, max);
  const truncated = nums.length > page.length;
  let x = `<?xml version="1.0" encoding="UTF-8"?>\n<ListPartsResult xmlns="${XMLNS}"><Bucket>${xmlEscape(u.bucket)}</Bucket>` +
          `<Key>${xmlEscape(u.key)}</Key><UploadId>${xmlEscape(u.uploadId)}</UploadId>` +
          `<Initiator><ID>${OWNER.id}</ID><DisplayName>${OWNER.name}</DisplayName></Initiator>` +
          `<Owner><ID>${OWNER.id}</ID><DisplayName>${OWNER.name}</DisplayName></Owner><StorageClass>STANDARD</StorageClass>` +
          `<PartNumberMarker>${marker}</PartNumberMarker><NextPartNumberMarker>${page.length ? page[page.length - 1] : 0}</NextPartNumberMarker>` +
          `<MaxParts>${max}</MaxParts><IsTruncated>${truncated}</IsTruncated>`;
  for (const n of page) {
    const p = u.parts.get(n);
    x += `<Part><PartNumber>${n}</PartNumber><LastModified>${isoMs(p.time)}</LastModified><ETag>"${xmlEscape(p.etag)}"</ETag><Size>${p.size}</Size></Part>`;
  }
  x += '</ListPartsResult>';
  return xmlReply(ctx, 200, x);
}

// Evaluates If-None-Match / If-Match on a write.  Returns true when the request was answered.
async function writePrecondition(ctx) {
  const inm = ctx.req.headers['if-none-match'];
  const im = ctx.req.headers['if-match'];
  if (inm === undefined && im === undefined) return false;
  if (inm !== undefined && inm.trim() !== '*') {
    fail(ctx, 501, 'NotImplemented', 'A header you provided implies functionality that is not implemented', { Header: 'If-None-Match' });
    return true;
  }
  const h = await upstreamHead(ctx.objectPath);
  if (h.status !== 200 && h.status !== 404) {
    fail(ctx, 500, 'InternalError', `upstream HEAD for precondition returned ${h.status}`);
    return true;
  }
  if (inm !== undefined && h.status === 200) {
    fail(ctx, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: 'If-None-Match' });
    return true;
  }
  if (im !== undefined) {
    if (h.status === 404) { fail(ctx, 404, 'NoSuchKey', 'The specified key does not exist.', { Key: ctx.key }); return true; }
    const want = im.split(',').map(unquote);
    fixEtagHeader(ctx, h.headers);
    if (!want.includes('*') && !want.includes(unquote(h.headers.etag))) {
      fail(ctx, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: 'If-Match' });
      return true;
    }
  }
  return false;
}

async function completeUpload(ctx, uploadId) {
  const u = findUpload(ctx, uploadId);
  if (!u) return noSuchUpload(ctx, uploadId);
  const xml = ctx.body.toString('utf8');
  if (!/<CompleteMultipartUpload[\s>]/.test(xml))
    return fail(ctx, 400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');
  const parts = [];
  const re = /<Part>([\s\S]*?)<\/Part>/g;
  let m;
  while ((m = re.exec(xml))) {
    const pn = /<PartNumber>\s*(\d+)\s*<\/PartNumber>/.exec(m[1]);
    const et = /<ETag>([\s\S]*?)<\/ETag>/.exec(m[1]);
    if (!pn || !et) return fail(ctx, 400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');
    parts.push({ n: Number(pn[1]), etag: unquote(xmlUnescape(et[1])) });
  }
  if (parts.length === 0)
    return fail(ctx, 400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');
  for (let i = 1; i < parts.length; i++)
    if (parts[i].n <= parts[i - 1].n)
      return fail(ctx, 400, 'InvalidPartOrder', 'The list of parts was not in ascending order. Parts must be ordered by part number.', { UploadId: uploadId });
  for (const p of parts) {
    const have = u.parts.get(p.n);
    if (!have || have.etag !== p.etag)
      return fail(ctx, 400, 'InvalidPart', "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
        { UploadId: uploadId, PartNumber: String(p.n), ETag: p.etag });
  }
  for (let i = 0; i < parts.length - 1; i++) {
    const have = u.parts.get(parts[i].n);
    if (have.size < MIN_PART)
      return fail(ctx, 400, 'EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed size',
        { ProposedSize: String(have.size), MinSizeAllowed: String(MIN_PART), PartNumber: String(parts[i].n), ETag: have.etag });
  }
  if (await writePrecondition(ctx)) return;
  const r = await upstream('POST', ctx.req.url, ctx.req.headers, ctx.body);
  let body = r.body;
  if (r.status === 200 && !/<Error>/.test(body.toString())) {
    u.state = 'completed';
    u.finished = Date.now();
    const md5s = Buffer.concat(parts.map(p => Buffer.from(p.etag, 'hex')));
    const etag = crypto.createHash('md5').update(md5s).digest('hex') + '-' + parts.length;
    const m = /<ETag>(?:&quot;|")?([0-9a-f]{32})(?:&quot;|")?<\/ETag>/.exec(body.toString());
    if (m) {
      mpEtags.set(ctx.lockKey, { md5: m[1], etag });
      body = Buffer.from(body.toString().replace(m[0], `<ETag>&quot;${etag}&quot;</ETag>`));
    }
    body = fixXml(body);
  }
  return reply(ctx, r.status, r.headers, body);
}

// ---- request handling ----------------------------------------------------------------

function fixEtagHeader(ctx, headers) {
  const e = mpEtags.get(ctx.lockKey);
  if (e && headers.etag && unquote(headers.etag) === e.md5) headers.etag = `"${e.etag}"`;
}
// Rewrites the ETags of multipart objects in ListObjects(V2) / ListObjectVersions XML.
function fixListEtags(bucket, body) {
  const prefix = bucket + '/';
  if (![...mpEtags.keys()].some(k => k.startsWith(prefix))) return body;
  return Buffer.from(body.toString().replace(/<(Contents|Version)>([\s\S]*?)<\/\1>/g, (all, tag, inner) => {
    const k = /<Key>([\s\S]*?)<\/Key>/.exec(inner);
    const e = k && mpEtags.get(prefix + xmlUnescape(k[1]));
    if (!e) return all;
    return all.replace(new RegExp(`<ETag>(&quot;|")?${e.md5}(&quot;|")?</ETag>`), `<ETag>&quot;${e.etag}&quot;</ETag>`);
  }));
}

// s3rver uses the namespace "http://doc.s3.amazonaws.com/2006-03-01/" for list
// results and none on the multipart results; S3 uses XMLNS on all of them.
// Only applied to S3's own XML documents, never to object data.
function fixXml(body) {
  let x = body.toString('utf8');
  if (!/^\s*<\?xml/.test(x)) return body;
  x = x.replace(/xmlns="http:\/\/doc\.s3\.amazonaws\.com\/2006-03-01\/"/g, `xmlns="${XMLNS}"`);
  x = x.replace(/<(InitiateMultipartUploadResult|CompleteMultipartUploadResult|CopyObjectResult|CopyPartResult|DeleteResult)>/, `<$1 xmlns="${XMLNS}">`);
  return Buffer.from(x);
}

async function forward(ctx) {
  const { req } = ctx;
  const isList = req.method === 'GET' && !ctx.key;     // service / bucket-level GET: S3 XML
  if (ctx.post || isList) {  // a post fault needs the whole response
    const r = await upstream(req.method, req.url, req.headers, ctx.body);
    if (ctx.key) fixEtagHeader(ctx, r.headers);
    let body = r.body;
    if (isList && r.status === 200) body = fixXml(fixListEtags(ctx.bucket, body));
    return reply(ctx, r.status, r.headers, body);
  }
  const r = await upstream(req.method, req.url, req.headers, ctx.body, true);
  ctx.status = r.status;
  const h = {};
  for (const [k, v] of Object.entries(r.headers))
    if (!['connection', 'keep-alive'].includes(k)) h[k] = v;
  if (ctx.key) fixEtagHeader(ctx, h);
  ctx.res.writeHead(r.status, h);
  r.stream.pipe(ctx.res);
  r.stream.on('error', () => ctx.res.destroy());
}

// ---- archive storage classes (s3rver has none) ---------------------------
// An object PUT or copied with x-amz-storage-class GLACIER or DEEP_ARCHIVE is
// "archived": GET answers 403 InvalidObjectState until a restore completed;
// HEAD works and carries x-amz-storage-class and x-amz-restore, as on AWS.
// RestoreObject (POST ?restore) advances a restore one step per request, so
// tests see every answer: 202 (started), then 409 RestoreAlreadyInProgress
// (after which it is done), then 200 (already restored).  POST ?restore of
// an object in no archive class is 403 InvalidObjectState, as on AWS.
const ARCHIVE_CLASSES = new Set(['GLACIER', 'DEEP_ARCHIVE']);
const archived = new Map(); // bucket/key -> {cls, restore: 'none' | 'ongoing' | 'done'}

function noteStorageClass(ctx) {
  const cls = ctx.req.headers['x-amz-storage-class'];
  if (cls && ARCHIVE_CLASSES.has(String(cls).toUpperCase()))
    archived.set(ctx.lockKey, { cls: String(cls).toUpperCase(), restore: 'none' });
  else archived.delete(ctx.lockKey);
}

async function archiveClasses(ctx) {
  const { req, query: q } = ctx;
  const m = req.method;
  const a = archived.get(ctx.lockKey);
  if (m === 'POST' && 'restore' in q) {
    if (!a) {
      const h = await upstream('HEAD', req.url.split('?')[0], {}, null);
      if (h.status === 404) return fail(ctx, 404, 'NoSuchKey', 'The specified key does not exist.');
      return fail(ctx, 403, 'InvalidObjectState', "Restore is not allowed for the object's current storage class");
    }
    if (a.restore === 'none') { a.restore = 'ongoing'; return reply(ctx, 202, {}, null); }
    if (a.restore === 'ongoing') {
      a.restore = 'done';
      return fail(ctx, 409, 'RestoreAlreadyInProgress', 'Object restore is already in progress');
    }
    return reply(ctx, 200, {}, null);
  }
  if (m === 'GET' && a && a.restore !== 'done' && qs(q, 'uploadId') === undefined)
    return fail(ctx, 403, 'InvalidObjectState', "The operation is not valid for the object's storage class", { StorageClass: a.cls });
  if (m === 'HEAD' && a) {
    const r = await upstream('HEAD', req.url, req.headers, null);
    const h = { ...r.headers, 'x-amz-storage-class': a.cls };
    if (a.restore === 'ongoing') h['x-amz-restore'] = 'ongoing-request="true"';
    if (a.restore === 'done') h['x-amz-restore'] = 'ongoing-request="false", expiry-date="Fri, 01 Jan 2100 00:00:00 GMT"';
    fixEtagHeader(ctx, h);
    return reply(ctx, r.status, h, null);
  }
  if (m === 'PUT' && req.headers['x-amz-copy-source'] && qs(q, 'uploadId') === undefined) {   // CopyObject
    return withKeyLock(ctx.lockKey, async () => {
      // S3 allows a self-copy that changes only the storage class; s3rver
      // knows no classes and refuses it unless the metadata is replaced.
      const headers = { ...req.headers };
      const src = decodeURIComponent(String(headers['x-amz-copy-source']).replace(/^\//, '').split('?')[0]);
      if (src === ctx.lockKey && headers['x-amz-storage-class']) headers['x-amz-metadata-directive'] = 'REPLACE';
      const r = await upstream('PUT', req.url, headers, ctx.body);
      if (r.status === 200 && /<CopyObjectResult/.test(r.body.toString())) {
        mpEtags.delete(ctx.lockKey);
        noteStorageClass(ctx);
      }
      return reply(ctx, r.status, r.headers, r.status === 200 ? fixXml(r.body) : r.body);
    });
  }
  if (m === 'PUT' && qs(q, 'uploadId') === undefined) noteStorageClass(ctx);
  if (m === 'DELETE' && qs(q, 'uploadId') === undefined) archived.delete(ctx.lockKey);
  return undefined;   // not handled here
}

async function dispatch(ctx) {
  const { req, query: q } = ctx;
  const m = req.method;
  const uploadId = qs(q, 'uploadId');
  if (ctx.bucket && !ctx.key) {
    if (m === 'GET' && 'uploads' in q) return listMultipartUploads(ctx);
    return forward(ctx);
  }
  if (!ctx.key) return forward(ctx);
  if (ctx.lockKey) {
    const handled = await archiveClasses(ctx);
    if (handled !== undefined) return handled;
  }
  if (m === 'POST' && 'uploads' in q) {              // CreateMultipartUpload
    const r = await upstream('POST', req.url, req.headers, ctx.body);
    if (r.status === 200) {
      const id = /<UploadId>([^<]+)<\/UploadId>/.exec(r.body.toString());
      if (id) uploads.set(xmlUnescape(id[1]), { bucket: ctx.bucket, key: ctx.key, uploadId: xmlUnescape(id[1]), initiated: Date.now(), parts: new Map(), state: 'active' });
    }
    return reply(ctx, r.status, r.headers, r.status === 200 ? fixXml(r.body) : r.body);
  }
  if (uploadId !== undefined) {
    if (m === 'PUT') {                               // UploadPart
      const pn = qs(q, 'partNumber');
      if (!/^\d+$/.test(pn || '') || +pn < 1 || +pn > 10000)
        return fail(ctx, 400, 'InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', { ArgumentName: 'partNumber', ArgumentValue: String(pn) });
      if (req.headers['x-amz-copy-source'])
        return fail(ctx, 501, 'NotImplemented', 'UploadPartCopy is not implemented by the test proxy');
      if (!findUpload(ctx, uploadId)) return noSuchUpload(ctx, uploadId);
      const r = await upstream('PUT', req.url, req.headers, ctx.body);
      const u = findUpload(ctx, uploadId);
      if (r.status === 200 && u) u.parts.set(Number(pn), { size: ctx.body.length, etag: unquote(r.headers.etag), time: Date.now() });
      return reply(ctx, r.status, r.headers, r.body);
    }
    if (m === 'POST') return withKeyLock(ctx.lockKey, () => completeUpload(ctx, uploadId));
    if (m === 'DELETE') {                            // AbortMultipartUpload
      const u = findUpload(ctx, uploadId);
      if (!u) return noSuchUpload(ctx, uploadId);
      u.state = 'aborted';
      u.finished = Date.now();
      return reply(ctx, 204, {}, null);
    }
    if (m === 'GET') return listParts(ctx, uploadId);
    return forward(ctx);
  }
  if (m === 'PUT' && !req.headers['x-amz-copy-source']) {   // PutObject (conditional writes)
    return withKeyLock(ctx.lockKey, async () => {
      if (await writePrecondition(ctx)) return;
      mpEtags.delete(ctx.lockKey);
      return forward(ctx);
    });
  }
  if (m === 'PUT' || m === 'DELETE') return withKeyLock(ctx.lockKey, () => { mpEtags.delete(ctx.lockKey); return forward(ctx); });
  return forward(ctx);
}

async function handle(req, res, expectContinue, tls) {
  if (req.url.startsWith('/__')) return control(req, res);
  const ctx = { req, res, t0: Date.now(), seq: ++seq, tls };
  res.on('close', () => finish(ctx));
  try {
    const [rawPath, rawQuery] = req.url.split(/\?(.*)/s);
    ctx.rawPath = rawPath;
    try { ctx.query = parseQuery(rawQuery); } catch (e) {
      req.resume();
      return req.on('end', () => fail(ctx, 400, 'InvalidURI', "Couldn't parse the specified URI."));
    }
    const segs = rawPath.split('/');       // ['', bucket, key...]
    try {
      ctx.bucket = decodeURIComponent(segs[1] || '');
      ctx.key = decodeURIComponent(segs.slice(2).join('/'));
    } catch (e) {
      req.resume();
      return req.on('end', () => fail(ctx, 400, 'InvalidURI', "Couldn't parse the specified URI."));
    }
    ctx.objectPath = '/' + uriEncode(ctx.bucket) + '/' + ctx.key.split('/').map(uriEncode).join('/');
    ctx.lockKey = ctx.bucket + '/' + ctx.key;

    const bad = await verifySignature(ctx);
    if (bad) {
      if (expectContinue) {           // answer instead of 100 Continue, like S3
        res.setHeader('connection', 'close');
        return fail(ctx, ...bad);
      }
      req.resume();
      return req.on('end', () => fail(ctx, ...bad));
    }
    // S3 needs Content-Length on uploads (chunked transfer encoding is refused)
    if (req.method === 'PUT' && req.headers['content-length'] === undefined && ctx.key) {
      if (expectContinue) { res.setHeader('connection', 'close'); return fail(ctx, 411, 'MissingContentLength', 'You must provide the Content-Length HTTP header.'); }
      req.resume();
      return req.on('end', () => fail(ctx, 411, 'MissingContentLength', 'You must provide the Content-Length HTTP header.'));
    }
    if (expectContinue) res.writeContinue();
    const f = takeFault(req);
    if (f) {
      ctx.fault = f;
      if (!PRE_MODES.includes(f.mode) && !POST_MODES.includes(f.mode)) {   // reset-during-upload
        const cl = Number(req.headers['content-length'] || 0);
        if (!(cl > 1)) return rst(ctx);
        let got = 0;
        req.on('data', c => { got += c.length; if (got >= cl / 2 && !ctx.reset) { ctx.reset = true; rst(ctx); } });
        return;
      }
    }
    const b = await readBody(ctx);
    if (b.tooBig) return fail(ctx, 400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed object size.', { MaxSizeAllowed: String(opt['max-body']) });
    ctx.body = b.body;
    const ph = req.headers['x-amz-content-sha256'];
    if (b.sha256 && b.sha256 !== ph)
      return fail(ctx, 400, 'XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.",
        { ClientComputedContentSHA256: ph, S3ComputedContentSHA256: b.sha256 });
    const cmd5 = req.headers['content-md5'];
    if (cmd5 !== undefined) {
      const raw = Buffer.from(cmd5, 'base64');
      if (raw.length !== 16 || raw.toString('base64') !== cmd5.trim())
        return fail(ctx, 400, 'InvalidDigest', 'The Content-MD5 you specified was invalid.', { 'Content-MD5': cmd5 });
      if (!raw.equals(b.md5))
        return fail(ctx, 400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.',
          { ExpectedDigest: cmd5, CalculatedDigest: b.md5.toString('base64') });
    }
    if (f) {
      if (PRE_MODES.includes(f.mode)) {
        if (await applyPreFault(ctx, f)) return;
      } else ctx.post = f;
    }
    await dispatch(ctx);
  } catch (e) {
    console.log(`proxy error on ${req.method} ${redactUrl(req.url)}: ${e && e.stack || e}`);
    if (!res.headersSent) fail(ctx, 502, 'BadGateway', 'upstream error: ' + (e && e.message));
    else res.destroy();
  }
}

// ---- servers -------------------------------------------------------------------------

function makeServer(server, tls) {
  server.on('request', (req, res) => handle(req, res, false, tls));
  server.on('checkContinue', (req, res) => handle(req, res, true, tls));
  server.on('clientError', (err, socket) => { if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n'); });
  server.keepAliveTimeout = 30000;
  server.requestTimeout = 0;
  server.headersTimeout = 60000;
  return server;
}
function listen(server, port) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server.address().port));
  });
}
function writeAtomic(file, text) {
  fs.writeFileSync(file + '.tmp', text);
  fs.renameSync(file + '.tmp', file);
}

(async () => {
  const port = await listen(makeServer(http.createServer(), false), opt.port);
  let tlsPort = null;
  if (opt['tls-port'] !== null) {
    const srv = https.createServer({ key: fs.readFileSync(opt['tls-key']), cert: fs.readFileSync(opt['tls-cert']) });
    tlsPort = await listen(makeServer(srv, true), opt['tls-port']);
  }
  console.log(`proxy listening on 127.0.0.1:${port} (upstream 127.0.0.1:${opt['upstream-port']}, region ${REGION}, access key ${ACCESS_KEY})`);
  if (tlsPort !== null) console.log(`proxy tls listening on 127.0.0.1:${tlsPort}`);
  if (opt['tls-port-file'] && tlsPort !== null) writeAtomic(opt['tls-port-file'], `${tlsPort}\n`);
  if (opt['port-file']) writeAtomic(opt['port-file'], `${port}\n`);
})().catch(e => { console.error(`proxy.js: ${e.message}`); process.exit(1); });

for (const s of ['SIGTERM', 'SIGINT']) process.on(s, () => { console.log(`proxy: ${s}, exiting`); process.exit(0); });
