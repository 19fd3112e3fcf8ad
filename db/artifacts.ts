import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

/**
 * Where datasets, model files and reports live, by key ("datasets/<hash>.csv").
 * The embedded default is a directory; an S3-compatible store implements the same interface.
 */
export interface ArtifactStore {
  /** a URI a person can read, e.g. file:///.../artifacts/models/x */
  uri(key: string): string;
  exists(key: string): Promise<boolean>;
  putBytes(key: string, data: Uint8Array | string): Promise<void>;
  /** copies a local file in; atomic, so a reader never sees half a file */
  putFile(key: string, sourcePath: string): Promise<void>;
  getBytes(key: string): Promise<Buffer>;
  /** a local path to read the artifact from (DuckDB reads files by path) */
  localPath(key: string): Promise<string>;
  /** removes the artifact; a key that is not there is no error */
  delete(key: string): Promise<void>;
}

export class LocalArtifactStore implements ArtifactStore {
  constructor(readonly root: string) {
    fs.mkdirSync(root, { recursive: true });
  }

  private resolve(key: string): string {
    const p = path.resolve(this.root, key);
    if (!p.startsWith(path.resolve(this.root) + path.sep)) throw new Error(`artifact key escapes the store: ${key}`);
    return p;
  }

  uri(key: string) {
    return `file://${this.resolve(key)}`;
  }

  async exists(key: string) {
    return fs.existsSync(this.resolve(key));
  }

  async putBytes(key: string, data: Uint8Array | string) {
    const dest = this.resolve(key);
    await fsp.mkdir(path.dirname(dest), { recursive: true });
    const tmp = `${dest}.${crypto.randomUUID()}.tmp`;
    await fsp.writeFile(tmp, data);
    await fsp.rename(tmp, dest);
  }

  async putFile(key: string, sourcePath: string) {
    const dest = this.resolve(key);
    await fsp.mkdir(path.dirname(dest), { recursive: true });
    const tmp = `${dest}.${crypto.randomUUID()}.tmp`;
    await pipeline(fs.createReadStream(sourcePath), fs.createWriteStream(tmp));
    await fsp.rename(tmp, dest);
  }

  async getBytes(key: string) {
    return fsp.readFile(this.resolve(key));
  }

  async localPath(key: string) {
    const p = this.resolve(key);
    if (!fs.existsSync(p)) throw new Error(`artifact not found: ${key}`);
    return p;
  }

  async delete(key: string) {
    await fsp.rm(this.resolve(key), { force: true });
  }
}
