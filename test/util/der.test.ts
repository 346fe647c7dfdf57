import { describe, expect, it } from 'vitest';
import { ascii, bitString, boolean, contextTag, derLength, explicit, integer, namedBits, nullValue, octetString, oid, sequence, setOf, utcFields, utf8String, x509Time } from '../../src/util/der.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('the DER writer', () => {
  // Known encodings (X.690 examples, RFC 5280 / RFC 8410 structures, and what openssl asn1parse reads back).
  it.each([
    ['length 0', derLength(0), '00'],
    ['length 127', derLength(127), '7f'],
    ['length 128 (long form)', derLength(128), '8180'],
    ['length 256', derLength(256), '820100'],
    ['length 65536', derLength(65536), '83010000'],
    ['INTEGER 0', integer(0), '020100'],
    ['INTEGER 2 (version v3)', integer(2), '020102'],
    ['INTEGER 127', integer(127), '02017f'],
    ['INTEGER 128 (a leading zero keeps it positive)', integer(128), '02020080'],
    ['INTEGER 256', integer(256), '02020100'],
    ['INTEGER -1', integer(-1), '0201ff'],
    ['INTEGER -128', integer(-128), '020180'],
    ['INTEGER -129', integer(-129), '0202ff7f'],
    ['INTEGER from bytes, top bit set', integer(Uint8Array.of(0x80, 0x01)), '0203008001'],
    ['INTEGER from bytes, leading zeros dropped', integer(Uint8Array.of(0, 0, 0x12)), '020112'],
    ['INTEGER from no bytes', integer(new Uint8Array(0)), '020100'],
    ['OID Ed25519 1.3.101.112', oid('1.3.101.112'), '06032b6570'],
    ['OID commonName 2.5.4.3', oid('2.5.4.3'), '0603550403'],
    ['OID subjectAltName 2.5.29.17', oid('2.5.29.17'), '0603551d11'],
    ['OID with a multi-byte arc 1.2.840.113549', oid('1.2.840.113549'), '06062a864886f70d'],
    ['BOOLEAN TRUE', boolean(true), '0101ff'],
    ['BOOLEAN FALSE', boolean(false), '010100'],
    ['NULL', nullValue(), '0500'],
    ['OCTET STRING', octetString(Uint8Array.of(1, 2)), '04020102'],
    ['BIT STRING of bytes', bitString(Uint8Array.of(0xab)), '030200ab'],
    ['keyUsage digitalSignature (7 unused bits)', namedBits([0]), '03020780'],
    ['keyUsage digitalSignature, keyCertSign, cRLSign', namedBits([0, 5, 6]), '03020186'],
    ['keyUsage decipherOnly (bit 8: two bytes)', namedBits([8]), '0303070080'],
    ['empty named bits', namedBits([]), '030100'],
    ['UTF8String', utf8String('hé'), '0c0368c3a9'],
    ['empty SEQUENCE (basicConstraints CA:FALSE)', sequence(), '3000'],
    ['SEQUENCE {TRUE, 0} (CA:TRUE, pathlen 0)', sequence(boolean(true), integer(0)), '30060101ff020100'],
    ['[0] EXPLICIT INTEGER 2', explicit(0, integer(2)), 'a003020102'],
    ['[6] IMPLICIT IA5String (a URI)', contextTag(6, ascii('a:b'), false), '8603613a62'],
    ['UTCTime 2026-12-03 10:47:24', x509Time(Date.UTC(2026, 11, 3, 10, 47, 24)), `170d${Buffer.from('261203104724Z').toString('hex')}`],
    ['UTCTime 1950-01-01', x509Time(Date.UTC(1950, 0, 1)), `170d${Buffer.from('500101000000Z').toString('hex')}`],
    ['GeneralizedTime from 2050', x509Time(Date.UTC(2050, 0, 1)), `180f${Buffer.from('20500101000000Z').toString('hex')}`],
    ['GeneralizedTime before 1950', x509Time(Date.UTC(1949, 11, 31, 23, 59, 59)), `180f${Buffer.from('19491231235959Z').toString('hex')}`],
    ['times drop milliseconds', x509Time(Date.UTC(2030, 5, 15, 1, 2, 3, 999)), `170d${Buffer.from('300615010203Z').toString('hex')}`],
  ])('%s', (_what, bytes, expected) => {
    expect(hex(bytes)).toBe(expected);
  });

  it('sorts a SET OF by encoding (X.690 11.6)', () => {
    expect(hex(setOf(integer(2), integer(1)))).toBe('3106020101020102');
  });

  it('writes a long SEQUENCE with the long length form', () => {
    const big = sequence(octetString(new Uint8Array(300)));
    expect(hex(big.subarray(0, 8))).toBe('30820130' + '0482012c');
    expect(big.length).toBe(4 + 4 + 300);
  });

  it('refuses what it cannot write', () => {
    expect(() => oid('1.40')).toThrow(RangeError);
    expect(() => oid('not.an.oid')).toThrow(RangeError);
    expect(() => ascii('é')).toThrow(RangeError);
    expect(() => derLength(-1)).toThrow(RangeError);
    expect(() => contextTag(31, new Uint8Array(0), false)).toThrow(RangeError);
  });

  it('reads calendar fields from ms without a clock, as Date does', () => {
    for (const ms of [0, 951_782_400_000 /* 2000-02-29 */, 4_107_542_400_000 /* 2100-03-01 */, -1_000, 1_764_758_844_000, 253_402_300_799_000]) {
      const d = new Date(ms);
      expect(utcFields(ms)).toEqual({ year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds() });
    }
  });
});
