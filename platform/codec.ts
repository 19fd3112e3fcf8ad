/**
 * Payload encryption: a Temporal PayloadCodec that turns every payload a client or worker sends to
 * Temporal into AES-256-GCM ciphertext, so workflow history (dataset URIs, queries, features,
 * metrics, approvers' comments) is unreadable to whoever reads Temporal's database or frontend
 * without the key. After Temporal's samples-typescript `encryption` sample: the whole Payload proto,
 * metadata included, is encrypted into a new payload that says only its encoding and key id.
 *
 *   data = 12-byte random IV | ciphertext | 16-byte GCM tag
 *
 * Decoding leaves a payload of any other encoding as it is, so history written before the key was
 * set stays readable. Search attributes are not payloads under codecs: they stay plain.
 * Node-only (node:crypto): never imported by workflows/ or common/.
 */
import { fileURLToPath } from 'node:url';
import { createCipheriv, createDecipheriv, randomBytes, type KeyObject } from 'node:crypto';
import { METADATA_ENCODING_KEY, ValueError, type Payload, type PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';
import type { CodecKeys, Config } from '../config';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const ProtoPayload = proto.temporal.api.common.v1.Payload;

const text = (bytes: Uint8Array | null | undefined) => (bytes ? Buffer.from(bytes).toString('utf8') : undefined);
/** a key id as a payload names it, fit for a message: the payload may come from anyone (the codec routes) */
const shownId = (id: string) => JSON.stringify(id.length > 64 ? `${id.slice(0, 64)}…` : id);

export function encrypt(plain: Uint8Array, key: KeyObject): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  return Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
}

/** The plaintext, or a ValueError when the data was altered or the key is not the one it was sealed with. */
export function decrypt(sealed: Uint8Array, key: KeyObject, keyId: string): Buffer {
  if (sealed.length < IV_BYTES + TAG_BYTES) throw new ValueError(`Encrypted payload under key id ${shownId(keyId)} is too short to be one.`);
  const data = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
  decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new ValueError(`Encrypted payload under key id ${shownId(keyId)} does not decrypt: it was altered, or that id names another key here.`);
  }
}

export class EncryptionCodec implements PayloadCodec {
  constructor(private readonly keys: CodecKeys) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const current = this.keys.current;
    if (!current) return payloads; // decode-only: encryption is being turned off
    return payloads.map((payload) => ({
      metadata: {
        [METADATA_ENCODING_KEY]: Buffer.from(ENCRYPTED_ENCODING),
        [KEY_ID_METADATA]: Buffer.from(current.id),
      },
      data: encrypt(ProtoPayload.encode(payload).finish(), current.key),
    }));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      if (text(payload.metadata?.[METADATA_ENCODING_KEY]) !== ENCRYPTED_ENCODING) return payload;
      const keyId = text(payload.metadata?.[KEY_ID_METADATA]);
      if (!keyId) throw new ValueError('Encrypted payload names no encryption-key-id.');
      const key = this.keys.readable.get(keyId);
      if (!key) {
        throw new ValueError(`Encrypted payload under key id ${shownId(keyId)}, which is neither PERENNIAL_CODEC_KEY_ID nor in PERENNIAL_CODEC_OLD_KEYS.`);
      }
      const plain = decrypt(payload.data ?? new Uint8Array(), key, keyId);
      try {
        return ProtoPayload.decode(plain);
      } catch {
        throw new ValueError(`Encrypted payload under key id ${shownId(keyId)} decrypts to something that is not a payload.`);
      }
    });
  }
}

/** The codec the config asks for, or undefined when payload encryption is off. */
export function payloadCodecOf(config: Pick<Config, 'codec'>): PayloadCodec | undefined {
  return config.codec ? new EncryptionCodec(config.codec) : undefined;
}

/** platform/encrypted-failures.ts: error messages and stack traces as payloads, so the codec encrypts them */
export const ENCRYPTED_FAILURES_PATH = fileURLToPath(new URL('./encrypted-failures.ts', import.meta.url));

/** The `dataConverter` option for a Client or Worker.create: the codec, and failures it can encrypt, when there is one. */
export function dataConverterOf(codec: PayloadCodec | undefined) {
  return codec ? { payloadCodecs: [codec], failureConverterPath: ENCRYPTED_FAILURES_PATH } : undefined;
}
