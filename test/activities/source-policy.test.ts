/**
 * The source policy on its own: every refusal it makes from a request (schemes, names, paths,
 * addresses), its checks after DNS resolution, redirects checked hop by hop, and URI redaction.
 * Real files and symlinks in a temp folder, a real HTTP server on this machine.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { fromHttp } from '../../activities/http-source';
import {
  isPublicAddress, planSource, sameDatabase, SourceRefused, vetHttpTarget, type Lookup, type SourcePolicy,
} from '../../activities/source-policy';
import { redactUri } from '../../common/source-uri';
import { testSourcePolicy } from '../helpers/sources';

let dir: string;
let root: string;
let policy: SourcePolicy;
let server: http.Server;
let base: string;
const sockets = new Set<net.Socket>();

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'perennial-policy-'));
  root = path.join(dir, 'imports');
  fs.mkdirSync(root);
  fs.writeFileSync(path.join(root, 'ok.csv'), 'a,b\n1,2\n');
  fs.writeFileSync(path.join(dir, 'outside.csv'), 'a,b\n1,2\n');
  fs.symlinkSync('/etc/passwd', path.join(root, 'passwd.csv'));
  fs.symlinkSync(dir, path.join(root, 'up'));
  // a data directory inside an import root is still refused
  fs.mkdirSync(path.join(root, 'data'));
  fs.writeFileSync(path.join(root, 'data', 'admin-token'), 'pk_admin_secret\n');
  policy = testSourcePolicy({
    dataDir: path.join(root, 'data'), roots: [root],
    env: { PERENNIAL_SQL_SOURCES: 'warehouse=postgres://reader:pw@db.internal:5432/dw,platform=postgres://perennial:x@localhost/perennial', DATABASE_URL: 'postgres://perennial:y@127.0.0.1:5432/perennial' },
  });

  server = http.createServer((req, res) => {
    const [, kind, target] = /^\/(\w+)(?:\?to=(.*))?$/.exec(req.url ?? '') ?? [];
    if (kind === 'redirect') { res.writeHead(302, { location: decodeURIComponent(target) }); res.end(); }
    else if (kind === 'loop') { res.writeHead(302, { location: '/loop' }); res.end(); }
    else if (kind === 'big') { res.writeHead(200, { 'content-length': '100000' }); res.end(Buffer.alloc(100000, 97)); }
    else if (kind === 'chunked') { res.write(Buffer.alloc(60000, 97)); res.end(Buffer.alloc(60000, 97)); }
    else { res.writeHead(200, { 'content-type': 'text/csv' }); res.end('a,b\n1,2\n'); }
  });
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
});
after(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => server.close(r));
  fs.rmSync(dir, { recursive: true, force: true });
});

async function refusedAtRequest(spec: { uri: string; query?: string }, rule: RegExp, p: SourcePolicy = policy) {
  await assert.rejects(planSource(spec, p), (err: unknown) => {
    assert.ok(err instanceof SourceRefused, `a SourceRefused, got ${err}`);
    assert.match(err.message, rule);
    return true;
  });
}

test('a file inside an import root is planned as its real path; file:// names the same file', async () => {
  const real = fs.realpathSync(path.join(root, 'ok.csv'));
  assert.deepEqual(await planSource({ uri: path.join(root, 'ok.csv') }, policy), { kind: 'file', path: real });
  assert.deepEqual(await planSource({ uri: `file://${path.join(root, 'ok.csv')}` }, policy), { kind: 'file', path: real });
});

test('a file outside the import roots is refused, also through .. and through a symlink to a folder outside', async () => {
  await refusedAtRequest({ uri: path.join(dir, 'outside.csv') }, /local files are read only inside PERENNIAL_IMPORT_ROOTS/);
  await refusedAtRequest({ uri: path.join(root, '..', 'outside.csv') }, /inside PERENNIAL_IMPORT_ROOTS/);
  await refusedAtRequest({ uri: path.join(root, 'up', 'outside.csv') }, /inside PERENNIAL_IMPORT_ROOTS/);
  await refusedAtRequest({ uri: 'file:///etc/passwd' }, /inside PERENNIAL_IMPORT_ROOTS/);
});

test('a symlink inside an import root that points to /etc/passwd is refused', () =>
  refusedAtRequest({ uri: path.join(root, 'passwd.csv') }, /inside PERENNIAL_IMPORT_ROOTS/));

test('the data directory is refused even inside an import root, and a path that does not exist there too', async () => {
  await refusedAtRequest({ uri: path.join(root, 'data', 'admin-token') }, /the data directory \(PERENNIAL_DATA_DIR\) is never a dataset source/);
  await refusedAtRequest({ uri: path.join(root, 'data', 'not-yet.csv') }, /data directory/);
});

test('a path that does not exist is judged by where it would be: inside a root it is allowed (the worker says "not found")', async () => {
  assert.equal((await planSource({ uri: path.join(root, 'later.csv') }, policy)).kind, 'file');
  await refusedAtRequest({ uri: '/no/such/file.csv' }, /inside PERENNIAL_IMPORT_ROOTS/);
});

test('no import roots means no local files', () =>
  refusedAtRequest({ uri: path.join(root, 'ok.csv') }, /PERENNIAL_IMPORT_ROOTS is empty/, testSourcePolicy({ dataDir: path.join(dir, 'd'), env: { PERENNIAL_IMPORT_ROOTS: '' } })));

test('a file:// URI with a host is a clean refusal, not a TypeError', async () => {
  await refusedAtRequest({ uri: 'file://evil/etc/passwd' }, /file:\/\/ URIs name no host/);
  await refusedAtRequest({ uri: 'file://127.0.0.1/etc/passwd' }, /file:\/\/ URIs name no host/);
});

test('schemes: postgres:// is refused in favour of sql://<name>; unknown schemes name the accepted ones', async () => {
  await refusedAtRequest({ uri: 'postgres://u:p@host/db', query: 'select 1' }, /postgres:\/\/ URIs are not accepted: .*sql:\/\/<name>/);
  await refusedAtRequest({ uri: 'postgresql://host/db', query: 'select 1' }, /not accepted/);
  await refusedAtRequest({ uri: 'ftp://host/x.csv' }, /use dataset:\/\/<hash>, a path or file:\/\/ inside PERENNIAL_IMPORT_ROOTS, http\(s\):\/\/, or sql:\/\/<name>/);
  await refusedAtRequest({ uri: 'gopher://127.0.0.1:6379/_INFO' }, /use dataset:\/\//);
});

test('sql://<name>: a configured name is planned; an unknown name, a bad name, a missing query and the platform database are refused', async () => {
  assert.deepEqual(await planSource({ uri: 'sql://warehouse', query: 'select 1' }, policy),
    { kind: 'sql', name: 'warehouse', url: 'postgres://reader:pw@db.internal:5432/dw' });
  await refusedAtRequest({ uri: 'sql://nope', query: 'select 1' }, /sql:\/\/<name>: the name of a connection configured in PERENNIAL_SQL_SOURCES/);
  await refusedAtRequest({ uri: 'sql://Bad Name', query: 'select 1' }, /PERENNIAL_SQL_SOURCES/);
  await refusedAtRequest({ uri: 'sql://constructor', query: 'select 1' }, /PERENNIAL_SQL_SOURCES/);
  await refusedAtRequest({ uri: 'sql://warehouse' }, /needs a "query"/);
  await refusedAtRequest({ uri: 'sql://platform', query: 'select 1' }, /the platform's own database \(DATABASE_URL\) is never a dataset source/);
  await refusedAtRequest({ uri: path.join(root, 'ok.csv'), query: 'select 1' }, /"query" goes with sql:\/\/<name> sources only/);
});

test('the platform database is recognised however its host is spelled', () => {
  assert.ok(sameDatabase('postgres://a@localhost/perennial', 'postgres://b:x@127.0.0.1:5432/perennial'));
  assert.ok(sameDatabase('postgres://postgres@[::1]:5432', 'postgres://postgres@localhost/postgres'));
  assert.ok(!sameDatabase('postgres://a@localhost/other', 'postgres://a@localhost/perennial'));
  assert.ok(!sameDatabase('postgres://a@localhost:5433/perennial', 'postgres://a@localhost/perennial'));
});

test('dataset://<hash> needs 64 lowercase hex digits', async () => {
  const hash = 'a'.repeat(64);
  assert.deepEqual(await planSource({ uri: `dataset://${hash}` }, policy), { kind: 'dataset', hash });
  await refusedAtRequest({ uri: 'dataset://abc' }, /64 lowercase hex digits/);
  await refusedAtRequest({ uri: `dataset://${'A'.repeat(64)}` }, /64 lowercase hex digits/);
  await refusedAtRequest({ uri: `dataset://../${hash}` }, /64 lowercase hex digits/);
});

test('an http(s) URL with user-info is refused, and the refusal does not show the password', async () => {
  await assert.rejects(planSource({ uri: 'https://svc:Sup3rSecret@example.com/data.csv' }, policy), (err: Error) => {
    assert.match(err.message, /credentials in a URL \(user:password@\) are not accepted/);
    assert.doesNotMatch(err.message, /Sup3rSecret|svc/);
    return true;
  });
});

test('literal private addresses are refused at the request, in every spelling the URL parser accepts', async () => {
  for (const uri of [
    'http://127.0.0.1/', 'http://2130706433/', 'http://0x7f.1/', 'http://127.1/', 'http://0177.0.0.1/', 'http://017700000001/',
    'http://10.1.2.3/', 'http://172.16.0.1/', 'http://192.168.1.1/', 'http://169.254.169.254/latest/meta-data/', 'http://100.64.0.1/',
    'http://0.0.0.0/', 'http://224.0.0.1/', 'http://255.255.255.255/', 'http://[::1]/', 'http://[::]/', 'http://[fc00::1]/',
    'http://[fd12:3456::1]/', 'http://[fe80::1]/', 'http://[::ffff:127.0.0.1]/', 'http://[::ffff:169.254.169.254]/', 'http://[::ffff:a00:1]/',
    'https://127.0.0.1:8443/x.csv',
  ]) {
    await refusedAtRequest({ uri }, /http\(s\) sources must be public addresses/);
  }
  assert.equal((await planSource({ uri: 'http://8.8.8.8/x.csv' }, policy)).kind, 'http');
  const open = testSourcePolicy({ dataDir: dir, env: { PERENNIAL_ALLOW_PRIVATE_SOURCES: 'true' } });
  assert.equal((await planSource({ uri: 'http://127.0.0.1/x.csv' }, open)).kind, 'http', 'PERENNIAL_ALLOW_PRIVATE_SOURCES lifts the check');
});

test('public and non-public addresses are told apart', () => {
  for (const ip of ['8.8.8.8', '1.1.1.1', '93.184.216.34', '2606:4700:4700::1111', '::ffff:8.8.8.8']) assert.ok(isPublicAddress(ip), ip);
  for (const ip of ['127.0.0.1', '10.0.0.1', '172.31.255.255', '192.168.0.1', '169.254.169.254', '100.127.0.1', '0.0.0.0', '239.1.1.1',
    '255.255.255.255', '::1', '::', 'fc00::1', 'fe80::1', 'ff02::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '64:ff9b::a00:1', 'not-an-ip']) {
    assert.ok(!isPublicAddress(ip), ip);
  }
});

const resolvesTo = (...addresses: string[]): Lookup => async () => addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

test('a host is checked after DNS resolution: one private address among its answers refuses it', async () => {
  const url = new URL('https://data.example.com/x.csv');
  assert.deepEqual(await vetHttpTarget(url, policy, resolvesTo('93.184.216.34')), { address: '93.184.216.34', family: 4 });
  for (const answers of [['127.0.0.1'], ['10.0.0.7'], ['169.254.169.254'], ['93.184.216.34', '192.168.1.5'], ['::1'], ['::ffff:127.0.0.1']]) {
    await assert.rejects(vetHttpTarget(url, policy, resolvesTo(...answers)), (err: Error) =>
      err instanceof SourceRefused && /data\.example\.com resolves to a non-public address/.test(err.message));
  }
});

/** lets this machine's test server through, and applies the real check to every other hop */
const vetAllowingTestServer = (answers: Lookup) => (url: URL) =>
  url.host === new URL(base).host ? Promise.resolve({ address: '127.0.0.1', family: 4 }) : vetHttpTarget(url, policy, answers);

