// The default run takes every test; scripts/test-compat.mjs passes its own files.
module.exports = {
  'node-option': ['import=tsx'],
  spec: process.env.BULLMQ_LEDGER_MOCHA_SPEC === 'cli' ? [] : ['test/**/*.test.ts'],
  ignore: ['test/compat/**'],
  timeout: 30000,
  reporter: 'spec',
};
