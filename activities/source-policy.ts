/**
 * Where a dataset may come from: the one policy that the API applies to a request (a 400) and the
 * ingest activity applies again before it reads a byte (a validation rejection).
 * - `dataset://<hash>`: a version already in the registry;
 * - a path or `file://`: inside an import root after resolving symlinks, never in the data directory;
 * - `http(s)://`: public addresses only, checked after DNS resolution (and on every redirect);
 * - `sql://<name>`: a connection an admin configured, never the platform's own database.
 */
import dns from 'node:dns';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DATASET_HASH_PATTERN, DATASET_SCHEME, MAX_DATASET_URI_LENGTH, SQL_SCHEME, SQL_SOURCE_NAME_PATTERN, schemeOf,
} from '../common/source-uri';
import type { Config } from '../config';
import type { DuckDbLimits } from './duckdb';

export interface SourcePolicy {
  /** absolute folders a local file must be inside (after realpath); empty: no local files */
  importRoots: string[];
  /** the platform's own files: never a source, even inside a root */
  dataDir: string;
  /** PERENNIAL_ALLOW_PRIVATE_SOURCES: http(s) may reach loopback and private networks */
  allowPrivateAddresses: boolean;
  /** name -> postgres:// URL */
  sqlSources: Record<string, string>;
  /** the platform's database, never a SQL source */
  platformDatabaseUrl?: string;
  maxBytes: number;
  maxRows: number;
  /** how long an http(s) source may take, in ms */
  timeoutMs: number;
  statementTimeoutMs: number;
  duckdbMemoryLimit: string;
}

export function sourcePolicyOf(config: Config): SourcePolicy {
  return {
    importRoots: config.sources.importRoots, dataDir: config.dataDir, allowPrivateAddresses: config.sources.allowPrivateAddresses,
    sqlSources: config.sources.sql, platformDatabaseUrl: config.databaseUrl, maxBytes: config.sources.maxBytes,
    maxRows: config.sources.maxRows, timeoutMs: config.sourceTimeoutMs, statementTimeoutMs: config.sources.statementTimeoutMs,
    duckdbMemoryLimit: config.duckdbMemoryLimit,
  };
}

/** DuckDB's caps for ingest: the memory limit, and a spill folder under the data directory. */
export function duckDbLimitsOf(policy: SourcePolicy): DuckDbLimits {
  return { memoryLimit: policy.duckdbMemoryLimit, tempDirectory: path.join(policy.dataDir, 'duckdb-tmp') };
}

/** A source the policy refuses. The message names the rule and never what the source holds. */
export class SourceRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SourceRefused';
  }
}

export const RULES = {
  tooLong: `a dataset URI has at most ${MAX_DATASET_URI_LENGTH} characters`,
  scheme: 'use dataset://<hash>, a path or file:// inside PERENNIAL_IMPORT_ROOTS, http(s)://, or sql://<name>',
  postgres: 'postgres:// URIs are not accepted: name a connection an admin configured in PERENNIAL_SQL_SOURCES, as sql://<name>',
  datasetHash: 'dataset://<hash> names a dataset version by its sha256: 64 lowercase hex digits',
  unknownDataset: 'unknown dataset: upload it with POST /v1/datasets, or ingest it through a pipeline first',
  sqlName: 'sql://<name>: the name of a connection configured in PERENNIAL_SQL_SOURCES',
  sqlPlatform: 'the platform\'s own database (DATABASE_URL) is never a dataset source',
  sqlQuery: 'an sql:// dataset needs a "query"',
  queryWithoutSql: '"query" goes with sql://<name> sources only',
  fileHost: 'file:// URIs name no host (file:///absolute/path)',
  localOff: 'local files are refused: PERENNIAL_IMPORT_ROOTS is empty',
  outsideRoots: 'local files are read only inside PERENNIAL_IMPORT_ROOTS',
  dataDir: 'the data directory (PERENNIAL_DATA_DIR) is never a dataset source',
  userInfo: 'credentials in a URL (user:password@) are not accepted; use a signed URL or a public one',
  privateAddress: 'http(s) sources must be public addresses (set PERENNIAL_ALLOW_PRIVATE_SOURCES=true to allow private networks)',
} as const;