async function downloadRefused(uri: string, message: RegExp, vet = vetAllowingTestServer(resolvesTo('127.0.0.1'))) {
  await assert.rejects(fromHttp(uri, policy, vet), (err: unknown) => {
    assert.ok(err instanceof ApplicationFailure && err.nonRetryable, `a non-retryable failure, got ${err}`);
    assert.match(err.message, message);
    return true;
  });
}

test('every redirect hop is checked: a redirect to a metadata address or to a host that resolves privately is refused', async () => {
  await downloadRefused(`${base}/redirect?to=${encodeURIComponent('http://169.254.169.254/latest/meta-data/')}`, /must be public addresses .*\(after a redirect from http:\/\/127\.0\.0\.1/);
  await downloadRefused(`${base}/redirect?to=${encodeURIComponent('http://internal.example/x.csv')}`, /internal\.example resolves to a non-public address/);
  await downloadRefused(`${base}/redirect?to=${encodeURIComponent('http://u:pw@example.com/x.csv')}`, /credentials in a URL/);
  await downloadRefused(`${base}/redirect?to=${encodeURIComponent('file:///etc/passwd')}`, /use dataset:\/\//);
});

test('a redirect within the allowed host is followed, and more than 5 redirects are refused', async () => {
  const local = await fromHttp(`${base}/redirect?to=${encodeURIComponent('/data.csv')}`, policy, vetAllowingTestServer(resolvesTo()));
  try {
    assert.equal(fs.readFileSync(local.file, 'utf8'), 'a,b\n1,2\n');
  } finally {
    await local.cleanup();
  }
  await downloadRefused(`${base}/loop`, /redirected more than 5 times/);
});

test('the connection goes to the vetted address, whatever the host name says', async () => {
  // .invalid never resolves in DNS: only the pinned address can have answered
  const local = await fromHttp(`http://pinned.invalid:${new URL(base).port}/data.csv`, policy, async () => ({ address: '127.0.0.1', family: 4 }));
  try {
    assert.equal(fs.readFileSync(local.file, 'utf8'), 'a,b\n1,2\n');
  } finally {
    await local.cleanup();
  }
});

test('the byte cap: a declared length over it is refused before reading, a stream over it is cut off', async () => {
  const small = { ...policy, maxBytes: 50_000 };
  const vet = vetAllowingTestServer(resolvesTo());
  await assert.rejects(fromHttp(`${base}/big`, small, vet), /100000 bytes, more than 50000 \(PERENNIAL_MAX_SOURCE_BYTES\)/);
  await assert.rejects(fromHttp(`${base}/chunked`, small, vet), /larger than 50000 bytes \(PERENNIAL_MAX_SOURCE_BYTES\)/);
});

test('redaction removes user-info and credential query parameters, and leaves the rest', () => {
  assert.equal(redactUri('https://svc:Sup3rSecret@host.example/d.csv'), 'https://host.example/d.csv');
  const signed = redactUri('https://b.s3.amazonaws.com/d.csv?X-Amz-Algorithm=AWS4&X-Amz-Signature=abc123&X-Amz-Credential=AKIA&part=2');
  assert.doesNotMatch(signed, /abc123|AKIA/);
  assert.match(signed, /X-Amz-Signature=REDACTED/);
  assert.match(signed, /part=2/);
  for (const name of ['sig', 'signature', 'token', 'access_token', 'key', 'api_key', 'secret', 'client_secret', 'password', 'refreshToken']) {
    assert.doesNotMatch(redactUri(`https://h.example/x?${name}=s3cr3t`), /s3cr3t/, name);
  }
  assert.equal(redactUri('datasets/weather.csv'), 'datasets/weather.csv');
  assert.equal(redactUri('sql://warehouse'), 'sql://warehouse');
});
