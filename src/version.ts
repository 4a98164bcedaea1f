// Kept equal to package.json by test/package/entry-points.test.ts.
export const PACKAGE_NAME = 'bullmq-ledger';
export const PACKAGE_VERSION = '0.1.0';
