/** A request body read straight from Node's stream, under a size limit; and one left unread, thrown away. */
import type { Readable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { ApiError } from './errors';

/**
 * One body being read. A class, not closures: the predict path reads a body per request, and
 * per-request closures cost (tsx names every one of them with Object.defineProperty).
 */
class BodyReader {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private incoming: IncomingMessage, private maxBytes: number, private tooLarge: () => Error,
    private resolve: (text: string) => void, private reject: (err: Error) => void) {
    this.onData = this.onData.bind(this);
    this.onEnd = this.onEnd.bind(this);
    this.onError = this.onError.bind(this);
    this.onClose = this.onClose.bind(this);
    incoming.on('data', this.onData).once('end', this.onEnd).once('error', this.onError).once('close', this.onClose);
  }
  private done() { this.incoming.off('data', this.onData).off('end', this.onEnd).off('error', this.onError).off('close', this.onClose); }
  private onData(chunk: Buffer) {
    this.size += chunk.length;
    if (this.size <= this.maxBytes) { this.chunks.push(chunk); return; }
    this.done();
    this.incoming.resume(); // drain the rest unread
    this.reject(this.tooLarge());
  }
  private onEnd() {
    this.done();
    this.resolve(this.chunks.length === 1 ? this.chunks[0].toString('utf8') : Buffer.concat(this.chunks).toString('utf8'));
  }
  // the client went away mid-body (Node says "aborted", ECONNRESET): its fault, not a dependency's, and nobody reads the answer
  private onError() { this.onClose(); }
  private onClose() {
    this.done();
    this.reject(new ApiError(400, 'invalid_request', 'The request body ended before its end: the client closed the connection.'));
  }
}

/**
 * The whole body as text, or `tooLarge()` once it passes `maxBytes` (the rest is drained unread).
 * A client that goes away mid-body rejects it too.
 */
export function readBodyText(incoming: IncomingMessage, maxBytes: number, tooLarge: () => Error): Promise<string> {
  if (Number(incoming.headers['content-length'] ?? 0) > maxBytes) return Promise.reject(tooLarge());
  return new Promise<string>((resolve, reject) => { new BodyReader(incoming, maxBytes, tooLarge, resolve, reject); });
}

/** Reads what is left of a request body and throws it away: true once it ended within `maxBytes` and 2 s. */
export function drained(body: Readable, maxBytes: number): Promise<boolean> {
  return new Promise((resolve) => {
    let seen = 0;
    const finish = (ended: boolean) => {
      clearTimeout(timer);
      body.off('data', count).off('end', onEnd).off('error', onError);
      if (!ended) body.pause();
      resolve(ended);
    };
    const count = (chunk: Buffer) => { if ((seen += chunk.length) > maxBytes) finish(false); };
    const onEnd = () => finish(true);
    const onError = () => finish(false);
    const timer = setTimeout(() => finish(false), 2000);
    body.on('data', count).once('end', onEnd).once('error', onError);
    body.resume();
  });
}
