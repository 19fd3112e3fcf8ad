/**
 * The body of `POST /codec/encode` and `/codec/decode`, in the JSON shape the Temporal UI's remote
 * codec sends and expects back: each payload's metadata values and data as base64 strings.
 */
import { z } from '@hono/zod-openapi';

/** payloads one request may carry: the UI sends those of one event at a time */
export const MAX_CODEC_PAYLOADS = 1_000;

const Base64 = z.string().regex(/^[A-Za-z0-9+/_-]*={0,2}$/, 'not base64');

export const JsonPayload = z.object({
  metadata: z.record(z.string().min(1).max(256), Base64).nullish()
    .refine((m) => !m || Object.keys(m).length <= 64, 'at most 64 metadata entries'),
  data: Base64.nullish(),
}).openapi('CodecPayload');

export const CodecPayloads = z.object({
  payloads: z.array(JsonPayload).max(MAX_CODEC_PAYLOADS),
}).openapi('CodecPayloads');

export type JsonPayload = z.infer<typeof JsonPayload>;
