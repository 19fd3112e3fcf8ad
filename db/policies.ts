import { eq } from 'drizzle-orm';
import { DEFAULT_POLICY, ModelPolicySchema, type ModelPolicy } from '../common/policy';
import type { Db } from './client';
import { modelPolicies } from './schema';

/** The policy every pipeline of `model` runs under: the stored one, or the default. */
export async function policyOf(db: Db, model: string): Promise<ModelPolicy> {
  const [row] = await db.select({ policy: modelPolicies.policy }).from(modelPolicies).where(eq(modelPolicies.modelName, model));
  return row ? ModelPolicySchema.parse(row.policy) : DEFAULT_POLICY;
}
