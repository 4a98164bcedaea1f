import { expect } from 'chai';
import { errorToDetails } from '../../src/error-details';

const limits = { maxMessageLength: 50, maxStackLength: 80 };

describe('errorToDetails', () => {
  it('keeps the class name, message and stack of an Error', () => {
    const details = errorToDetails(new TypeError('bad type'), limits);
    expect(details.type).to.equal('TypeError');
    expect(details.message).to.equal('bad type');
    expect(details.stack).to.match(/^TypeError: bad type/);
  });

  it('uses name, not instanceof, so errors rebuilt by sandboxes keep their type', () => {
    const rebuilt = Object.assign(new Error('gateway timeout'), { name: 'PaymentError' });
    expect(errorToDetails(rebuilt, limits).type).to.equal('PaymentError');
  });

  it('caps message and stack', () => {
    const error = new Error('m'.repeat(500));
    const details = errorToDetails(error, limits);
    expect(details.message.length).to.equal(50);
    expect(details.stack?.length).to.equal(80);
  });

  it('records a thrown string under _OTHER', () => {
    expect(errorToDetails('quota exceeded', limits)).to.deep.equal({ type: '_OTHER', message: 'quota exceeded' });
  });

  it('records undefined, null, numbers, symbols and functions under _OTHER', () => {
    expect(errorToDetails(undefined, limits)).to.deep.equal({ type: '_OTHER', message: 'undefined' });
    expect(errorToDetails(null, limits)).to.deep.equal({ type: '_OTHER', message: 'null' });
    expect(errorToDetails(42, limits)).to.deep.equal({ type: '_OTHER', message: '42' });
    expect(errorToDetails(Symbol('s'), limits)).to.deep.equal({ type: '_OTHER', message: 'Symbol(s)' });
    expect(errorToDetails(function boom() {}, limits)).to.deep.equal({ type: '_OTHER', message: '[function boom]' });
  });

  it('records a thrown plain object as capped JSON', () => {
    expect(errorToDetails({ code: 7 }, limits)).to.deep.equal({ type: '_OTHER', message: '{"code":7}' });
    expect(errorToDetails({ blob: 'z'.repeat(500) }, limits).message.length).to.be.at.most(50);
  });

  it('uses the constructor name of an error-like object without a name', () => {
    class HttpFailure {
      message = 'status 503';
    }
    expect(errorToDetails(new HttpFailure(), limits)).to.deep.equal({ type: 'HttpFailure', message: 'status 503' });
  });

  it('never throws on hostile objects', () => {
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('trap');
        },
        ownKeys() {
          throw new Error('trap');
        },
      },
    );
    expect(() => errorToDetails(hostile, limits)).not.to.throw();
    expect(errorToDetails(hostile, limits).type).to.equal('_OTHER');
  });
});
