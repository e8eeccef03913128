/** The concurrency pool and the client settings, without a server. */
import { clientSettings, mapWithConcurrency, runBuckets } from '../../scripts/buckets/run';
import { loadFixture, removeConfigs } from './support/fixtures';

afterAll(removeConfigs);

describe('mapWithConcurrency', () => {
  test('keeps input order and never runs more than the limit at once', async () => {
    let inFlight = 0;
    let most = 0;
    const delays = [30, 5, 20, 1, 15, 10, 2];
    const results = await mapWithConcurrency(delays, 3, async (ms) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, ms));
      inFlight -= 1;
      return ms * 2;
    });
    expect(results).toEqual(delays.map((ms) => ms * 2));
    expect(most).toBe(3);
  });

  test('an empty list does no work', async () => {
    expect(await mapWithConcurrency([], 4, async () => 1)).toEqual([]);
  });
});

describe('clientSettings', () => {
  const { platform } = loadFixture([{ name: 'a' }], { endpoint: 'https://minio.example:9000', pathStyle: false });

  test('takes endpoint and path style from platform.yaml', () => {
    expect(clientSettings(platform, {})).toEqual({ region: 'eu-central-1', endpoint: 'https://minio.example:9000', pathStyle: false });
  });

  test('--endpoint and --path-style override it', () => {
    expect(clientSettings(platform, { endpoint: 'http://127.0.0.1:9000', pathStyle: true })).toEqual({
      region: 'eu-central-1',
      endpoint: 'http://127.0.0.1:9000',
      pathStyle: true,
    });
  });
});

test('fails when concurrency is not a positive integer', async () => {
  const { platform, tenants } = loadFixture([{ name: 'a' }]);
  await expect(runBuckets({ command: 'plan', platform, tenants, concurrency: 0 })).rejects.toThrow('concurrency must be a positive integer, got 0');
});
