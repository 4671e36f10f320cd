// The generated OpenAPI document: valid OpenAPI 3 (swagger-parser validates it
// against the schema and resolves every $ref), every API route present, and
// request schemas generated from the zod schemas.
import SwaggerParser from '@apidevtools/swagger-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEnv, type TestEnv } from './env.js';

let env: TestEnv;
let doc: any;

beforeAll(async () => {
  env = await startEnv();
  const r = await env.req('GET', '/docs/json', { token: env.tokens.read });
  expect(r.status).toBe(200);
  doc = r.body;
});
afterAll(() => env?.stop());

describe('OpenAPI document', () => {
  it('is valid OpenAPI 3 with resolvable references', async () => {
    expect(doc.openapi).toMatch(/^3\./);
    const validated = await SwaggerParser.validate(structuredClone(doc));
    expect(validated.info.title).toBe('Postamt admin API');
    const deref: any = await SwaggerParser.dereference(structuredClone(doc));
    expect(JSON.stringify(deref)).not.toContain('"$ref"');
  });

  it('lists every API route', () => {
    const expected: Record<string, string[]> = {
      '/api/v1/domains': ['get', 'post'],
      '/api/v1/domains/{domain}': ['get', 'delete'],
      '/api/v1/domains/{domain}/catch-all': ['get', 'put', 'delete'],
      '/api/v1/domains/{domain}/users': ['get'],
      '/api/v1/domains/{domain}/aliases': ['get'],
      '/api/v1/domains/{domain}/dkim': ['get', 'post'],
      '/api/v1/domains/{domain}/dkim/rotate': ['post'],
      '/api/v1/domains/{domain}/dkim/previous': ['delete'],
      '/api/v1/users': ['post'],
      '/api/v1/users/{address}': ['get', 'patch', 'delete'],
      '/api/v1/users/{address}/password': ['put'],
      '/api/v1/aliases/{address}': ['get', 'put', 'delete'],
      '/api/v1/policy/allowlists': ['get'],
      '/api/v1/policy/allowlists/{list}': ['get', 'post'],
      '/api/v1/policy/allowlists/{list}/{entry}': ['delete'],
      '/api/v1/quarantine': ['get'],
      '/api/v1/quarantine/{id}': ['get', 'delete'],
      '/api/v1/quarantine/{id}/release': ['post'],
      '/api/v1/queues': ['get'],
      '/api/v1/queues/{queue}/jobs': ['get', 'delete'],
      '/api/v1/queues/{queue}/jobs/{id}': ['get', 'delete'],
      '/api/v1/queues/{queue}/jobs/{id}/retry': ['post'],
      '/api/v1/queues/relay/flush': ['post'],
      '/api/v1/learn': ['post'],
      '/api/v1/whoami': ['get'],
      '/api/v1/tokens': ['get', 'post'],
      '/api/v1/tokens/{id}': ['delete'],
      '/api/v1/audit': ['get'],
      '/.well-known/autoconfig/mail/config-v1.1.xml': ['get'],
      '/autodiscover/autodiscover.xml': ['get', 'post'],
    };
    for (const [path, methods] of Object.entries(expected)) {
      expect(doc.paths[path], path).toBeDefined();
      for (const m of methods) expect(doc.paths[path][m], `${m} ${path}`).toBeDefined();
    }
  });

  it('describes bodies and errors from the zod schemas, with bearer security', () => {
    const post = doc.paths['/api/v1/users'].post;
    const schema = post.requestBody.content['application/json'].schema;
    expect(schema.properties.address.type).toBe('string');
    expect(schema.required).toContain('address');
    expect(Object.keys(post.responses)).toEqual(expect.arrayContaining(['201', '400', '409']));
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.security).toEqual([{ bearer: [] }]);
    expect(doc.paths['/.well-known/autoconfig/mail/config-v1.1.xml'].get.security).toEqual([]);
    expect(doc.components.schemas.User).toBeDefined();
  });
});
