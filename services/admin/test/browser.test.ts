// One browser test: headless Chromium (Debian's package) via playwright-core
// opens Swagger UI at /docs and the bull-board queue dashboard, logging in with
// HTTP Basic (token as password) the way an operator's browser would.
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEnv, type TestEnv } from './env.js';

const CHROMIUM = '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available) console.warn(`browser test skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`);

let env: TestEnv;
beforeAll(async () => {
  if (available) env = await startEnv();
});
afterAll(() => env?.stop());

describe.skipIf(!available)('in a browser', () => {
  it('opens /docs and the queue dashboard', async () => {
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    try {
      const context = await browser.newContext({
        httpCredentials: { username: 'operator', password: env.tokens.read },
      });
      const page = await context.newPage();
      await page.goto(`${env.url}/docs`);
      await page.getByText('Postamt admin API').first().waitFor({ timeout: 20_000 });
      await page.locator('.opblock-tag', { hasText: 'domains' }).first().waitFor();
      expect(await page.locator('.opblock').count()).toBeGreaterThan(20);

      await page.goto(`${env.url}/dashboard`);
      await page.getByText('relay', { exact: false }).first().waitFor({ timeout: 20_000 });
      const body = await page.locator('body').innerText();
      expect(body).toContain('filter');
      expect(body).toContain('learn');
      await context.close();
    } finally {
      await browser.close();
    }
  }, 90_000);
});