const refuse = (rule: string) => new SourceRefused(`dataset.uri: ${rule}`);

export type PlannedSource =
  | { kind: 'dataset'; hash: string }
  | { kind: 'file'; path: string }
  | { kind: 'http'; url: URL }
  | { kind: 'sql'; name: string; url: string };

/**
 * Everything that can be decided from the request: the scheme, the name of a SQL source, user-info,
 * a literal address, and where a path leads (its symlinks resolved as far as it exists here).
 */
export async function planSource(spec: { uri: string; query?: string }, policy: SourcePolicy): Promise<PlannedSource> {
  const { uri } = spec;
  if (uri.length > MAX_DATASET_URI_LENGTH) throw refuse(RULES.tooLong);
  const scheme = schemeOf(uri);
  if (scheme === 'postgres' || scheme === 'postgresql') throw refuse(RULES.postgres);
  if (scheme !== 'sql' && spec.query !== undefined) throw refuse(RULES.queryWithoutSql);
  switch (scheme) {
    case undefined: return { kind: 'file', path: await confineLocalFile(path.resolve(uri), policy) };
    case 'file': return { kind: 'file', path: await confineLocalFile(filePathOf(uri), policy) };
    case 'dataset': {
      const hash = uri.slice(DATASET_SCHEME.length);
      if (!DATASET_HASH_PATTERN.test(hash)) throw refuse(RULES.datasetHash);
      return { kind: 'dataset', hash };
    }
    case 'http': case 'https': {
      const url = parseHttpUrl(uri);
      checkLiteralAddress(url, policy);
      return { kind: 'http', url };
    }
    case 'sql': {
      const name = uri.slice(SQL_SCHEME.length);
      if (!SQL_SOURCE_NAME_PATTERN.test(name) || !Object.hasOwn(policy.sqlSources, name)) throw refuse(RULES.sqlName);
      const url = policy.sqlSources[name];
      if (policy.platformDatabaseUrl && sameDatabase(url, policy.platformDatabaseUrl)) throw refuse(RULES.sqlPlatform);
      if (!spec.query) throw refuse(RULES.sqlQuery);
      return { kind: 'sql', name, url };
    }
    default: throw refuse(RULES.scheme);
  }
}

function filePathOf(uri: string): string {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw refuse(RULES.fileHost);
  }
  if (url.host) throw refuse(RULES.fileHost);
  return fileURLToPath(url);
}

// ---- local files ------------------------------------------------------------------------------

const inside = (child: string, parent: string) => child === parent || child.startsWith(parent.endsWith(path.sep) ? parent : parent + path.sep);

/** The real path of the longest part of `p` that exists, with the rest appended: symlinks resolved as far as they can be. */
async function realpathAsFarAsExists(p: string): Promise<string> {
  const rest: string[] = [];
  let current = path.resolve(p);
  for (;;) {
    try {
      return path.join(await fs.realpath(current), ...rest.reverse());
    } catch (err) {
      const parent = path.dirname(current);
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || parent === current) throw err;
      rest.push(path.basename(current));
      current = parent;
    }
  }
}

/**
 * The path to read, after resolving symlinks: inside an import root, outside the data directory.
 * A path that does not exist (yet, or on this machine) is judged as far as it exists.
 */
export async function confineLocalFile(file: string, policy: SourcePolicy): Promise<string> {
  if (!policy.importRoots.length) throw refuse(RULES.localOff);
  const real = await realpathAsFarAsExists(file);
  const dataDir = await realpathAsFarAsExists(policy.dataDir);
  if (inside(real, dataDir) || inside(path.resolve(file), path.resolve(policy.dataDir))) throw refuse(RULES.dataDir);
  const roots = await Promise.all(policy.importRoots.map(realpathAsFarAsExists));
  if (!roots.some((root) => inside(real, root))) throw refuse(RULES.outsideRoots);
  return real;
}

