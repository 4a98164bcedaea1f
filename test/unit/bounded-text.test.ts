import { expect } from 'chai';
import { boundedJson, truncateText } from '../../src/bounded-text';

describe('truncateText', () => {
  it('keeps text within the limit unchanged', () => {
    expect(truncateText('hello', 5)).to.equal('hello');
  });

  it('cuts longer text to the limit, marking the cut', () => {
    const cut = truncateText('abcdefghij', 5);
    expect(cut).to.equal('abcd…');
    expect(cut.length).to.equal(5);
  });

  it('never splits a surrogate pair', () => {
    const cut = truncateText('ab😀cd', 4); // 😀 is two UTF-16 units at index 2-3
    expect(cut).to.equal('ab…');
    expect(() => encodeURIComponent(cut)).not.to.throw();
  });
});

describe('boundedJson', () => {
  it('serialises plain values like JSON.stringify', () => {
    const value = { a: 1, b: 'x', c: [true, null], d: { e: 1.5 } };
    expect(boundedJson(value, 1000)).to.equal(JSON.stringify(value));
  });

  it('omits undefined, functions and symbols as JSON does', () => {
    expect(boundedJson({ a: undefined, b: () => 1, c: Symbol('s'), d: [undefined] }, 100)).to.equal('{"d":[null]}');
  });

  it('replaces circular references instead of throwing', () => {
    const value: { name: string; self?: unknown } = { name: 'loop' };
    value.self = value;
    expect(boundedJson(value, 100)).to.equal('{"name":"loop","self":"[Circular]"}');
  });

  it('writes a value seen twice (not a cycle) both times', () => {
    const shared = { n: 1 };
    expect(boundedJson({ a: shared, b: shared }, 100)).to.equal('{"a":{"n":1},"b":{"n":1}}');
  });

  it('turns BigInts into strings and non-finite numbers into null', () => {
    expect(boundedJson({ big: 10n, inf: Infinity }, 100)).to.equal('{"big":"10","inf":null}');
  });

  it('keeps the name and message of errors', () => {
    expect(boundedJson({ err: new RangeError('bad') }, 100)).to.equal('{"err":{"name":"RangeError","message":"bad"}}');
  });

  it('survives a toJSON that throws', () => {
    const hostile = {
      toJSON() {
        throw new Error('no');
      },
    };
    expect(boundedJson({ hostile }, 100)).to.equal('{"hostile":"[Unserializable]"}');
  });

  it('returns valid JSON no longer than the limit for a huge value, without walking all of it', () => {
    let reads = 0;
    const huge = Array.from({ length: 100_000 }, (_, i) => ({
      get text() {
        reads += 1;
        return `item ${i}`;
      },
    }));
    const json = boundedJson(huge, 300);
    expect(json.length).to.be.at.most(300);
    const parsed: unknown = JSON.parse(json);
    expect(parsed).to.include({ truncated: true });
    expect(String(Reflect.get(parsed as object, 'preview'))).to.match(/^\[\{"text":"item 0"\},/);
    expect(reads).to.be.below(100); // it stopped at the budget instead of reading 100,000 items
  });

  it('stays within the limit when the preview needs escaping', () => {
    const json = boundedJson('"'.repeat(1000), 100);
    expect(json.length).to.be.at.most(100);
    expect(JSON.parse(json)).to.include({ truncated: true });
  });
});
