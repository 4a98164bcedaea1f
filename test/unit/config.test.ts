import { expect } from 'chai';
import { DEFAULT_CONFIG, InvalidConfigError, resolveConfig } from '../../src/config';
import type { BullMQInstrumentationConfig } from '../../src/types';

describe('resolveConfig', () => {
  it('fills in the documented defaults', () => {
    expect(resolveConfig({})).to.deep.equal({ ...DEFAULT_CONFIG, jobDataAttributes: [] });
    expect(DEFAULT_CONFIG).to.deep.equal({
      producerContext: 'link',
      jobDataAttributes: [],
      maxAttributeLength: 2048,
      maxErrorMessageLength: 1024,
      maxErrorStackLength: 4096,
    });
  });

  it('copies the allow-list so later changes by the caller do not leak in', () => {
    const keys = ['tenantId'];
    const resolved = resolveConfig({ jobDataAttributes: keys });
    keys.push('card');
    expect(resolved.jobDataAttributes).to.deep.equal(['tenantId']);
  });

  const invalid: Array<[string, unknown, RegExp]> = [
    ['producerContext', 'child', /producerContext must be 'link' or 'parent', got "child"/],
    ['jobDataAttributes', 'tenantId', /jobDataAttributes must be an array of non-empty job.data key names/],
    ['jobDataAttributes', ['ok', ''], /an array with a non-string or empty entry/],
    ['metadata', 'yes', /metadata must be a function, got "yes"/],
    ['resultSummary', 1, /resultSummary must be a function, got 1/],
    [
      'maxAttributeLength',
      0,
      /maxAttributeLength must be a whole number of characters, at least 64 \(default 2048\), got 0/,
    ],
    ['maxErrorStackLength', 1.5, /maxErrorStackLength must be a whole number/],
  ];
  for (const [option, value, message] of invalid) {
    it(`rejects ${option}: ${JSON.stringify(value)} with a message that says what to do`, () => {
      // Built through Object.fromEntries: the type system would (rightly) reject these literals.
      const config: BullMQInstrumentationConfig = Object.fromEntries([[option, value]]);
      expect(() => resolveConfig(config)).to.throw(InvalidConfigError, message);
    });
  }
});
