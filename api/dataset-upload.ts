/**
 * An uploaded dataset file: the raw request body streamed to a temporary file under the data
 * directory, counted as it arrives, and refused (the partial file removed) past the size limit.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { pipeline } from 'node:stream/promises';
import { ApiError } from './errors';

export interface ReceivedFile {
  file: string;
  remove(): Promise<void>;
}

const tooLarge = (maxBytes: number) =>
  new ApiError(413, 'payload_too_large', `The upload is larger than ${maxBytes} bytes (PERENNIAL_MAX_UPLOAD_BYTES).`);

export async function receiveUpload(request: Request, maxBytes: number, uploadsDir: string): Promise<ReceivedFile> {
  const declared = Number(request.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge(maxBytes);
  if (!request.body) throw new ApiError(400, 'invalid_request', 'The body is empty: send the file as the raw request body.');
  await fsp.mkdir(uploadsDir, { recursive: true });
  const file = path.join(uploadsDir, `upload-${crypto.randomUUID()}`);
  const remove = () => fsp.rm(file, { force: true });
  let seen = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      if (seen > maxBytes) done(tooLarge(maxBytes));
      else done(null, chunk);
    },
  });
  try {
    await pipeline(Readable.fromWeb(request.body as WebReadableStream<Uint8Array>), counter, fs.createWriteStream(file, { mode: 0o600 }));
  } catch (err) {
    await remove();
    throw err instanceof ApiError ? err : new ApiError(400, 'invalid_request', `The upload broke off: ${(err as Error).message}`);
  }
  return { file, remove };
}
