import type { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { SEARCH_ATTRIBUTES } from '../common/names';

/** Registers ModelName and PipelineStage on a Temporal that Perennial did not start itself. */
export async function ensureSearchAttributes(connection: Connection, namespace: string) {
  const Keyword = proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  const missing = SEARCH_ATTRIBUTES.map((k) => k.name).filter((n) => !customAttributes?.[n]);
  if (!missing.length) return;
  await connection.operatorService.addSearchAttributes({
    namespace, searchAttributes: Object.fromEntries(missing.map((n) => [n, Keyword])),
  });
}
