// One Vitest configuration for the whole workspace. `npm test` runs it from the
// repository root; a package's own `test` script runs it on that package alone.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{packages,services,bench}/*/{src,test}/**/*.test.ts', '{src,test}/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
    pool: 'forks',
    reporters: process.env.CI ? ['default'] : ['default'],
  },
});
