/**
 * Holds, inside the SDK client, the bucket settings s3rver cannot store (it answers 501 or
 * ignores them): public access block, ownership, encryption, lifecycle, policy, versioning and
 * tags. Middleware answers those commands from a map, in the shapes and with the error names S3
 * uses, so drift tests can run plan → apply → plan end to end; bucket existence and ownership
 * still come from the real server. Tests that use it say so in their names.
 */
import { S3Client, S3ServiceException } from '@aws-sdk/client-s3';

// Inputs differ per command; the handlers below read the one field each command carries.
type Input = Record<string, any>;

/** Stored settings per bucket, in the SDK's own shapes. */
export interface EmulatedBucket {
  publicAccessBlock?: Input;
  ownership?: Input;
  encryption?: Input;
  lifecycle?: Input[];
  /** The bucket-wide `TransitionDefaultMinimumObjectSize` of the lifecycle configuration. */
  lifecycleTransitionDefault?: string;
  policy?: string;
  versioning?: string;
  tags?: { Key: string; Value: string }[];
}

/** A call the emulator answered. */
export interface EmulatedCall {
  readonly command: string;
  readonly bucket: string;
  readonly input: Input;
}

/** Attaches the emulator to a client; returns the store and the calls it answered. */
export function emulateSettings(client: S3Client, store: Map<string, EmulatedBucket> = new Map()): { store: Map<string, EmulatedBucket>; calls: EmulatedCall[] } {
  const calls: EmulatedCall[] = [];
  const bucketOf = (name: string) => {
    if (!store.has(name)) store.set(name, {});
    return store.get(name)!;
  };
  const handlers: Record<string, (b: EmulatedBucket, input: Input) => object> = {
    GetPublicAccessBlockCommand: (b) => ({ PublicAccessBlockConfiguration: b.publicAccessBlock ?? missing('NoSuchPublicAccessBlockConfiguration') }),
    PutPublicAccessBlockCommand: (b, i) => ((b.publicAccessBlock = i.PublicAccessBlockConfiguration), {}),
    GetBucketOwnershipControlsCommand: (b) => ({ OwnershipControls: b.ownership ?? missing('OwnershipControlsNotFoundError') }),
    PutBucketOwnershipControlsCommand: (b, i) => ((b.ownership = i.OwnershipControls), {}),
    GetBucketEncryptionCommand: (b) => ({ ServerSideEncryptionConfiguration: b.encryption ?? missing('ServerSideEncryptionConfigurationNotFoundError') }),
    PutBucketEncryptionCommand: (b, i) => ((b.encryption = i.ServerSideEncryptionConfiguration), {}),
    GetBucketLifecycleConfigurationCommand: (b) => ({
      Rules: b.lifecycle ?? missing('NoSuchLifecycleConfiguration'),
      ...(b.lifecycleTransitionDefault ? { TransitionDefaultMinimumObjectSize: b.lifecycleTransitionDefault } : {}),
    }),
    // Like S3, a PUT without the bucket-wide size resets it to the default.
    PutBucketLifecycleConfigurationCommand: (b, i) => (
      (b.lifecycle = i.LifecycleConfiguration.Rules), (b.lifecycleTransitionDefault = i.TransitionDefaultMinimumObjectSize ?? 'all_storage_classes_128K'), {}
    ),
    GetBucketPolicyCommand: (b) => ({ Policy: b.policy ?? missing('NoSuchBucketPolicy') }),
    PutBucketPolicyCommand: (b, i) => ((b.policy = i.Policy), {}),
    GetBucketVersioningCommand: (b) => (b.versioning ? { Status: b.versioning } : {}),
    PutBucketVersioningCommand: (b, i) => ((b.versioning = i.VersioningConfiguration.Status), {}),
    GetBucketTaggingCommand: (b) => ({ TagSet: b.tags ?? missing('NoSuchTagSet') }),
    PutBucketTaggingCommand: (b, i) => ((b.tags = i.Tagging.TagSet), {}),
  };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const handler = handlers[String(context.commandName)];
      if (!handler) return next(args);
      const input = structuredClone(args.input) as Input;
      calls.push({ command: String(context.commandName), bucket: input.Bucket, input });
      const output = handler(bucketOf(input.Bucket), input);
      return { output: { $metadata: { httpStatusCode: 200 }, ...structuredClone(output) }, response: {} };
    },
    { step: 'initialize', name: 'emulateSettings', priority: 'high' },
  );
  return { store, calls };
}

function missing(name: string): never {
  throw new S3ServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: 404 }, message: `${name} (emulated)` });
}