// ---- http(s) --------------------------------------------------------------------------------

/** An http(s) URL with no user-info; the refusal does not repeat the URL. */
export function parseHttpUrl(uri: string): URL {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw refuse('not a valid http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw refuse(RULES.scheme);
  if (url.username || url.password) throw refuse(RULES.userInfo);
  return url;
}

const hostOf = (url: URL) => url.hostname.replace(/^\[(.*)\]$/, '$1');

/** A URL whose host is an IP literal (in any spelling the URL parser accepts) must be public. */
export function checkLiteralAddress(url: URL, policy: Pick<SourcePolicy, 'allowPrivateAddresses'>) {
  const host = hostOf(url);
  if (!policy.allowPrivateAddresses && net.isIP(host) && !isPublicAddress(host)) throw refuse(RULES.privateAddress);
}

const nonPublic = new net.BlockList();
const V4_RANGES: [string, number][] = [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24],
  ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4], // multicast; reserved, with broadcast 255.255.255.255
];
for (const [a, bits] of V4_RANGES) {
  nonPublic.addSubnet(a, bits, 'ipv4');
  // the same ranges spelled as IPv6: IPv4-mapped, IPv4-compatible and NAT64
  for (const prefix of ['::ffff:', '::', '64:ff9b::']) nonPublic.addSubnet(`${prefix}${a}`, 96 + bits, 'ipv6');
}
for (const [a, bits] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8],
  ['100::', 64], ['2001:db8::', 32], ['2002::', 16]] as [string, number][]) {
  nonPublic.addSubnet(a, bits, 'ipv6');
}

/** Whether an IP address is on the public internet: not loopback, private, link-local, CGNAT, multicast or reserved. */
export function isPublicAddress(ip: string): boolean {
  const family = net.isIP(ip);
  if (!family) return false;
  return !nonPublic.check(ip, family === 4 ? 'ipv4' : 'ipv6');
}

export interface ResolvedAddress { address: string; family: number }
export type Lookup = (host: string) => Promise<ResolvedAddress[]>;
export const systemLookup: Lookup = (host) => dns.promises.lookup(host, { all: true, verbatim: true });

/**
 * The address to connect to for a URL: its host resolved once, every address it resolves to
 * checked (one private address refuses the host), and the first returned so the caller connects to
 * exactly what was checked.
 */
export async function vetHttpTarget(url: URL, policy: Pick<SourcePolicy, 'allowPrivateAddresses'>, lookup: Lookup = systemLookup): Promise<ResolvedAddress> {
  parseHttpUrl(url.toString());
  checkLiteralAddress(url, policy);
  const host = hostOf(url);
  const family = net.isIP(host);
  const addresses = family ? [{ address: host, family }] : await lookup(host);
  if (!addresses.length) throw new SourceRefused(`dataset.uri: ${url.hostname} has no address`);
  if (!policy.allowPrivateAddresses && addresses.some((a) => !isPublicAddress(a.address))) {
    throw refuse(`${url.hostname} resolves to a non-public address; ${RULES.privateAddress}`);
  }
  return addresses[0];
}

// ---- sql ------------------------------------------------------------------------------------

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

/** Whether two postgres:// URLs name the same database on the same server (loopback spellings are one host). */
export function sameDatabase(a: string, b: string): boolean {
  const key = (uri: string) => {
    const u = new URL(uri);
    const host = u.hostname.toLowerCase();
    const user = decodeURIComponent(u.username) || 'postgres';
    return [LOOPBACK_NAMES.has(host) ? 'loopback' : host, u.port || '5432', decodeURIComponent(u.pathname.slice(1)) || user].join('\0');
  };
  try {
    return key(a) === key(b);
  } catch {
    return false;
  }
}
