import { z } from 'zod';
import { PlatformSchema, TenantSchema } from './schema';

/**
 * Editor JSON Schemas (draft 2020-12) for `config/platform.yaml` and `config/tenants/*.yaml`,
 * generated from the same zod schemas the loader validates with. They describe what a user
 * writes (the input side), so keys with defaults are not `required`.
 */
export function editorSchemas(): Record<'platform' | 'tenant', object> {
  const generate = (schema: z.ZodType, title: string) => ({
    ...(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as object),
    title,
  });
  return {
    platform: generate(PlatformSchema, 'tenant-runners platform configuration (config/platform.yaml)'),
    tenant: generate(TenantSchema, 'tenant-runners tenant configuration (config/tenants/<tenant>.yaml)'),
  };
}
