// Secret redaction through the real server (issue 11, finding 5): a program that prints plain secret
// formats the old patterns missed gets each secret replaced by [REDACTED], the rest of the line kept,
// and ordinary output comes back as it was printed.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { stdioClient, tempDir } from './lib/warden.mjs';

// secret, and the line that prints it
const FORMATS = [
  ['correct horse battery staple', 'password: "correct horse battery staple"'],
  ['Tr0ub4dor&3xyz', 'machine api.example.com login deploy password Tr0ub4dor&3xyz'],
  ['JA76rNicHTp8hkqdlm7tOtHWnsCGRlrwZbqcabUG', 'x-api-key: JA76rNicHTp8hkqdlm7tOtHWnsCGRlrwZbqcabUG'],
  ['Y2ktYm90OkptR0VwN0NnUTBQQlFGSTE0ekd0U25vdg==', '"auth": "Y2ktYm90OkptR0VwN0NnUTBQQlFGSTE0ekd0U25vdg=="'],
  ['pU3KGCUwux1tEyze1iN7LtkeP3IfyxlxF0SU1kk8nVw0YL4xIB5p/tqg7ui5mX9cfCmZ/a/lkyU81lSvTfrXFA==',
    'AccountName=prod;AccountKey=pU3KGCUwux1tEyze1iN7LtkeP3IfyxlxF0SU1kk8nVw0YL4xIB5p/tqg7ui5mX9cfCmZ/a/lkyU81lSvTfrXFA==;EndpointSuffix=core.windows.net'],
  ['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', 'huggingface-cli login --token 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'],
  ['dop_v1_b484e73cf575dcad6ba2b0aee0ca923732881584d8c4fa2815d2802827283e0a',
    'doctl auth init -t dop_v1_b484e73cf575dcad6ba2b0aee0ca923732881584d8c4fa2815d2802827283e0a'],
  ['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', 'key 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'],
];

describe('secret redaction (gitleaks ruleset)', () => {
  const dir = tempDir('secrets');
  let c;

  before(async () => {
    c = await stdioClient({ audit: path.join(dir, 'audit.jsonl'), name: 'secrets' });
  });

  after(async () => {
    await c?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('each plain format is redacted, only the secret', async () => {
    const code = FORMATS.map(([, line]) => `print(${JSON.stringify(line)})`).join('\n');
    const sc = await c.call('execute_code', { language: 'python', code });
    assert.equal(sc.status, 'ok', JSON.stringify(sc));
    for (const [secret, line] of FORMATS) {
      assert.ok(!sc.stdout.includes(secret), `leaked ${secret}: ${sc.stdout}`);
      assert.ok(sc.stdout.includes(line.replace(secret, '[REDACTED]'))
        || sc.stdout.includes(line.split(secret)[0]), `line mangled: ${line} in ${sc.stdout}`);
    }
    assert.ok(sc.redactions >= FORMATS.length, `redactions ${sc.redactions}: ${sc.stdout}`);
  });

  it('ordinary output is not touched', async () => {
    const code = [
      'import json',
      'print(json.dumps({"key": "build-1234", "access": "read-only", "auth_method": "oidc", "tokenizer": "cl100k_base"}))',
      'print("KeyError: \'missing key secret_name\'")',
    ].join('\n');
    const sc = await c.call('execute_code', { language: 'python', code });
    assert.equal(sc.status, 'ok', JSON.stringify(sc));
    assert.equal(sc.redactions, 0, sc.stdout);
    assert.ok(!sc.stdout.includes('[REDACTED]'), sc.stdout);
  });
});
