import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { test } from 'node:test';
import proto from '@temporalio/proto';
import { defaultPayloadConverter, ValueError, type Payload } from '@temporalio/common';
import { loadConfig } from '../../config';
import { ENCRYPTED_ENCODING, KEY_ID_METADATA, payloadCodecOf } from '../../platform/codec';

const newKey = () => crypto.randomBytes(32).toString('base64');
const codecWith = (env: Record<string, string>) => payloadCodecOf(loadConfig(env))!;
const text = (bytes?: Uint8Array | null) => Buffer.from(bytes ?? []).toString('utf8');
const value = { uri: 'node_modules/vega-datasets/data/seattle-weather.csv', features: ['temp_max', 'precipitation'] };

test('no key: no codec, payloads go to Temporal as they are', () => {
  assert.equal(payloadCodecOf(loadConfig({})), undefined);
  assert.equal(payloadCodecOf(loadConfig({ PERENNIAL_CODEC_KEY: '' })), undefined, 'empty is off (compose passes unset variables as empty)');
});

test('encode -> decode gives back the payload, metadata and all; the encoded one shows neither', async () => {
  const codec = codecWith({ PERENNIAL_CODEC_KEY: newKey(), PERENNIAL_CODEC_KEY_ID: 'k2026' });
  const payload = defaultPayloadConverter.toPayload(value);
  const [encoded] = await codec.encode([payload]);
  assert.equal(text(encoded.metadata?.encoding), ENCRYPTED_ENCODING);
  assert.equal(text(encoded.metadata?.[KEY_ID_METADATA]), 'k2026');
  assert.deepEqual(Object.keys(encoded.metadata ?? {}).sort(), ['encoding', KEY_ID_METADATA]);
  const sealed = Buffer.from(encoded.data!);
  assert.ok(!sealed.toString('latin1').includes('seattle') && !sealed.toString('latin1').includes('json/plain'));
  assert.equal(sealed.length, 12 + proto.temporal.api.common.v1.Payload.encode(payload).finish().length + 16, 'IV + the whole payload proto + tag');

  const [decoded] = await codec.decode([encoded]);
  assert.deepEqual(defaultPayloadConverter.fromPayload(decoded), value);
  assert.equal(text(decoded.metadata?.encoding), 'json/plain');

  const [again] = await codec.encode([payload]);
  assert.notDeepEqual(Buffer.from(again.data!), sealed, 'a fresh IV each time');
});

test('a payload sealed under an old key decodes once that key is in PERENNIAL_CODEC_OLD_KEYS', async () => {
  const oldKey = newKey();
  const [sealed] = await codecWith({ PERENNIAL_CODEC_KEY: oldKey, PERENNIAL_CODEC_KEY_ID: 'k1' }).encode([defaultPayloadConverter.toPayload(value)]);

  const rotated = codecWith({ PERENNIAL_CODEC_KEY: newKey(), PERENNIAL_CODEC_KEY_ID: 'k2', PERENNIAL_CODEC_OLD_KEYS: `k0=${newKey()}, k1=${oldKey}` });
  assert.deepEqual(defaultPayloadConverter.fromPayload((await rotated.decode([sealed]))[0]), value);
  const [fresh] = await rotated.encode([defaultPayloadConverter.toPayload(1)]);
  assert.equal(text(fresh.metadata?.[KEY_ID_METADATA]), 'k2', 'new payloads under the current key');

  const forgotten = codecWith({ PERENNIAL_CODEC_KEY: newKey(), PERENNIAL_CODEC_KEY_ID: 'k2' });
  await assert.rejects(forgotten.decode([sealed]), (err: Error) => {
    assert.ok(err instanceof ValueError);
    assert.match(err.message, /key id "k1", which is neither PERENNIAL_CODEC_KEY_ID nor in PERENNIAL_CODEC_OLD_KEYS/);
    assert.ok(!err.message.includes(oldKey));
    return true;
  });

  // turning encryption off: the old key alone decodes, and new payloads are written plain
  const decodeOnly = codecWith({ PERENNIAL_CODEC_OLD_KEYS: `k1=${oldKey}` });
  assert.deepEqual(defaultPayloadConverter.fromPayload((await decodeOnly.decode([sealed]))[0]), value);
  const plain = defaultPayloadConverter.toPayload(2);
  assert.deepEqual(await decodeOnly.encode([plain]), [plain]);
});

test('payloads written before the key was set pass through decode unchanged', async () => {
  const codec = codecWith({ PERENNIAL_CODEC_KEY: newKey() });
  const plain: Payload[] = [defaultPayloadConverter.toPayload(value), defaultPayloadConverter.toPayload(null), { metadata: {}, data: new Uint8Array([1, 2]) }];
  assert.deepEqual(await codec.decode(plain), plain);
});

test('tampered ciphertext, a cut tag or another key under the same id is refused, never decoded', async () => {
  const key = newKey();
  const codec = codecWith({ PERENNIAL_CODEC_KEY: key });
  const [sealed] = await codec.encode([defaultPayloadConverter.toPayload(value)]);
  const flipped = Buffer.from(sealed.data!);
  flipped[20] ^= 1;
  for (const data of [flipped, Buffer.from(sealed.data!).subarray(0, sealed.data!.length - 1), new Uint8Array(5)]) {
    await assert.rejects(codec.decode([{ ...sealed, data }]), (err: Error) => {
      assert.ok(err instanceof ValueError, err.message);
      assert.match(err.message, /key id "default"/);
      return true;
    });
  }
  await assert.rejects(codecWith({ PERENNIAL_CODEC_KEY: newKey() }).decode([sealed]), /does not decrypt/);
  await assert.rejects(codec.decode([{ metadata: { encoding: Buffer.from(ENCRYPTED_ENCODING) }, data: sealed.data }]), /names no encryption-key-id/);
});
