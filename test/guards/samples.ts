/**
 * Fake credentials for the guard's tests, assembled at run time so that no file of the repository
 * holds one whole (other scanners, e.g. push protection, would flag the sources).
 */
const j = (...parts: string[]) => parts.join('');
const b64 = (text: string) => Buffer.from(text).toString('base64');

/** A 1Password service account token body: base64 JSON ending in "fQ==" (the shape the rule checks). */
function onePasswordBody(): string {
  for (let pad = 0; ; pad++) {
    const json = JSON.stringify({
      email: `${'x'.repeat(pad)}ci@1passwordserviceaccounts.lcl`,
      muk: { alg: 'A256GCM', ext: true, k: 'b'.repeat(43), key_ops: ['encrypt', 'decrypt'], kty: 'oct', kid: 'mp' },
      secretKey: 'A3-ABCDEF-GHIJKL-MNOPQ-RSTUV-WXYZ2-34567',
      srpX: 'a'.repeat(64),
      signInAddress: 'example.b5local.com:4000',
      userAuth: { method: 'SRPg-4096', alg: 'PBES2g-HS256', iterations: 100000, salt: 'c'.repeat(22) },
    });
    if (json.length % 3 === 1) return b64(json);
  }
}

/** One text per rule of the secretlint preset that the rule reports. */
export const RULE_SET_SAMPLES: Record<string, string> = {
  '@secretlint/secretlint-rule-aws': j('AWS_SECRET_', 'ACCESS_KEY=', 'Ab1/'.repeat(9), 'Ab1c'),
  '@secretlint/secretlint-rule-privatekey': j('-----BEGIN RSA PRIVATE', ' KEY-----\nMII', 'A'.repeat(120), '\n-----END RSA PRIVATE KEY-----'),
  '@secretlint/secretlint-rule-npm': j('npm', '_', 'a1B2'.repeat(9)),
  '@secretlint/secretlint-rule-basicauth': j('https://deploy', ':Xy7pQ2zK', '@example.com'),
  '@secretlint/secretlint-rule-slack': ['xox' + 'b', '1234567890', '1234567890', 'aBcDeFgHiJkLmNoPqRsTuVwX'].join('-'),
  '@secretlint/secretlint-rule-sendgrid': j('SG', '.', 'a'.repeat(22), '.', 'b'.repeat(43)),
  '@secretlint/secretlint-rule-shopify': j('shp', 'at_', 'a1'.repeat(16)),
  '@secretlint/secretlint-rule-stripe': j('sk', '_live_', 'a1B2'.repeat(6)),
  '@secretlint/secretlint-rule-github': j('gh', 'p_', 'a1B2'.repeat(9)),
  '@secretlint/secretlint-rule-gitlab': j('gl', 'pat-', 'a1B2'.repeat(5)),
  '@secretlint/secretlint-rule-grafana': j('gl', 'c_', 'a1B2'.repeat(8)),
  '@secretlint/secretlint-rule-openai': j('sk', '-', 'a'.repeat(20), 'T3Blbk', 'FJ', 'b'.repeat(20)),
  '@secretlint/secretlint-rule-anthropic': j('sk', '-ant-api03-', 'a'.repeat(93), 'AA'),
  '@secretlint/secretlint-rule-groq': j('gs', 'k_', 'a1'.repeat(26)),
  '@secretlint/secretlint-rule-huggingface': j('hf', '_', 'aB'.repeat(17)),
  '@secretlint/secretlint-rule-linear': j('lin', '_api_', 'a1'.repeat(16)),
  '@secretlint/secretlint-rule-notion': j('ntn', '_', '1'.repeat(11), 'aB1'.repeat(11), 'aB'),
  '@secretlint/secretlint-rule-1password': j('ops', '_', onePasswordBody()),
  '@secretlint/secretlint-rule-database-connection-string': j('postgres', '://app:Xy7pQ2zK', '@db.example.com:5432/app'),
  '@secretlint/secretlint-rule-hashicorp-vault': j('hv', 's.', 'a1B2'.repeat(24)),
  '@secretlint/secretlint-rule-vercel': j('vc', 'p_', 'a1B2'.repeat(6)),
  '@secretlint/secretlint-rule-databricks': j('da', 'pi', '0123456789abcdef'.repeat(2)),
  '@secretlint/secretlint-rule-docker': j('dckr', '_pat_', 'a1B2c3D4e5F6g7H8i9J0k1L2m3N'),
  '@secretlint/secretlint-rule-figma': j('fig', 'd_', 'a1B2'.repeat(11)),
  '@secretlint/secretlint-rule-cloudflare': j('cf', 'ut_', 'a1B2'.repeat(10), '0123abcd'),
  '@secretlint/secretlint-rule-tailscale': j('tskey', '-auth-', 'k1234567CNTRL', '-', 'a1B2'.repeat(5)),
};
