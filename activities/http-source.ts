/**
 * An http(s) dataset, streamed to disk. Each hop's host is resolved and checked by the source
 * policy, and the connection goes to exactly the address that was checked (no second DNS answer
 * can send it elsewhere). Redirects are followed by hand, at most MAX_REDIRECTS, each checked.
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ApplicationFailure } from '@temporalio/common';
import { redactUri } from '../common/source-uri';
import { datasetError, tempDir, transient, type LocalSource } from './source-errors';
import { parseHttpUrl, SourceRefused, vetHttpTarget, type ResolvedAddress, type SourcePolicy } from './source-policy';

export const MAX_REDIRECTS = 5;

/** how the address of each hop is chosen: the policy's check by default */
export type VetTarget = (url: URL) => Promise<ResolvedAddress>;

/** A lookup that answers only the vetted address, whatever the host. */
export const pinnedLookup = (pinned: ResolvedAddress): LookupFunction => (_host, options, callback) => {
  if (options.all) (callback as (e: null, a: ResolvedAddress[]) => void)(null, [pinned]);
  else callback(null, pinned.address, pinned.family);
};

function get(url: URL, pinned: ResolvedAddress, signal: AbortSignal): Promise<http.IncomingMessage> {
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.get(url, { lookup: pinnedLookup(pinned), signal, headers: { 'user-agent': 'perennial' } }, resolve);
    req.once('error', reject);
  });
}

/** Counts bytes as they pass and fails the stream past the cap. */
function byteCap(maxBytes: number, shown: string) {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      if (seen > maxBytes) done(datasetError(`${shown} is larger than ${maxBytes} bytes (PERENNIAL_MAX_SOURCE_BYTES).`));
      else done(null, chunk);
    },
  });
}

export async function fromHttp(uri: string, policy: SourcePolicy, vet: VetTarget = (url) => vetHttpTarget(url, policy)): Promise<LocalSource> {
  const shown = redactUri(uri);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`no answer within ${policy.timeoutMs / 1000} s`)), policy.timeoutMs);
  try {
    let url = parseHttpUrl(uri);
    for (let hop = 0; ; hop++) {
      let res: http.IncomingMessage;
      try {
        res = await get(url, await vet(url), controller.signal);
      } catch (err) {
        if (err instanceof SourceRefused) throw datasetError(hop ? `${err.message} (after a redirect from ${shown})` : err.message);
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOTFOUND' || code === 'ECONNREFUSED') {
          throw datasetError(`Could not download ${shown}: ${code === 'ENOTFOUND' ? 'no such host' : 'connection refused'}.`);
        }
        const reason = controller.signal.aborted ? (controller.signal.reason as Error).message : (err as Error).message;
        throw transient(`Could not download ${shown}: ${reason}`);
      }
      const status = res.statusCode ?? 0;
      if ([301, 302, 303, 307, 308].includes(status) && res.headers.location) {
        res.resume();
        if (hop >= MAX_REDIRECTS) throw datasetError(`Downloading ${shown} was redirected more than ${MAX_REDIRECTS} times.`);
        try {
          url = parseHttpUrl(new URL(res.headers.location, url).toString());
        } catch (err) {
          throw datasetError(`${(err as Error).message} (a redirect from ${shown})`);
        }
        continue;
      }
      if (status >= 500 || status === 429 || status === 408) {
        res.resume();
        throw transient(`Downloading ${shown} answered ${status} ${res.statusMessage ?? ''}; retrying.`.replace(' ;', ';'));
      }
      if (status < 200 || status >= 300) {
        res.resume();
        throw datasetError(`Downloading ${shown} answered ${status} ${res.statusMessage ?? ''}.`.replace(' .', '.'));
      }
      const length = Number(res.headers['content-length']);
      if (Number.isFinite(length) && length > policy.maxBytes) {
        res.destroy();
        throw datasetError(`${shown} is ${length} bytes, more than ${policy.maxBytes} (PERENNIAL_MAX_SOURCE_BYTES).`);
      }
      return await saveBody(res, url, shown, policy.maxBytes, controller.signal);
    }
  } finally {
    clearTimeout(timer);
  }
}

async function saveBody(res: http.IncomingMessage, url: URL, shown: string, maxBytes: number, signal: AbortSignal): Promise<LocalSource> {
  const { dir, cleanup } = await tempDir();
  const name = path.basename(url.pathname) || 'download';
  const file = path.join(dir, name);
  try {
    await pipeline(res, byteCap(maxBytes, shown), fs.createWriteStream(file), { signal });
  } catch (err) {
    await cleanup();
    if (err instanceof ApplicationFailure) throw err;
    const reason = signal.aborted ? (signal.reason as Error).message : (err as Error).message;
    throw transient(`Downloading ${shown} broke off: ${reason}`);
  }
  return { file, name, cleanup };
}
