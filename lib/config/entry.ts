import type { TenantConfig } from '../model/resolve';
import type { SourceFile } from './source';

/** A validated tenant with the file it came from, as the rules check it (positions for messages). */
export interface Entry {
  readonly config: TenantConfig;
  readonly source: SourceFile;
}
